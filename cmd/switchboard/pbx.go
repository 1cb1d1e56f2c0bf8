package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/asterisk"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/pbx/simremote"
)

// AMIConfig is the Asterisk driver's part of Config (SWITCHBOARD_PBX=asterisk).
type AMIConfig struct {
	Addr         string // host:port of the Asterisk Manager Interface
	User         string
	Secret       string
	Auth         string // md5 or plain
	TLS          string // off or on
	Extensions   string // ext[=endpoint][/acd],...
	Context      string
	HoldContext  string
	DigitsVar    string
	Queues       string
	Agents       string
	AnswerNotify string
	Reasons      string // code:label,...
	Accounts     string // code:label,...
	// Classifications: code:label,...; ClassificationRequired: on or off.
	Classifications        string
	ClassificationRequired string
	WorkTime               time.Duration
	RecallTime             time.Duration
}

func (c *Config) amiSettings() []setting {
	a := &c.AMI
	return []setting{
		{name: "ami-addr", usage: "Asterisk: host:port of the Manager Interface (manager.conf; 5038, or 5039 with TLS)", str: &a.Addr},
		{name: "ami-user", usage: "Asterisk: the manager.conf user section", str: &a.User},
		{name: "ami-secret", usage: "Asterisk: that user's secret (use _FILE)", str: &a.Secret, secret: true},
		{name: "ami-auth", usage: "Asterisk: login with md5 (challenge; the secret never crosses the wire) or plain", str: &a.Auth, def: "md5"},
		{name: "ami-tls", usage: "Asterisk: on to speak TLS to the Manager Interface (manager.conf tlsenable), verified against the system's roots; off", str: &a.TLS, def: "off"},
		{name: "ami-extensions", usage: "Asterisk: the extensions agents use, comma-separated ext[=pjsip-endpoint][/acd|/hotdesk] (endpoint defaults to the extension; /acd for agents who log in to queues, /hotdesk for extensions users log in to with the PIN in AstDB HOTDESK_PIN/<ext>)", str: &a.Extensions},
		{name: "ami-context", usage: "Asterisk: the dialplan context that dials extensions and outside numbers (used by make call, redirect, transfer)", str: &a.Context, def: "internal"},
		{name: "ami-hold-context", usage: "Asterisk: the dialplan context with extensions sb-hold and sb-wait that Hold and Retrieve use; empty: hold on the phone", str: &a.HoldContext},
		{name: "ami-digits-var", usage: "Asterisk: the channel variable your IVR stores the caller's digits in (becomes the call's collected digits)", str: &a.DigitsVar},
		{name: "ami-queues", usage: "Asterisk: queues an ACD log-in adds the agent to (QueueAdd), comma-separated; empty: no ACD log-in", str: &a.Queues},
		{name: "ami-agents", usage: "Asterisk: agent ids ACD log-in accepts, comma-separated; empty: any id of 1-20 letters and digits", str: &a.Agents},
		{name: "ami-answer-notify", usage: "Asterisk: the NOTIFY Event your phones answer on (PJSIPNotify, e.g. talk); empty: agents answer on the phone", str: &a.AnswerNotify},
		{name: "ami-recall-time", usage: "Asterisk: how long a hold recall rings the agent's phone (Do Not Disturb or not) and an unsupervised transfer rings its number before coming back to the agent, through the hold context's sb-recall and sb-xfer extensions (see the example extensions.conf); 0: plain redirects, no way back", dur: &a.RecallTime, def: "0s"},
		{name: "ami-work-time", usage: "Asterisk: the work timer after an answered queue call (the member is paused with reason sb-wrapup for this long; set queues.conf wrapuptime to 0); 0: none", dur: &a.WorkTime, def: "0s"},
		{name: "ami-reasons", usage: "Asterisk: Make Busy reason codes, comma-separated code:label (sent as the queue PausedReason)", str: &a.Reasons},
		{name: "ami-accounts", usage: "Asterisk: account codes agents may put on a call, comma-separated code:label (set as the channel's CHANNEL(accountcode), so they reach the CDR)", str: &a.Accounts},
		{name: "ami-classifications", usage: "Asterisk: classification codes agents give ACD calls, comma-separated code:label (during the call or its work timer; kept by Switchboard and logged on the Task)", str: &a.Classifications},
		{name: "ami-classification-required", usage: "Asterisk: on: the work timer after a queue call cannot be cancelled before the agent classified that call (it still ends when the work time is over); off", str: &a.ClassificationRequired, def: "off"},
	}
}

