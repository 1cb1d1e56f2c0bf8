package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
)

// The bus: Publish numbers an event (INCR of the device's sequence) and
// publishes it on the device's channel in one script, so every instance
// sees one order. Listen pattern-subscribes to every device's channel.
//
// Redis Cluster: the device's sequence key and channel name share the
// device's hash tag, so the script stays in one slot. Classic PUBLISH is
// broadcast over the cluster bus to every node, so one PSUBSCRIBE on any
// node hears every device (go-redis's ClusterClient subscribes on the
// master of the pattern's slot and moves when it fails over). Sharded
// pub/sub (SPUBLISH/SSUBSCRIBE) would keep each message on its slot's
// node, but it has no pattern form: each instance would need one
// subscription per device on every master, so it is not used.

var publishScript = redis.NewScript(`
local s = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 2592000)
redis.call('PUBLISH', KEYS[2], s .. '\n' .. ARGV[1])
return s`)

// busKeys are the keys of a device's events: its sequence number and
// its channel (one hash slot).
func (s *Store) busKeys(ext string) []string {
	return []string{s.devKey(ext, "seq"), s.devKey(ext, "ev")}
}

// Publish implements adapter.Bus.
func (s *Store) Publish(ctx context.Context, ext string, ev adapter.AgentEvent) error {
	ev.Seq = 0
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("redis: encode event: %w", err)
	}
	err = publishScript.Run(ctx, s.rdb, s.busKeys(ext), b).Err()
	return wrap("publish", err)
}

// Seq implements adapter.Bus.
func (s *Store) Seq(ctx context.Context, ext string) (uint64, error) {
	n, err := s.rdb.Get(ctx, s.devKey(ext, "seq")).Uint64()
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
//
// On a Redis Cluster it subscribes on every master, not on one: Redis
// sends a PUBLISH to the publisher's own subscribers at once, and to the
// other nodes' over the cluster bus, later (a hop more, and it queues
// behind other bus traffic). Each event then arrives once per master;
// the first copy is delivered (the one from the master that published,
// normally) and the others, with a sequence number already seen, dropped.
// Any one subscription alone still hears every event.
func (s *Store) Listen(ctx context.Context, ready chan<- struct{}, f func(ext string, ev adapter.AgentEvent)) error {
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return s.listenOn(ctx, s.rdb, ready, nil, f)
	}
	var mu sync.Mutex
	var nodes []*redis.Client
	err := cc.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		nodes = append(nodes, c)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return wrap("subscribe", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seen := &firstCopy{last: map[string]uint64{}}
	done := make(chan error, len(nodes))
	up := make([]chan struct{}, len(nodes))
	for i, n := range nodes {
		up[i] = make(chan struct{})
		go func() { done <- s.listenOn(ctx, n, up[i], seen, f) }()
	}
	go func() {
		for _, u := range up {
			select {
			case <-u:
			case <-ctx.Done():
				return
			}
		}
		if ready != nil {
			close(ready)
		}
	}()
	err = <-done // one subscription ended: end them all, the caller retries
	cancel()
	for range len(nodes) - 1 {
		<-done
	}
	return err
}

// firstCopy passes on the first copy of each device's event when the same
// events arrive on several subscriptions (Listen on a Cluster), keeping
// each device's order. f runs under its lock.
type firstCopy struct {
	mu   sync.Mutex
	last map[string]uint64 // device -> highest sequence number delivered
}

// seqRestart: a sequence number this far below the last one is not a late
// copy but a device numbered afresh (its key lost with a Redis restart).
const seqRestart = 1000

// deliver calls f unless ev is a copy already delivered.
func (c *firstCopy) deliver(ext string, ev adapter.AgentEvent, f func(string, adapter.AgentEvent)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ext == "" { // resync: sockets start over from a snapshot
		clear(c.last)
		f(ext, ev)
		return
	}
	if c.copied(ext, ev.Seq) {
		return
	}
	c.last[ext] = ev.Seq
	f(ext, ev)
}

// copied reports whether seq of ext was delivered already (c.mu held).
func (c *firstCopy) copied(ext string, seq uint64) bool {
	last, ok := c.last[ext]
	return ok && seq <= last && seq+seqRestart > last
}

// isCopy is copied with the lock taken: a copy is dropped before its JSON
// is decoded.
func (c *firstCopy) isCopy(ext string, seq uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.copied(ext, seq)
}

// listenOn runs one subscription to every device's channel on rdb (a
// server, or one master of a Cluster); seen, when set, drops copies.
func (s *Store) listenOn(ctx context.Context, rdb redis.UniversalClient, ready chan<- struct{}, seen *firstCopy, f func(ext string, ev adapter.AgentEvent)) error {
	deliver := f
	if seen != nil {
		deliver = func(ext string, ev adapter.AgentEvent) { seen.deliver(ext, ev, f) }
	}
	prefix, suffix := s.prefix+"{dev:", "}:ev"
	sub := rdb.PSubscribe(ctx, GlobEscape(prefix)+"*"+suffix)
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
				deliver("", adapter.AgentEvent{Type: adapter.EventResync})
			}
		case *redis.Message:
			seqStr, body, found := strings.Cut(m.Payload, "\n")
			if !found {
				continue
			}
			seq, _ := strconv.ParseUint(seqStr, 10, 64)
			ext := strings.TrimSuffix(strings.TrimPrefix(m.Channel, prefix), suffix)
			if seen != nil && seen.isCopy(ext, seq) {
				continue // a copy from another master
			}
			var ev adapter.AgentEvent
			if err := json.Unmarshal([]byte(body), &ev); err != nil {
				continue
			}
			ev.Seq = seq
			deliver(ext, ev)
		}
	}
}
