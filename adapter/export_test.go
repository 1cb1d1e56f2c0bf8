package adapter

import (
	"context"

	"github.com/switchboard-cti/switchboard/pbx"
)

// OnHeld makes s call f for every switch event it holds for a takeover
// (set it before Run).
func OnHeld(s *Service, f func(pbx.Event)) { s.onHeld = f }

// Held is how many switch events s holds for takeovers.
func Held(s *Service) int64 { return s.held.Load() }

// ResyncAtStart runs the start resync of exts (takeovers are handed to
// the watchers only while Run runs).
func ResyncAtStart(s *Service, ctx context.Context, exts []string) { s.resyncAtStart(ctx, exts) }
