package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// BenchmarkStartToReady measures how long an instance takes from Start to
// ready with 10,000 devices, on the embedded simulator and on a shared
// simulator process (its sync of every device included), against the real
// Redis. It reports medians over the iterations (run with -benchtime=7x or
// more): start-ms (Start returned: devices claimed, bus listening),
// pbx-redis-ready-ms (Redis and the PBX usable: what /readyz needs before
// Salesforce), ready-ms (the first full readiness check passes, the demo
// org's JWT login and REST call included) and sf-probe-ms (that Salesforce
// probe alone, which Start warms in the background), and redis-rtt-us, a
// PING round trip measured in the same run as the floor.
//
// The demo org's RSA key is made once outside the timing: in production
// the key is read from a file, and only demo mode generates one.
func BenchmarkStartToReady(b *testing.B) {
	for _, mode := range []string{"embedded", "shared"} {
		b.Run("devices=10000/sim="+mode, func(b *testing.B) { benchStart(b, 10000, mode == "shared") })
	}
}

func benchStart(b *testing.B, devices int, shared bool) {
	url := benchRedisURL(b)
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		b.Skipf("no Redis at %s: %v", url, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"SWITCHBOARD_ADDR": "127.0.0.1:0", "SWITCHBOARD_REDIS_URL": url, "SWITCHBOARD_LOG_LEVEL": "error",
		"SWITCHBOARD_SIM_EXTENSIONS": fmt.Sprint(devices)}
	if shared {
		senv := map[string]string{"SWITCHBOARD_SIM_EXTENSIONS": fmt.Sprint(devices), "SWITCHBOARD_LOG_LEVEL": "error"}
		srv, err := NewSimServer([]string{"-listen", "127.0.0.1:0"}, func(k string) string { return senv[k] }, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		env["SWITCHBOARD_SIM_URL"] = srv.URL
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var start, pbxReady, ready, sfProbe, rtt []float64
	for b.Loop() {
		env["SWITCHBOARD_REDIS_PREFIX"] = fmt.Sprintf("%sstart:%d:", testPrefix, time.Now().UnixNano())
		m, err := NewMain(nil, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		m.demoKey = key
		m.Org = fakeorg.Demo(fakeorg.Options{Now: time.Now, ClientID: demoClientID, PublicKey: &key.PublicKey,
			ClientCredentialsSecret: demoClientSecret, ClientCredentialsUser: demoIntegrationUser})
		ctx, cancel := context.WithCancel(context.Background())
		t0 := time.Now()
		if err := m.Start(ctx); err != nil {
			b.Fatal(err)
		}
		start = append(start, ms(time.Since(t0)))
		for m.Store.Ping(ctx) != nil || m.Service.Switch.Ping(ctx) != nil {
		}
		pbxReady = append(pbxReady, ms(time.Since(t0)))
		for {
			if _, err := m.Service.Ready(ctx); err == nil {
				break
			}
		}
		ready = append(ready, ms(time.Since(t0)))
		t1 := time.Now()
		if err := m.Service.CRM.Ping(ctx); err != nil {
			b.Fatal(err)
		}
		sfProbe = append(sfProbe, ms(time.Since(t1)))
		t2 := time.Now()
		_ = rdb.Ping(ctx).Err()
		rtt = append(rtt, float64(time.Since(t2).Microseconds()))
		cancel()
		m.Close()
		deleteKeys(b, url, m.Config.RedisPrefix)
	}
	med := func(xs []float64) float64 { s := slices.Clone(xs); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(med(start), "start-ms")
	b.ReportMetric(med(pbxReady), "pbx-redis-ready-ms")
	b.ReportMetric(med(ready), "ready-ms")
	b.ReportMetric(med(sfProbe), "sf-probe-ms")
	b.ReportMetric(med(rtt), "redis-rtt-us")
	b.Logf("start-ms %v\nready-ms %v\nsf-probe-ms %v", start, ready, sfProbe)
}
