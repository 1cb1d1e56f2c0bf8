package sim

import (
	"context"
	"testing"
)

// BenchmarkCallSetup rings Alex from outside, who answers, holds,
// retrieves and clears, once per iteration.
func BenchmarkCallSetup(b *testing.B) {
	s := mustSim(b)
	ctx := context.Background()
	ch, cancel, err := s.Subscribe(ctx, ext1)
	if err != nil {
		b.Fatal(err)
	}
	defer cancel()
	done := make(chan struct{})
	go func() { // a softphone reading every event
		for range ch {
		}
		close(done)
	}()
	b.ReportAllocs()
	for b.Loop() {
		id, err := s.PlaceCall(ctx, ExternalCall{From: lucy, To: ext1})
		if err != nil {
			b.Fatal(err)
		}
		for _, step := range []func(context.Context, string, string) error{s.Answer, s.Hold, s.Retrieve, s.Clear} {
			if err := step(ctx, ext1, id); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	cancel()
	<-done
	if n := len(s.Calls()); n != 0 {
		b.Fatalf("%d calls leaked", n)
	}
}
