package redisstore

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// BenchmarkRingingPush measures the ringing path: from a switch event (an
// outside call ringing on a device) handed to the Service to the moment
// the bus subscriber (Listen, as every instance runs it) has the pushed
// call, through real Redis. In the same run it measures a Redis round
// trip (PING) as the floor, and the bus floor (the smallest event
// published and received the same way), interleaved with the rings so all
// see the same machine. Reports p50/p99 and ring-p50 as a multiple of
// ping-p50 and bus-p50. The caller
// is known (the lookup answers at once, after the ringing push, as a
// cache hit would); each iteration waits for the lookup's push too so no
// lookup overlaps the next ring.
//
//	go test -run '^$' -bench RingingPush -count 5 ./adapter/redisstore
//
// On a Redis Cluster too when SWITCHBOARD_TEST_REDIS_CLUSTER is set
// (scripts/redis-cluster.sh run ...).
func BenchmarkRingingPush(b *testing.B) {
	b.Run("server", func(b *testing.B) { benchRinging(b, benchRedis(b, "")) })
	b.Run("cluster", func(b *testing.B) {
		addrs := os.Getenv("SWITCHBOARD_TEST_REDIS_CLUSTER")
		if addrs == "" {
			b.Skip("no Redis Cluster: SWITCHBOARD_TEST_REDIS_CLUSTER is unset")
		}
		benchRinging(b, benchRedis(b, addrs))
	})
}

func benchRedis(b *testing.B, cluster string) redis.UniversalClient {
	var rdb redis.UniversalClient
	if cluster != "" {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(cluster, ",")})
	} else {
		u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL")
		if u == "" {
			u = "redis://127.0.0.1:6379/0"
		}
		opt, err := redis.ParseURL(u)
		if err != nil {
			b.Fatal(err)
		}
		rdb = redis.NewClient(opt)
	}
	b.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		b.Skipf("no Redis: %v", err)
	}
	return rdb
}

// instantCRM finds the caller at once (a lookup cache hit).
type instantCRM struct{ heldCRM }

func (*instantCRM) ScreenPop(context.Context, salesforce.PopRequest) (salesforce.PopResult, error) {
	return salesforce.PopResult{Rule: "ani", Matches: []salesforce.Match{{ID: "003000000000001AAA", Name: "Lucy Hall", Type: "Contact"}}}, nil
}

func benchRinging(b *testing.B, rdb redis.UniversalClient) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prefix := fmt.Sprintf("%sbench:%d:", runPrefix, time.Now().UnixNano())
	defer func() {
		// Every key of the run, on every master.
		c := context.Background()
		for _, pat := range []string{prefix + "*"} {
			if cc, ok := rdb.(*redis.ClusterClient); ok {
				cc.ForEachMaster(c, func(c context.Context, n *redis.Client) error { return delAll(c, n, pat) })
			} else {
				delAll(c, rdb, pat)
			}
		}
	}()
	s := New(rdb, prefix, nil)
	svc := adapter.NewService(nil, &instantCRM{}, s, s, "bench", zerolog.Nop())
	type push struct {
		id      string
		pending bool
		at      time.Time
	}
	got := make(chan push, 16)
	bus := make(chan time.Time, 1)
	ready := make(chan struct{})
	go s.Listen(ctx, ready, func(ext string, ev adapter.AgentEvent) {
		switch {
		case ev.Type == adapter.EventCall && ev.Call != nil:
			got <- push{ev.Call.ID, ev.Call.Lookup == adapter.LookupPending, time.Now()}
		case ev.Type == adapter.EventDevice:
			bus <- time.Now()
		}
	})
	<-ready
	ring := func(i int) time.Duration {
		ext := strconv.Itoa(1000 + i%50)
		id := "b-" + strconv.Itoa(i)
		start := time.Now()
		if err := svc.HandleEvent(ctx, ringing(ext, id, "+14155550101", start)); err != nil {
			b.Fatal(err)
		}
		var lat time.Duration
		for looked := false; !looked; {
			p := <-got
			if p.id != id {
				continue
			}
			if p.pending {
				lat = p.at.Sub(start)
			} else {
				looked = true
			}
		}
		// Cleared: the device's record is dropped so the hash stays small.
		if err := s.DeleteCall(ctx, ext, id); err != nil {
			b.Fatal(err)
		}
		return lat
	}
	// The bus floor: the smallest push (a numbered event, one script)
	// from publish to subscriber.
	publish := func() time.Duration {
		start := time.Now()
		if err := s.Publish(ctx, "9999", adapter.AgentEvent{Type: adapter.EventDevice}); err != nil {
			b.Fatal(err)
		}
		return (<-bus).Sub(start)
	}
	for i := range 50 { // scripts loaded, connections warm
		ring(-1 - i)
		publish()
		rdb.Ping(ctx)
	}
	rings := make([]time.Duration, 0, b.N)
	pings := make([]time.Duration, 0, b.N)
	pubs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rings = append(rings, ring(i))
		t := time.Now()
		if err := rdb.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		pings = append(pings, time.Since(t))
		pubs = append(pubs, publish())
	}
	b.StopTimer()
	slices.Sort(rings)
	slices.Sort(pings)
	slices.Sort(pubs)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(us(rings[len(rings)/2]), "ring-p50-µs")
	b.ReportMetric(us(rings[len(rings)*99/100]), "ring-p99-µs")
	b.ReportMetric(us(pings[len(pings)/2]), "ping-p50-µs")
	b.ReportMetric(us(pings[len(pings)*99/100]), "ping-p99-µs")
	b.ReportMetric(us(pubs[len(pubs)/2]), "bus-p50-µs")
	b.ReportMetric(float64(rings[len(rings)/2])/float64(pings[len(pings)/2]), "ring/ping")
	b.ReportMetric(float64(rings[len(rings)/2])/float64(pubs[len(pubs)/2]), "ring/bus")
}

func delAll(ctx context.Context, c redis.Cmdable, pattern string) error {
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	return iter.Err()
}