// validateAMI lists what is wrong with the Asterisk settings.
func (c *Config) validateAMI() []string {
	if c.PBX != "asterisk" {
		return nil
	}
	var p []string
	a := c.AMI
	if _, _, err := net.SplitHostPort(a.Addr); err != nil {
		p = append(p, "SWITCHBOARD_AMI_ADDR: host:port of the Asterisk Manager Interface (e.g. 127.0.0.1:5038)")
	}
	if a.User == "" || a.Secret == "" {
		p = append(p, "SWITCHBOARD_AMI_USER and SWITCHBOARD_AMI_SECRET (or _FILE): a manager.conf user and its secret")
	}
	if a.Auth != "md5" && a.Auth != "plain" {
		p = append(p, "SWITCHBOARD_AMI_AUTH: use md5 or plain")
	}
	if a.TLS != "on" && a.TLS != "off" {
		p = append(p, "SWITCHBOARD_AMI_TLS: use on or off")
	}
	if _, err := parseExtensions(a.Extensions); err != nil {
		p = append(p, "SWITCHBOARD_AMI_EXTENSIONS: "+err.Error())
	}
	if a.RecallTime < 0 || a.RecallTime > 0 && strings.TrimSpace(a.HoldContext) == "" {
		p = append(p, "SWITCHBOARD_AMI_RECALL_TIME: a duration of 0s or more (e.g. 20s), with SWITCHBOARD_AMI_HOLD_CONTEXT (its sb-recall and sb-xfer extensions)")
	}
	if a.WorkTime < 0 {
		p = append(p, "SWITCHBOARD_AMI_WORK_TIME: a duration of 0s or more (e.g. 30s)")
	}
	for _, l := range []struct{ name, val string }{
		{"SWITCHBOARD_AMI_REASONS", a.Reasons}, {"SWITCHBOARD_AMI_ACCOUNTS", a.Accounts}, {"SWITCHBOARD_AMI_CLASSIFICATIONS", a.Classifications},
	} {
		if _, err := parseCodes(l.val); err != nil {
			p = append(p, l.name+": "+err.Error())
		}
	}
	switch {
	case a.ClassificationRequired != "on" && a.ClassificationRequired != "off":
		p = append(p, "SWITCHBOARD_AMI_CLASSIFICATION_REQUIRED: use on or off")
	case a.ClassificationRequired == "on" && (strings.TrimSpace(a.Classifications) == "" || a.WorkTime <= 0):
		p = append(p, "SWITCHBOARD_AMI_CLASSIFICATION_REQUIRED=on needs SWITCHBOARD_AMI_CLASSIFICATIONS and a SWITCHBOARD_AMI_WORK_TIME (it holds the work timer until the call is classified)")
	}
	return p
}

// dialPattern mirrors the numbers pbx/asterisk dials (its numberPattern):
// an extension must be one, since make call, redirect and transfer dial it
// in SWITCHBOARD_AMI_CONTEXT.
var dialPattern = regexp.MustCompile(`^\+?[0-9*#]{1,32}$`)

