package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
)

// The bus: Publish numbers an event (INCR of the device's sequence) and
// publishes it on the device's channel in one script, so every instance
// sees one order. Listen pattern-subscribes to every device's channel.

var publishScript = redis.NewScript(`
local s = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 2592000)
redis.call('PUBLISH', KEYS[2], s .. '\n' .. ARGV[1])
return s`)

// Publish implements adapter.Bus.
func (s *Store) Publish(ctx context.Context, ext string, ev adapter.AgentEvent) error {
	ev.Seq = 0
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("redis: encode event: %w", err)
	}
	err = publishScript.Run(ctx, s.rdb, []string{s.key("dev", ext, "seq"), s.key("ev", ext)}, b).Err()
	return wrap("publish", err)
}

// UpdateCallPublish implements adapter.CallPublisher: UpdateCall, with
// the event numbered and published (as Publish does) inside the same
// MULTI when the record is stored.
func (s *Store) UpdateCallPublish(ctx context.Context, ext, id string, f func(*adapter.CallRecord, bool) (adapter.CallChange, error)) (adapter.CallRecord, error) {
	keys := []string{s.key("dev", ext, "seq"), s.key("ev", ext)}
	return s.updateCall(ctx, ext, id, f, func(p redis.Pipeliner, rec adapter.CallRecord) error {
		b, err := json.Marshal(adapter.AgentEvent{Type: adapter.EventCall, Call: &rec})
		if err != nil {
			return fmt.Errorf("redis: encode event: %w", err)
		}
		// EVAL, not EVALSHA: a NOSCRIPT inside MULTI would not undo the
		// stored record; Redis caches the compiled script either way.
		publishScript.Eval(ctx, p, keys, b)
		return nil
	})
}

var _ adapter.CallPublisher = (*Store)(nil)

// Seq implements adapter.Bus.
func (s *Store) Seq(ctx context.Context, ext string) (uint64, error) {
	n, err := s.rdb.Get(ctx, s.key("dev", ext, "seq")).Uint64()
	if err != nil {
		if err == redis.Nil {
			return 0, nil
		}
		return 0, wrap("seq", err)
	}
	return n, nil
}

// Listen implements adapter.Bus. When the connection to Redis is lost and
// comes back, events published meanwhile are gone (pub/sub keeps nothing):
// f then gets an EventResync for every device (ext ""), so sockets resync.
func (s *Store) Listen(ctx context.Context, ready chan<- struct{}, f func(ext string, ev adapter.AgentEvent)) error {
	prefix := s.key("ev", "")
	sub := s.rdb.PSubscribe(ctx, prefix+"*")
	defer sub.Close()
	stop := context.AfterFunc(ctx, func() { sub.Close() }) // Receive does not watch ctx
	defer stop()
	subscribed := false
	for {
		msg, err := sub.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !subscribed {
				return wrap("subscribe", err)
			}
			// go-redis reconnects and subscribes again on the next Receive.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if !subscribed {
				subscribed = true
				if ready != nil {
					close(ready)
				}
			} else {
				f("", adapter.AgentEvent{Type: adapter.EventResync})
			}
		case *redis.Message:
			seqStr, body, found := strings.Cut(m.Payload, "\n")
			if !found {
				continue
			}
			var ev adapter.AgentEvent
			if err := json.Unmarshal([]byte(body), &ev); err != nil {
				continue
			}
			ev.Seq, _ = strconv.ParseUint(seqStr, 10, 64)
			f(strings.TrimPrefix(m.Channel, prefix), ev)
		}
	}
}
