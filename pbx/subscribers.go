package pbx

import (
	"context"
	"slices"
	"sync"
)

// Subscribers is one event stream's subscribers (a device's, or every
// device's), kept by a driver for Subscribe and SubscribeAll. The driver
// guards it with its own mutex: held around Add and Send, and taken by the
// cancel that Add returns. The zero value is an empty list.
type Subscribers struct {
	list []*subscriber
}

type subscriber struct {
	ch     chan Event
	closed bool
}

// Add adds a subscriber with a buffer of n events and returns its channel
// and cancel. cancel (run too when ctx ends) closes the channel and takes
// the subscriber off the list; it locks mu, which the caller of Add holds.
func (s *Subscribers) Add(ctx context.Context, mu sync.Locker, n int) (<-chan Event, func()) {
	sub := &subscriber{ch: make(chan Event, n)}
	s.list = append(s.list, sub)
	cancel := func() {
		mu.Lock()
		defer mu.Unlock()
		if sub.closed {
			return
		}
		sub.closed = true
		close(sub.ch)
		s.list = slices.DeleteFunc(s.list, func(x *subscriber) bool { return x == sub })
	}
	stop := context.AfterFunc(ctx, cancel)
	return sub.ch, func() { stop(); cancel() }
}

// Send hands ev to every subscriber without ever blocking: one whose
// buffer is full misses it, and the gap in Event.Seq tells it to resync.
func (s *Subscribers) Send(ev Event) {
	for _, sub := range s.list {
		select {
		case sub.ch <- ev:
		default:
		}
	}
}

// Len is the number of subscribers.
func (s *Subscribers) Len() int { return len(s.list) }