// endpointPattern is a PJSIP endpoint id (a pjsip.conf section name) as
// Switchboard accepts it: letters, digits, - _ and .
var endpointPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func parseExtensions(s string) ([]asterisk.Extension, error) {
	var out []asterisk.Extension
	var problems []string
	numbers, endpoints := map[string]bool{}, map[string]string{}
	for _, part := range splitList(s) {
		e := asterisk.Extension{Kind: pbx.KindRegular}
		spec := part
		if rest, ok := strings.CutSuffix(spec, "/acd"); ok {
			spec, e.Kind = rest, pbx.KindACD
		} else if rest, ok := strings.CutSuffix(spec, "/hotdesk"); ok {
			spec, e.Kind = rest, pbx.KindHotDesk
		}
		var hasEP bool
		e.Number, e.Endpoint, hasEP = strings.Cut(spec, "=")
		ep := e.Endpoint
		if !hasEP {
			ep = e.Number
		}
		switch {
		case e.Number == "" || strings.ContainsAny(spec, " /") || strings.Count(spec, "=") > 1:
			problems = append(problems, fmt.Sprintf("%q is not ext[=endpoint][/acd|/hotdesk]", part))
			continue
		case !dialPattern.MatchString(e.Number):
			problems = append(problems, fmt.Sprintf("extension %q is not a number Asterisk can dial: use up to 32 digits, * and # (an optional leading +)", e.Number))
			continue
		case !hasEP && !endpointPattern.MatchString(ep):
			problems = append(problems, fmt.Sprintf("extension %s has no endpoint and is not a PJSIP endpoint id itself: name its endpoint (%s=endpoint; letters, digits, - _ and .)", e.Number, e.Number))
			continue
		case !endpointPattern.MatchString(ep):
			problems = append(problems, fmt.Sprintf("endpoint %q (of extension %s) is not a PJSIP endpoint id: use letters, digits, - _ and . (the pjsip.conf section name)", ep, e.Number))
			continue
		case numbers[e.Number]:
			problems = append(problems, fmt.Sprintf("extension %s is listed twice: list each extension once", e.Number))
			continue
		case endpoints[ep] != "":
			problems = append(problems, fmt.Sprintf("extensions %s and %s both use endpoint %q: give each extension its own PJSIP endpoint", endpoints[ep], e.Number, ep))
			continue
		}
		numbers[e.Number], endpoints[ep] = true, e.Number
		out = append(out, e)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list the extensions agents use, e.g. 1001,1002,2001=agent-desk-1/acd")
	}
	return out, nil
}

