package simremote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/sim"
)

// command POSTs one switch-protocol command and returns the call id of
// makeCall and consult. The simulator's error comes back as the same pbx
// error (errors.Is); a simulator that cannot be reached is ErrUnavailable.
func (d *Driver) command(ctx context.Context, ext, name string, in sim.CommandRequest) (string, error) {
	body, _ := json.Marshal(in)
	u := d.base.String() + "/sim/v1/devices/" + url.PathEscape(ext) + "/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("simremote: %s on %s: %w", name, ext, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if d.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+d.cfg.Token)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("simremote: %s on %s: %w", name, ext, ctx.Err())
		}
		return "", fmt.Errorf("simremote: %s on %s: %v: %w", name, ext, err, pbx.ErrUnavailable)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return "", nil
	case resp.StatusCode == http.StatusOK:
		var out sim.CommandResponse
		if err := json.Unmarshal(b, &out); err != nil || out.CallID == "" {
			return "", fmt.Errorf("simremote: %s on %s: answer without a callId: %w", name, ext, pbx.ErrUnavailable)
		}
		return out.CallID, nil
	}
	return "", fmt.Errorf("simremote: %s on %s: %w", name, ext, decodeError(resp.StatusCode, b))
}

// decodeError turns a switch-protocol error body back into an error that
// wraps the pbx errors it names.
func decodeError(status int, body []byte) error {
	var e struct {
		Error struct {
			Code    string   `json:"code"`
			Message string   `json:"message"`
			Wraps   []string `json:"wraps"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		if status == http.StatusUnauthorized {
			return fmt.Errorf("the simulator refused the token (set SWITCHBOARD_SIM_API_TOKEN as on the simulator): %w", pbx.ErrUnavailable)
		}
		return fmt.Errorf("the simulator answered %d: %w", status, pbx.ErrUnavailable)
	}
	var errs []any
	codes := append([]string{e.Error.Code}, e.Error.Wraps...)
	seen := map[error]bool{}
	for _, c := range codes {
		if pe := sim.WireError(c); pe != nil && !seen[pe] {
			seen[pe] = true
			errs = append(errs, pe)
		}
	}
	if status == http.StatusUnauthorized || len(errs) == 0 {
		errs = append(errs, pbx.ErrUnavailable)
	}
	format := "%s" + strings.Repeat(": %w", len(errs))
	return fmt.Errorf(format, append([]any{e.Error.Message}, errs...)...)
}

// MakeCall dials number from ext (see pbx.Switch).
func (d *Driver) MakeCall(ctx context.Context, ext, number string) (string, error) {
	return d.command(ctx, ext, string(pbx.CmdMakeCall), sim.CommandRequest{Number: number})
}

// Answer answers callID at ext.
func (d *Driver) Answer(ctx context.Context, ext, callID string) error {
	return d.do(ctx, ext, string(pbx.CmdAnswer), sim.CommandRequest{CallID: callID})
}

// Clear disconnects ext from callID.
func (d *Driver) Clear(ctx context.Context, ext, callID string) error {
	return d.do(ctx, ext, string(pbx.CmdClear), sim.CommandRequest{CallID: callID})
}

// Hold puts callID on hold at ext.
func (d *Driver) Hold(ctx context.Context, ext, callID string) error {
	return d.do(ctx, ext, string(pbx.CmdHold), sim.CommandRequest{CallID: callID})
}

// Retrieve takes callID off hold at ext.
func (d *Driver) Retrieve(ctx context.Context, ext, callID string) error {
	return d.do(ctx, ext, string(pbx.CmdRetrieve), sim.CommandRequest{CallID: callID})
}

// Consult holds callID and dials number.
func (d *Driver) Consult(ctx context.Context, ext, callID, number string) (string, error) {
	return d.command(ctx, ext, string(pbx.CmdConsult), sim.CommandRequest{CallID: callID, Number: number})
}

// Transfer completes a transfer.
func (d *Driver) Transfer(ctx context.Context, ext, callID string) error {
	return d.do(ctx, ext, string(pbx.CmdTransfer), sim.CommandRequest{CallID: callID})
}

// Conference joins the consulted party.
func (d *Driver) Conference(ctx context.Context, ext, callID string) error {
	return d.do(ctx, ext, string(pbx.CmdConference), sim.CommandRequest{CallID: callID})
}

// Redirect sends a ringing call to number.
func (d *Driver) Redirect(ctx context.Context, ext, callID, number string) error {
	return d.do(ctx, ext, string(pbx.CmdRedirect), sim.CommandRequest{CallID: callID, Number: number})
}

// SendDTMF sends digits on callID.
func (d *Driver) SendDTMF(ctx context.Context, ext, callID, digits string) error {
	return d.do(ctx, ext, string(pbx.CmdDTMF), sim.CommandRequest{CallID: callID, Digits: digits})
}

// SetDND turns Do Not Disturb on or off.
func (d *Driver) SetDND(ctx context.Context, ext string, on bool) error {
	return d.do(ctx, ext, string(pbx.CmdDND), sim.CommandRequest{On: &on})
}

// SetMakeBusy turns Make Busy on (with reason) or off.
func (d *Driver) SetMakeBusy(ctx context.Context, ext string, on bool, reason string) error {
	return d.do(ctx, ext, string(pbx.CmdMakeBusy), sim.CommandRequest{On: &on, Reason: reason})
}

// ACDLogin logs agentID in on ext.
func (d *Driver) ACDLogin(ctx context.Context, ext, agentID string) error {
	return d.do(ctx, ext, string(pbx.CmdACDLogin), sim.CommandRequest{AgentID: agentID})
}

// ACDLogout logs the agent out of ext.
func (d *Driver) ACDLogout(ctx context.Context, ext string) error {
	return d.do(ctx, ext, sim.CmdACDLogout, sim.CommandRequest{})
}

// HotDeskLogin logs a user in to ext with pin.
func (d *Driver) HotDeskLogin(ctx context.Context, ext, pin string) error {
	return d.do(ctx, ext, string(pbx.CmdHotDeskLogin), sim.CommandRequest{PIN: pin})
}

// HotDeskLogout logs the user out of ext.
func (d *Driver) HotDeskLogout(ctx context.Context, ext string) error {
	return d.do(ctx, ext, sim.CmdHotDeskLogout, sim.CommandRequest{})
}

// CancelWorkTimer ends ext's work timer.
func (d *Driver) CancelWorkTimer(ctx context.Context, ext string) error {
	return d.do(ctx, ext, sim.CmdCancelWorkTimer, sim.CommandRequest{})
}

// SetAccountCode tags callID with an account code.
func (d *Driver) SetAccountCode(ctx context.Context, ext, callID, code string) error {
	return d.do(ctx, ext, string(pbx.CmdAccountCode), sim.CommandRequest{CallID: callID, Code: code})
}

// SetClassificationCode tags an ACD call with a classification code.
func (d *Driver) SetClassificationCode(ctx context.Context, ext, callID, code string) error {
	return d.do(ctx, ext, string(pbx.CmdClassification), sim.CommandRequest{CallID: callID, Code: code})
}

func (d *Driver) do(ctx context.Context, ext, name string, in sim.CommandRequest) error {
	_, err := d.command(ctx, ext, name, in)
	return err
}
