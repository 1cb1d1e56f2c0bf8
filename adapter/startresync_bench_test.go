package adapter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/sim"
)

// BenchmarkStartResync: what an instance's start resync costs with
// 10,000 devices and no call anywhere (a quiet start; a device with a
// call costs one Resync more), on the real Redis: the stored calls of
// every device read in one pipeline (or device by device, for a Store
// without CallsMany), and the simulator's Snapshot of each. It runs in
// the background after Start; the floor is BenchmarkRedisRoundTripFloor
// in the same run.
func BenchmarkStartResync(b *testing.B) {
	const devices = 10000
	cfg := sim.DemoConfig()
	var exts []string
	for i := range devices {
		n := fmt.Sprint(100000 + i)
		cfg.Extensions = append(cfg.Extensions, sim.Extension{Number: n, Name: "Load " + n, Kind: pbx.KindRegular})
		exts = append(exts, n)
	}
	sw, err := sim.New(cfg, sim.NewFakeClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		b.Skipf("no Redis on 127.0.0.1:6379: %v", err)
	}
	// Nothing is written: the prefix only keeps the reads off real keys.
	st := redisstore.New(rdb, fmt.Sprintf("sbbench:startresync:%d:", time.Now().UnixNano()), nil)
	for _, c := range []struct {
		name  string
		store adapter.Store
	}{{"read=one-pipeline", st}, {"read=device-by-device", unbatched{st}}} {
		b.Run(fmt.Sprintf("devices=%d/%s", devices, c.name), func(b *testing.B) {
			s := adapter.NewService(sw, nil, c.store, st, "bench", zerolog.Nop())
			for b.Loop() {
				adapter.ResyncAtStart(s, context.Background(), exts)
			}
		})
	}
}
