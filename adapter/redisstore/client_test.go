package redisstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestParseURLNamesTheTopologyAndItsAddresses(t *testing.T) {
	for _, tc := range []struct {
		name, url, password string
		topo                Topology
		addrs               []string
		check               func(t *testing.T, e Endpoint)
	}{
		{name: "one server", url: "redis://:secret@10.0.0.5:6380/2", topo: Server, addrs: []string{"10.0.0.5:6380"},
			check: func(t *testing.T, e Endpoint) {
				if e.Server.DB != 2 || e.Server.Password != "secret" {
					t.Errorf("db %d password %q", e.Server.DB, e.Server.Password)
				}
			}},
		{name: "one server, password given apart", url: "rediss://r.example:6379", password: "fromfile", topo: Server, addrs: []string{"r.example:6379"},
			check: func(t *testing.T, e Endpoint) {
				if e.Server.Password != "fromfile" || e.Server.TLSConfig == nil {
					t.Errorf("password %q, TLS %v", e.Server.Password, e.Server.TLSConfig != nil)
				}
			}},
		{name: "a cluster, comma-separated", url: "redis+cluster://u:p@127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002?dial_timeout=2s", topo: Cluster,
			addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"},
			check: func(t *testing.T, e Endpoint) {
				if e.Cluster.Username != "u" || e.Cluster.Password != "p" || e.Cluster.DialTimeout != 2*time.Second {
					t.Errorf("user %q password %q dial timeout %v", e.Cluster.Username, e.Cluster.Password, e.Cluster.DialTimeout)
				}
			}},
		{name: "a cluster, go-redis's addr parameters", url: "rediss+cluster://n1:7000?addr=n2:7000&addr=n3:7000", topo: Cluster,
			addrs: []string{"n1:7000", "n2:7000", "n3:7000"}},
		{name: "Sentinel", url: "redis+sentinel://s1:26379,s2:26379/1?master_name=mymaster", password: "data", topo: Sentinel,
			addrs: []string{"s1:26379", "s2:26379"},
			check: func(t *testing.T, e Endpoint) {
				if e.Sentinel.MasterName != "mymaster" || e.Sentinel.DB != 1 || e.Sentinel.Password != "data" {
					t.Errorf("master %q db %d password %q", e.Sentinel.MasterName, e.Sentinel.DB, e.Sentinel.Password)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseURL(tc.url, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if e.Topology != tc.topo {
				t.Errorf("topology %s, want %s", e.Topology, tc.topo)
			}
			if diff := cmp.Diff(tc.addrs, e.Addrs()); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			if tc.check != nil {
				tc.check(t, e)
			}
			c := e.Client()
			c.Close()
		})
	}
}

func TestParseURLRefusesBadURLsAndNeverEchoesThePassword(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"no scheme", "127.0.0.1:6379", "no scheme"},
		{"an unknown scheme", "http://127.0.0.1:6379", `scheme "http"`},
		{"an unknown topology", "redis+ring://a:1", `scheme "redis+ring"`},
		{"a unix cluster", "unix+cluster:///tmp/r.sock", `scheme "unix+cluster"`},
		{"an empty host in the list", "redis+cluster://a:1,,b:2", "empty host"},
		{"Sentinel without a master name", "redis+sentinel://s1:26379", "master_name"},
		{"an unknown parameter", "redis+cluster://:hunter2secret@a:1?bogus=1", "bogus"},
		{"a bad database", "redis://:hunter2secret@a:1/x", "redis URL"},
		{"a port out of range", "redis://:hunter2secret@127.0.0.1:99999/0", "not 1 to 65535"},
		{"port 0", "redis://127.0.0.1:0/0", "not 1 to 65535"},
		{"a cluster node's port out of range", "redis+cluster://a:7000,b:70000", `"b:70000"`},
		{"a sentinel's port out of range", "redis+sentinel://s1:26379,s2:123456?master_name=m", `"s2:123456"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseURL(tc.url, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2secret") {
				t.Errorf("err = %v: repeats the password", err)
			}
		})
	}
}

func TestMigrateV1MovesEveryKeyToItsTaggedName(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx := context.Background()
		v1 := strings.TrimSuffix(s.prefix, "v2:") + "v1:"
		// A v1 deployment's keys (as release v1 wrote them).
		seed := map[string]string{
			"dev:1001:user": "005A", "dev:1001:seq": "7", "agent:005A": `{"userId":"005A"}`,
			"sess:abc": "005A", "lease:monitor:1001": "old-instance", "cache:nouser:1002": "1",
			"user:005A:settings": `{"inboundCallNotes":false}`,
		}
		for k, v := range seed {
			if err := s.rdb.Set(ctx, v1+k, v, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.rdb.Expire(ctx, v1+"sess:abc", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.rdb.HSet(ctx, v1+"dev:1001:calls", "c-1", `{"id":"c-1","extension":"1001","matches":[],"log":{"quickNotes":[]}}`, "task:c-1", "00T000000000001AAA").Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: v1 + "outbox", Values: map[string]any{"job": `{"key":"c-1/1001","userId":"005A","extension":"1001","callId":"c-1"}`}}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.rdb.Set(ctx, v1+"not-ours", "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
		// A v2 key that exists already wins over its v1 one.
		if err := s.SetDeviceUser(ctx, "1001", "005NEW"); err != nil {
			t.Fatal(err)
		}

		n, err := s.MigrateV1(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(seed) + 2 - 1; n != want { // + calls + outbox - the device user kept
			t.Errorf("moved %d keys, want %d", n, want)
		}
		if uid, _ := s.DeviceUser(ctx, "1001"); uid != "005NEW" {
			t.Errorf("device user %q, want the v2 one", uid)
		}
		if seq, _ := s.Seq(ctx, "1001"); seq != 7 {
			t.Errorf("seq %d, want 7", seq)
		}
		if uid, err := s.Session(ctx, "abc"); uid != "005A" || err != nil {
			t.Errorf("session = %q, %v", uid, err)
		}
		if ttl := s.rdb.TTL(ctx, s.key("sess", "abc")).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("session TTL %v, want its hour kept", ttl)
		}
		if st, _ := s.Settings(ctx, "005A"); st.InboundCallNotes {
			t.Errorf("settings not moved: %+v", st)
		}
		if c, err := s.Call(ctx, "1001", "c-1"); err != nil || c.TaskID != "00T000000000001AAA" {
			t.Errorf("call = %+v, %v", c, err)
		}
		if ok, _ := s.Claim(ctx, "monitor:1001", "new-instance", time.Second); ok {
			t.Error("the moved lease is still held by its owner; a new instance took it")
		}
		jobs, err := s.NextTasks(ctx, "w1", 10, time.Minute)
		if err != nil || len(jobs) != 1 || jobs[0].CallID != "c-1" {
			t.Errorf("outbox jobs %+v, %v; want the v1 one", jobs, err)
		}
		var left []string
		if err := ScanKeys(ctx, s.rdb, GlobEscape(v1)+"*", func(_ redis.Cmdable, keys []string) error { left = append(left, keys...); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(left, []string{v1 + "not-ours"}) {
			t.Errorf("v1 keys left: %v, want only the one that is not Switchboard's", left)
		}
		s.rdb.Del(ctx, v1+"not-ours")
		if again, err := s.MigrateV1(ctx); err != nil || again != 0 {
			t.Errorf("second run moved %d, %v; want 0", again, err)
		}
	})
}

func TestUpgradeMovesV1KeysOnceThenOnlyChecksItsMark(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx := context.Background()
		v1 := strings.TrimSuffix(s.prefix, "v2:") + "v1:"
		if err := s.rdb.Set(ctx, v1+"sess:a", "005A", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Upgrade(ctx); n != 1 || err != nil {
			t.Fatalf("first Upgrade = %d, %v; want 1 key moved", n, err)
		}
		if v, _ := s.rdb.Get(ctx, s.prefix+"schema").Result(); v != SchemaVersion {
			t.Errorf("schema mark %q, want %q", v, SchemaVersion)
		}
		// Marked: a later start does not scan (a v1 key written since
		// stays where it is).
		if err := s.rdb.Set(ctx, v1+"sess:b", "005B", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Upgrade(ctx); n != 0 || err != nil {
			t.Fatalf("second Upgrade = %d, %v; want nothing moved", n, err)
		}
		if uid, err := s.Session(ctx, "a"); uid != "005A" || err != nil {
			t.Errorf("session a = %q, %v", uid, err)
		}
		s.rdb.Del(ctx, v1+"sess:b")
	})
}