func parseCodes(s string) ([]pbx.Code, error) {
	var out []pbx.Code
	var problems []string
	seen := map[string]bool{}
	for _, part := range splitList(s) {
		code, label, _ := strings.Cut(part, ":")
		code, label = strings.TrimSpace(code), strings.TrimSpace(label)
		switch {
		case code == "":
			problems = append(problems, fmt.Sprintf("%q is not code:label", part))
			continue
		case seen[code]:
			problems = append(problems, fmt.Sprintf("code %q is listed twice: give each code once", code))
			continue
		}
		seen[code] = true
		if label == "" {
			label = code
		}
		out = append(out, pbx.Code{Code: code, Label: label})
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// asteriskDriver makes the Asterisk driver from the configuration and
// keeps its AMI link up until ctx ends.
func (m *Main) asteriskDriver(ctx context.Context) (*asterisk.Driver, error) {
	a := m.Config.AMI
	exts, err := parseExtensions(a.Extensions)
	if err != nil {
		return nil, fmt.Errorf("SWITCHBOARD_AMI_EXTENSIONS: %w", err)
	}
	reasons, err := parseCodes(a.Reasons)
	if err != nil {
		return nil, fmt.Errorf("SWITCHBOARD_AMI_REASONS: %w", err)
	}
	accounts, err := parseCodes(a.Accounts)
	if err != nil {
		return nil, fmt.Errorf("SWITCHBOARD_AMI_ACCOUNTS: %w", err)
	}
	classes, err := parseCodes(a.Classifications)
	if err != nil {
		return nil, fmt.Errorf("SWITCHBOARD_AMI_CLASSIFICATIONS: %w", err)
	}
	cc := asterisk.ClientConfig{Addr: a.Addr, Username: a.User, Secret: a.Secret, MD5: a.Auth == "md5"}
	if a.TLS == "on" {
		host, _, _ := net.SplitHostPort(a.Addr)
		cc.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	d, err := asterisk.New(asterisk.Config{
		AMI: cc, Extensions: exts, Context: a.Context, HoldContext: a.HoldContext, DigitsVar: a.DigitsVar,
		Queues: splitList(a.Queues), Agents: splitList(a.Agents), AnswerNotify: a.AnswerNotify, Reasons: reasons, WorkTime: a.WorkTime, RecallTime: a.RecallTime,
		Accounts: accounts, Classifications: classes, ClassificationRequired: a.ClassificationRequired == "on",
		Log: m.Log.With().Str("pbx", "asterisk").Logger(), Now: m.Clock.Now,
	})
	if err != nil {
		return nil, err
	}
	m.goRun(func() { _ = d.Run(ctx) })
	m.Log.Info().Str("ami_addr", a.Addr).Int("extensions", len(exts)).Msg("phone system: Asterisk (AMI)")
	return d, nil
}

// checkAsterisk logs in to the AMI once, directly, to name why a login
// fails (refused, wrong port, TLS, secret) without waiting; then it starts
// the driver and waits for its first resync, for `switchboard doctor`.
func checkAsterisk(ctx context.Context, cfg Config) check {
	c := check{name: "PBX link"}
	lctx, lcancel := context.WithTimeout(ctx, doctorTimeout)
	_, err := amiLogin(lctx, cfg.AMI)
	lcancel()
	if err != nil {
		c.detail, c.fix = fmt.Sprintf("AMI at %s: %v", cfg.AMI.Addr, err), amiFix(cfg.AMI, err)
		return c
	}
	m := &Main{Config: cfg, Log: zerolog.Nop(), Clock: sim.RealClock()}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, err := m.asteriskDriver(ctx)
	if err != nil {
		c.detail, c.fix = err.Error(), "fix the SWITCHBOARD_AMI_* settings"
		return c
	}
	defer func() { cancel(); m.wg.Wait() }()
	select {
	case <-d.Resynced():
		_, ver := d.Link()
		c.ok, c.detail = true, fmt.Sprintf("Asterisk AMI %s at %s, logged in as %s", ver, cfg.AMI.Addr, cfg.AMI.User)
	case <-ctx.Done():
		c.detail = fmt.Sprintf("logged in to the AMI at %s, but the first resync did not finish within 10s", cfg.AMI.Addr)
		c.fix = "give the manager.conf user the read and write classes README \"Running with Asterisk\" lists, and check the Asterisk log"
	}
	return c
}

// simLinkWait bounds how long Start waits for the first sync with a shared
// simulator before serving without it (not ready until it comes).
const simLinkWait = 5 * time.Second

// remoteSim makes the driver of the shared simulator at SWITCHBOARD_SIM_URL
// and keeps its link up until ctx ends. api forwards this instance's
// /sim/v1 (when it is served) to that simulator, so tools that place
// calls through an instance reach the shared switch.
func (m *Main) remoteSim(ctx context.Context) (*simremote.Driver, http.Handler, error) {
	cfg := m.Config
	d, err := simremote.New(simremote.Config{URL: cfg.SimURL, Token: cfg.SimAPIToken,
		Log: m.Log.With().Str("pbx", "sim-remote").Logger(), Now: m.Clock.Now})
	if err != nil {
		return nil, nil, err
	}
	m.goRun(func() { _ = d.Run(ctx) })
	target, _ := url.Parse(strings.TrimSuffix(cfg.SimURL, "/"))
	api := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Header.Del("Authorization")
		if cfg.SimAPIToken != "" {
			r.Out.Header.Set("Authorization", "Bearer "+cfg.SimAPIToken)
		}
	}, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		m.Log.Warn().Err(err).Str("sim_url", target.Redacted()).Msg("shared simulator not reachable for /sim/v1")
		// 503 like every "unavailable" answer (adapter.HTTPStatus): the
		// caller may retry once the simulator is back.
		writeJSON(w, http.StatusServiceUnavailable, errorJSON("unavailable", "the shared PBX simulator (SWITCHBOARD_SIM_URL) is not reachable"))
	}}
	m.Log.Info().Str("sim_url", target.Redacted()).Msg("phone system: the shared PBX simulator (switchboard sim)")
	return d, api, nil
}

