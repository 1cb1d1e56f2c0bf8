package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// Default timings used when the Config leaves them zero.
const (
	DefaultMaxHold        = 5 * time.Minute
	DefaultTransferRecall = 30 * time.Second
	DefaultWorkTimer      = 30 * time.Second
	DefaultNoAnswer       = 45 * time.Second
	DefaultAnswerAfter    = 3 * time.Second
)

// Limits that keep the simulator bounded whatever it is asked to do.
const (
	// MaxCallsPerDevice is how many calls a device may be on at once; one
	// more is refused as busy.
	MaxCallsPerDevice = 8
	// MaxCalls is how many calls the whole switch carries at once.
	MaxCalls = 10000
	// MaxDigits is the longest DTMF string or collected digits accepted.
	MaxDigits = 64
)

// Extension is one device of the simulated switch.
type Extension struct {
	Number string
	Name   string
	Kind   pbx.DeviceKind
	// PIN is the hot-desk login PIN (KindHotDesk only).
	PIN string
}

// Agent is an ACD agent id that may log in to a KindACD device.
type Agent struct {
	ID   string
	Name string
}

// Queue is an ACD queue (hunt group) reached by dialing Number.
type Queue struct {
	Name string
	// Number is the DNIS that reaches the queue.
	Number string
	// Members are agent ids or extensions; the queue offers each call to
	// the available member idle the longest.
	Members []string
}

// Script is what a simulated far party (an external number) does.
type Script struct {
	// AnswerAfter: a dialed number answers this long after it starts
	// ringing; zero answers at once.
	AnswerAfter time.Duration
	// HangupAfter: the far party hangs up this long after it answers (a
	// caller placed with PlaceCall: after the call is placed); zero never.
	HangupAfter time.Duration
	// Busy: a dialed number is busy (the call is refused with ErrBusy).
	Busy bool
	// NeverAnswer: a dialed number rings until the no-answer timeout.
	NeverAnswer bool
	// Digits are sent as DTMF once the far party talks to a device.
	Digits string
}

// Config describes the simulated switch. Zero durations take the defaults.
type Config struct {
	Extensions      []Extension
	Agents          []Agent
	Queues          []Queue
	Reasons         []pbx.Code // Make Busy reason codes
	Accounts        []pbx.Code // account codes
	Classifications []pbx.Code // ACD classification codes
	// ClassificationRequired: the work timer cannot be cancelled until the
	// last ACD call has a classification code.
	ClassificationRequired bool
	// MaxHold: a call on hard hold this long rings back to the holder.
	MaxHold time.Duration
	// TransferRecall: an unsupervised transfer not answered this long
	// rings back to the transferring device.
	TransferRecall time.Duration
	// WorkTimer: how long an ACD agent stays in work time after a call.
	WorkTimer time.Duration
	// NoAnswer: a ringing party not answered this long is dropped (an ACD
	// call goes back to its queue).
	NoAnswer time.Duration
	// DefaultFarParty is what an external number without its own script
	// does when dialed; the zero Script means "answers after 3s".
	DefaultFarParty Script
	// CallIDPrefix starts every call id; empty picks a random prefix.
	CallIDPrefix string
}

// DemoConfig returns the demo switch: regular users 1001 (Alex Agent),
// 1002 and 1003 (named as the demo org's users of those extensions); hot-desk extensions 2001 (PIN 1234) and 2002 (PIN 4321);
// ACD sets 3001 and 3002 for agents 5001 and 5002, who answer the
// "Support" queue reached at +18005550100; reason, account and
// classification codes (classification required).
func DemoConfig() Config {
	return Config{
		Extensions: []Extension{
			{Number: "1001", Name: "Alex Agent", Kind: pbx.KindRegular},
			{Number: "1002", Name: "Blair Baker", Kind: pbx.KindRegular},
			{Number: "1003", Name: "Casey Chen", Kind: pbx.KindRegular},
			{Number: "2001", Name: "Hot Desk 2001", Kind: pbx.KindHotDesk, PIN: "1234"},
			{Number: "2002", Name: "Hot Desk 2002", Kind: pbx.KindHotDesk, PIN: "4321"},
			{Number: "3001", Name: "ACD Set 3001", Kind: pbx.KindACD},
			{Number: "3002", Name: "ACD Set 3002", Kind: pbx.KindACD},
		},
		Agents: []Agent{
			{ID: "5001", Name: "Frankie Fox"},
			{ID: "5002", Name: "Gray Garcia"},
		},
		Queues: []Queue{
			{Name: "Support", Number: "+18005550100", Members: []string{"5001", "5002"}},
		},
		Reasons: []pbx.Code{
			{Code: "LUNCH", Label: "Lunch"},
			{Code: "MEETING", Label: "Meeting"},
			{Code: "TRAINING", Label: "Training"},
			{Code: "BREAK", Label: "Break"},
		},
		Accounts: []pbx.Code{
			{Code: "100", Label: "Billable"},
			{Code: "200", Label: "Internal"},
			{Code: "300", Label: "Warranty"},
		},
		Classifications: []pbx.Code{
			{Code: "SALES", Label: "Sales inquiry"},
			{Code: "SUPPORT", Label: "Support request"},
			{Code: "BILLING", Label: "Billing question"},
			{Code: "COMPLAINT", Label: "Complaint"},
		},
		ClassificationRequired: true,
	}
}

