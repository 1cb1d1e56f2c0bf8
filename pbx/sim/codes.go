package sim

import (
	"context"
	"fmt"

	"github.com/switchboard-cti/switchboard/pbx"
)

// SetAccountCode tags a call ext is on with a configured account code.
// ErrInvalid (unknown code), ErrUnknownCall, ErrUnknownDevice.
func (s *Sim) SetAccountCode(ctx context.Context, ext, callID, code string) error {
	const op = "set account code"
	_, c, _, err := s.beginCall(ctx, op, ext, callID)
	if err != nil {
		return err
	}
	defer s.end()
	if !hasCode(s.cfg.Accounts, code) {
		return callErr(op, ext, callID, pbx.ErrInvalid, fmt.Sprintf("account code %q: must be one of the configured account codes", code))
	}
	c.AccountCode = code
	s.publish(c, pbx.CauseCodes)
	return nil
}

// SetClassificationCode tags an ACD call with a configured classification
// code, while ext is on it or, after it ended, while ext's work timer runs
// for it. ErrInvalid (unknown code), ErrNotAllowed (not an ACD call),
// ErrUnknownCall, ErrUnknownDevice.
func (s *Sim) SetClassificationCode(ctx context.Context, ext, callID, code string) error {
	const op = "set classification code"
	if err := s.begin(ctx, op, ext, callID); err != nil {
		return err
	}
	defer s.end()
	d, err := s.device(op, ext)
	if err != nil {
		return callErr(op, ext, callID, pbx.ErrUnknownDevice, "")
	}
	c := s.calls[callID]
	if c == nil || c.liveParty(d) == nil {
		c = nil
		if d.lastACD != nil && d.lastACD.ID == callID && d.state.WorkTimer {
			c = d.lastACD
		}
	}
	if c == nil {
		return callErr(op, ext, callID, pbx.ErrUnknownCall, "")
	}
	if !c.ACD {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, "only ACD calls take a classification code")
	}
	if !hasCode(s.cfg.Classifications, code) {
		return callErr(op, ext, callID, pbx.ErrInvalid, fmt.Sprintf("classification code %q: must be one of the configured classification codes", code))
	}
	c.ClassificationCode = code
	if !c.ended {
		s.publish(c, pbx.CauseCodes)
	}
	if d.lastACD == c && d.state.ClassificationPending {
		d.state.ClassificationPending = false
		s.emitState(d, pbx.CauseCodes)
	}
	return nil
}