// waitSimLink waits up to simLinkWait for the first sync with the shared
// simulator and reports whether it came.
func (m *Main) waitSimLink() bool {
	wait := simLinkWait
	if m.simWait > 0 {
		wait = m.simWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-m.SimRemote.Synced():
		return true
	case <-t.C:
		_, why := m.SimRemote.Link()
		m.Log.Warn().Str("sim_url", m.Config.SimURL).AnErr("reason", why).
			Msg("PBX simulator not reachable at start; serving (not ready) and retrying")
		return false
	}
}

// embeddedSimLease names the Redis lease of the one instance that may run
// the embedded simulator on a Redis prefix.
const embeddedSimLease = "pbx:embedded-sim"

// claimEmbeddedSim makes sure only one instance sharing this Redis runs
// the embedded simulator: a second one would claim devices its own
// simulator rings but nobody calls, and never ring its agents. It fails
// Start with what to do instead; with the embedded Redis (demo mode)
// nothing can be shared and there is nothing to check. The lease is
// renewed until Close and released then.
func (m *Main) claimEmbeddedSim(ctx context.Context, instance string) error {
	if m.mini != nil {
		return nil
	}
	ttl := m.Config.LeaseTTL
	ok, err := m.Store.Claim(ctx, embeddedSimLease, instance, ttl)
	if err != nil {
		m.Log.Warn().Err(err).Msg("could not check that no other instance runs the embedded PBX simulator (Redis not usable); starting anyway")
	} else if !ok {
		return fmt.Errorf("another instance on this Redis (prefix %q) already runs the embedded PBX simulator: this one would never ring its agents' phones. "+
			"Run the simulator as its own process (switchboard sim -listen :7070) and set SWITCHBOARD_SIM_URL (and SWITCHBOARD_SIM_API_TOKEN) on every instance; see README \"Several instances\"", m.Config.RedisPrefix)
	}
	m.goRun(func() {
		tick := time.NewTicker(max(ttl/3, 100*time.Millisecond))
		defer tick.Stop()
		lost := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			ok, err := m.Store.Claim(ctx, embeddedSimLease, instance, ttl)
			if err == nil && !ok && !lost {
				m.Log.Error().Msg("another instance took over the embedded PBX simulator's lease (this one was cut off from Redis too long): run switchboard sim and set SWITCHBOARD_SIM_URL on every instance")
			}
			lost = err == nil && !ok
		}
	})
	m.closers = append(m.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = m.Store.Release(ctx, embeddedSimLease, instance)
	})
	return nil
}

// checkSharedSim connects to the shared simulator once and waits for its
// sync, for `switchboard doctor`.
func checkSharedSim(ctx context.Context, cfg Config) check {
	c := check{name: "PBX link"}
	m := &Main{Config: cfg, Log: zerolog.Nop(), Clock: sim.RealClock()}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, _, err := m.remoteSim(ctx)
	if err != nil {
		c.detail, c.fix = err.Error(), "set SWITCHBOARD_SIM_URL to the simulator's base URL, like http://sim-host:7070"
		return c
	}
	defer func() { cancel(); m.wg.Wait() }()
	select {
	case <-d.Synced():
		devs, _ := d.Devices(ctx)
		c.ok, c.warn = true, true
		c.detail = fmt.Sprintf("shared PBX simulator at %s (%d devices): no real phones ring", cfg.SimURL, len(devs))
		c.fix = "set SWITCHBOARD_PBX to your phone system's driver"
	case <-ctx.Done():
		_, why := d.Link()
		c.detail = fmt.Sprintf("no link to the simulator at %s within 10s: %v", cfg.SimURL, why)
		c.fix = "start it (switchboard sim -listen :7070) and give every instance its SWITCHBOARD_SIM_API_TOKEN"
	}
	return c
}
