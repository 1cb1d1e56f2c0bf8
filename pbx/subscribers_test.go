package pbx_test

import (
	"context"
	"sync"
	"testing"

	"github.com/switchboard-cti/switchboard/pbx"
)

func TestSubscribersSendNeverBlocksAndCancelCloses(t *testing.T) {
	var mu sync.Mutex
	var subs pbx.Subscribers
	ctx, cancelCtx := context.WithCancel(context.Background())
	mu.Lock()
	slow, cancelSlow := subs.Add(context.Background(), &mu, 1)
	ended, _ := subs.Add(ctx, &mu, 4)
	subs.Send(pbx.Event{Seq: 1})
	subs.Send(pbx.Event{Seq: 2}) // slow's buffer is full: it misses Seq 2
	mu.Unlock()
	if ev := <-slow; ev.Seq != 1 {
		t.Fatalf("slow got Seq %d first, want 1", ev.Seq)
	}
	for _, want := range []uint64{1, 2} {
		if ev := <-ended; ev.Seq != want {
			t.Fatalf("got Seq %d, want %d", ev.Seq, want)
		}
	}
	cancelCtx() // the context's end cancels its subscriber
	if _, open := <-ended; open {
		t.Fatal("a subscriber whose context ended is still open")
	}
	cancelSlow()
	cancelSlow() // twice is harmless
	if _, open := <-slow; open {
		t.Fatal("a cancelled subscriber is still open")
	}
	mu.Lock()
	defer mu.Unlock()
	if n := subs.Len(); n != 0 {
		t.Fatalf("%d subscribers left, want 0", n)
	}
	subs.Send(pbx.Event{Seq: 3}) // no one left: no panic on a closed channel
}