// withDefaults fills in zero durations.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.MaxHold, DefaultMaxHold)
	def(&c.TransferRecall, DefaultTransferRecall)
	def(&c.WorkTimer, DefaultWorkTimer)
	def(&c.NoAnswer, DefaultNoAnswer)
	if c.DefaultFarParty == (Script{}) {
		c.DefaultFarParty = Script{AnswerAfter: DefaultAnswerAfter}
	}
	return c
}

// validate reports every problem with the config at once.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("sim: config: "+format, args...))
	}
	exts := make(map[string]bool, len(c.Extensions))
	if len(c.Extensions) == 0 {
		bad("Extensions: at least one extension is required")
	}
	for i, e := range c.Extensions {
		switch {
		case !isExtension(e.Number):
			bad("Extensions[%d].Number %q: must be 2-20 digits", i, e.Number)
		case exts[e.Number]:
			bad("Extensions[%d].Number %q: duplicate extension", i, e.Number)
		}
		exts[e.Number] = true
		switch e.Kind {
		case pbx.KindRegular, pbx.KindACD:
			if e.PIN != "" {
				bad("Extensions[%d] %s: PIN is only for %q devices", i, e.Number, pbx.KindHotDesk)
			}
		case pbx.KindHotDesk:
			if !isDigits(e.PIN, 1, 20) {
				bad("Extensions[%d] %s: a hot-desk extension needs a PIN of 1-20 digits", i, e.Number)
			}
		default:
			bad("Extensions[%d] %s: Kind %q: must be %q, %q or %q", i, e.Number, e.Kind, pbx.KindRegular, pbx.KindHotDesk, pbx.KindACD)
		}
	}
	agents := map[string]bool{}
	for i, a := range c.Agents {
		switch {
		case !isDigits(a.ID, 1, 20):
			bad("Agents[%d].ID %q: must be 1-20 digits", i, a.ID)
		case agents[a.ID]:
			bad("Agents[%d].ID %q: duplicate agent id", i, a.ID)
		}
		agents[a.ID] = true
	}
	queues := map[string]bool{}
	for i, q := range c.Queues {
		if q.Name == "" || len(q.Name) > 100 {
			bad("Queues[%d].Name: must be 1-100 characters", i)
		} else if queues[q.Name] {
			bad("Queues[%d].Name %q: duplicate queue", i, q.Name)
		}
		queues[q.Name] = true
		switch {
		case !isNumber(q.Number):
			bad("Queues[%d].Number %q: must be a phone number like +18005550100", i, q.Number)
		case exts[q.Number]:
			bad("Queues[%d].Number %q: is also an extension", i, q.Number)
		case queues[q.Number]:
			bad("Queues[%d].Number %q: duplicate queue number", i, q.Number)
		}
		queues[q.Number] = true
		if len(q.Members) == 0 {
			bad("Queues[%d] %s: Members: at least one agent id or extension is required", i, q.Name)
		}
		for _, m := range q.Members {
			if !agents[m] && !exts[m] {
				bad("Queues[%d] %s: member %q is neither an agent id nor an extension", i, q.Name, m)
			}
		}
	}
	for name, codes := range map[string][]pbx.Code{"Reasons": c.Reasons, "Accounts": c.Accounts, "Classifications": c.Classifications} {
		seen := map[string]bool{}
		for i, code := range codes {
			switch {
			case code.Code == "" || len(code.Code) > 40:
				bad("%s[%d].Code: must be 1-40 characters", name, i)
			case seen[code.Code]:
				bad("%s[%d].Code %q: duplicate code", name, i, code.Code)
			}
			seen[code.Code] = true
		}
	}
	if c.ClassificationRequired && len(c.Classifications) == 0 {
		bad("ClassificationRequired: set Classifications too")
	}
	for name, d := range map[string]time.Duration{"MaxHold": c.MaxHold, "TransferRecall": c.TransferRecall, "WorkTimer": c.WorkTimer, "NoAnswer": c.NoAnswer} {
		if d < 0 {
			bad("%s: must not be negative, got %s", name, d)
		}
	}
	if err := c.DefaultFarParty.validate(); err != nil {
		bad("DefaultFarParty: %v", err)
	}
	if len(c.CallIDPrefix) > 20 {
		bad("CallIDPrefix: at most 20 characters")
	}
	return errors.Join(errs...)
}

func (sc Script) validate() error {
	if sc.AnswerAfter < 0 || sc.HangupAfter < 0 {
		return fmt.Errorf("durations must not be negative: %w", pbx.ErrInvalid)
	}
	if sc.Digits != "" && !isDTMF(sc.Digits) {
		return fmt.Errorf("digits %q: must be up to %d of 0-9 * #: %w", sc.Digits, MaxDigits, pbx.ErrInvalid)
	}
	return nil
}

// isNumber: an extension or external number, an optional leading + then
// 2-20 digits.
func isNumber(s string) bool {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	return isDigits(s, 2, 20)
}

// isExtension: 2-20 digits.
func isExtension(s string) bool { return isDigits(s, 2, 20) }

func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDTMF: 1 to MaxDigits of 0-9 * #.
func isDTMF(s string) bool {
	if len(s) == 0 || len(s) > MaxDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '*' && s[i] != '#' {
			return false
		}
	}
	return true
}
