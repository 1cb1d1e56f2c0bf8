package simremote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cti/switchboard/pbx/sim"
)

// maxMessageBytes bounds one message from the simulator (the sync of
// 100,000 devices fits).
const maxMessageBytes = 256 << 20

// pingEvery and pingTimeout: the driver pings the simulator this often and
// drops a link that does not answer in time.
const (
	pingEvery   = 5 * time.Second
	pingTimeout = 5 * time.Second
)

// Run keeps the events link up until ctx ends: it connects, applies the
// sync, follows the events, and after a failure reconnects with back-off
// (doubling from MinBackoff to MaxBackoff, back to MinBackoff after a link
// that synced). It returns ctx's error.
//
// An outage is logged once: a warning when the link goes down (or cannot be
// made at start), then each failed retry at debug level, then "simulator
// link up" once it syncs again. Each retry has its own retry_in, so a
// warning per retry would never be "repeated identically" and would escape
// the once-per-30 s rule for repeated log lines.
func (d *Driver) Run(ctx context.Context) error {
	backoff := d.cfg.MinBackoff
	reported := false // this outage's warning is written
	for {
		synced, err := d.session(ctx)
		if ctx.Err() != nil {
			d.linkDown(errors.New("stopped"))
			return ctx.Err()
		}
		d.linkDown(err)
		if synced {
			backoff = d.cfg.MinBackoff
			reported = false // the link was up: this is a new outage
		}
		ev := d.log.Debug()
		if !reported {
			ev, reported = d.log.Warn(), true
		}
		ev.Err(err).Str("sim_url", d.base.String()).Dur("retry_in", backoff).Msg("simulator link down")
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			d.linkDown(errors.New("stopped"))
			return ctx.Err()
		case <-t.C:
		}
		if !synced {
			backoff = min(backoff*2, d.cfg.MaxBackoff)
		}
	}
}

// session runs one events link; synced says whether it got as far as the
// sync.
func (d *Driver) session(ctx context.Context) (synced bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u := *d.base
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path = "/sim/v1/events"
	h := http.Header{}
	if d.cfg.Token != "" {
		h.Set("Authorization", "Bearer "+d.cfg.Token)
	}
	dctx, dcancel := context.WithTimeout(sctx, 10*time.Second)
	conn, resp, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{
		HTTPHeader: h, Subprotocols: []string{sim.Subprotocol}, HTTPClient: &http.Client{Transport: d.hc.Transport},
	})
	dcancel()
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return false, fmt.Errorf("simremote: %s refused the token (401): set the simulator's SWITCHBOARD_SIM_API_TOKEN on this instance too", u.Redacted())
		}
		return false, fmt.Errorf("simremote: connect %s: %w", u.Redacted(), err)
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != sim.Subprotocol {
		conn.Close(websocket.StatusPolicyViolation, "subprotocol "+sim.Subprotocol+" required")
		return false, fmt.Errorf("simremote: %s does not speak %s (a Switchboard simulator of another version?)", u.Redacted(), sim.Subprotocol)
	}
	conn.SetReadLimit(maxMessageBytes)

	// The sync.
	var syn sim.SyncMessage
	if err := readMessage(sctx, conn, &syn); err != nil {
		return false, fmt.Errorf("simremote: sync: %w", err)
	}
	if syn.Type != "sync" || syn.Protocol != sim.ProtocolVersion {
		return false, fmt.Errorf("simremote: first message is %q protocol %d, want sync of protocol %d", syn.Type, syn.Protocol, sim.ProtocolVersion)
	}
	d.applySync(syn.Codes, syn.Devices, syn.Snapshots)
	d.log.Info().Str("sim_url", d.base.String()).Int("devices", len(syn.Devices)).Msg("simulator link up; devices resynced")

	go func() {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(sctx, pingTimeout)
				err := conn.Ping(pctx)
				pcancel()
				if err != nil {
					cancel()
					return
				}
			}
		}
	}()
	for {
		var msg sim.EventsMessage
		if err := readMessage(sctx, conn, &msg); err != nil {
			if ctx.Err() == nil && sctx.Err() != nil {
				return true, errors.New("simremote: the simulator stopped answering pings")
			}
			if websocket.CloseStatus(err) == sim.CloseOverflow {
				return true, errors.New("simremote: this instance fell behind the simulator's events; resyncing")
			}
			return true, fmt.Errorf("simremote: events: %w", err)
		}
		if msg.Type != "events" {
			return true, fmt.Errorf("simremote: message of type %q, want events", msg.Type)
		}
		if err := d.applyEvents(msg.Events); err != nil {
			conn.Close(websocket.StatusPolicyViolation, "sequence gap")
			return true, err
		}
	}
}

func readMessage(ctx context.Context, conn *websocket.Conn, v any) error {
	typ, b, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	if typ != websocket.MessageText {
		return errors.New("binary message; the protocol sends JSON text")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("malformed message: %w", err)
	}
	return nil
}
