package salesforce_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// BenchmarkFindByPhone measures lookups per second against the fake org
// on loopback with no injected latency, without a cache.
func BenchmarkFindByPhone(b *testing.B) {
	e := newEnvWith(b, fakeorg.Options{DailyLimit: 1 << 30}, nil)
	ctx := context.Background()
	numbers := []string{fakeorg.KnownCaller, fakeorg.SharedNumber, fakeorg.UnknownCaller, fakeorg.PersonAccountNumber}
	if _, err := e.client.FindByPhone(ctx, numbers[0]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := e.client.FindByPhone(ctx, numbers[i%len(numbers)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkScreenPopParallel measures screen pops from many goroutines.
func BenchmarkScreenPopParallel(b *testing.B) {
	e := newEnvWith(b, fakeorg.Options{DailyLimit: 1 << 30}, nil)
	if err := e.client.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.client.ScreenPop(context.Background(), salesforce.PopRequest{ANI: fakeorg.KnownCaller}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pops/s")
}

// callers returns n caller numbers of which about repeat are repeat
// callers (numbers already seen), deterministically.
func callers(n int, repeat float64) []string {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]string, 0, n)
	for i := range n {
		if i > 0 && r.Float64() < repeat {
			out = append(out, out[r.IntN(len(out))])
			continue
		}
		out = append(out, fmt.Sprintf("+1415%07d", 2000000+i))
	}
	return out
}

// BenchmarkRequestsPer1000Lookups reports REST requests per 1,000 lookups
// with 30% repeat callers, with and without the lookup cache.
func BenchmarkRequestsPer1000Lookups(b *testing.B) {
	nums := callers(1000, 0.3)
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cache=%v", cached), func(b *testing.B) {
			e := newEnv(b, nil)
			ctx := context.Background()
			var requests int64
			for b.Loop() {
				e.org.SetUsage(0)
				cfg := salesforce.Config{Tokens: e.tokens, Now: e.clock.Now}
				if cached {
					cfg.Cache = salesforce.NewMemoryCache(e.clock.Now)
				}
				c := salesforce.NewClient(cfg)
				for _, n := range nums {
					if _, err := c.FindByPhone(ctx, n); err != nil {
						b.Fatal(err)
					}
				}
				requests += c.Requests()
			}
			b.ReportMetric(float64(requests)/float64(b.N), "requests/1000lookups")
		})
	}
}
