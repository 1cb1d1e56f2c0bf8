package redisstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// backends runs a test on the real Redis (CI starts one; skipped with a
// message when none answers), on a real Redis Cluster when
// SWITCHBOARD_TEST_REDIS_CLUSTER names its nodes (make cluster-test starts
// one: scripts/redis-cluster.sh), on the master behind a real Sentinel
// when SWITCHBOARD_TEST_REDIS_SENTINEL names it (the same script), and on
// miniredis.
func backends(t *testing.T, f func(t *testing.T, s *Store, now *fakeNow)) {
	t.Run("on real redis", func(t *testing.T) {
		rdb := realRedis(t)
		now := &fakeNow{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
		f(t, New(rdb, testPrefix(t, rdb), now.Now), now)
	})
	t.Run("on redis cluster", func(t *testing.T) {
		rdb := clusterRedis(t)
		now := &fakeNow{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
		f(t, New(rdb, testPrefix(t, rdb), now.Now), now)
	})
	t.Run("on redis sentinel", func(t *testing.T) {
		rdb := sentinelRedis(t)
		now := &fakeNow{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
		f(t, New(rdb, testPrefix(t, rdb), now.Now), now)
	})
	t.Run("on miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { rdb.Close() })
		now := &fakeNow{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
		f(t, New(rdb, "sb:", now.Now), now)
	})
}

// realRedis is a client of the real Redis server the tests use
// (SWITCHBOARD_TEST_REDIS_URL, default 127.0.0.1:6379); the test is
// skipped with a message when none answers.
func realRedis(t testing.TB) redis.UniversalClient {
	t.Helper()
	u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	rdb, err := NewClient(u, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Skipf("no Redis at %s: %v (.ci/run starts one)", u, err)
	}
	return rdb
}

// clusterRedis is a client of the Redis Cluster named by
// SWITCHBOARD_TEST_REDIS_CLUSTER (host:port,host:port,...); the test is
// skipped with a message when it is unset.
func clusterRedis(t testing.TB) redis.UniversalClient {
	t.Helper()
	addrs := os.Getenv("SWITCHBOARD_TEST_REDIS_CLUSTER")
	if addrs == "" {
		t.Skip("no Redis Cluster: SWITCHBOARD_TEST_REDIS_CLUSTER is unset (make cluster-test starts one with scripts/redis-cluster.sh)")
	}
	rdb, err := NewClient("redis+cluster://"+addrs, "")
	if err != nil {
		t.Fatalf("SWITCHBOARD_TEST_REDIS_CLUSTER: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis Cluster at %s does not answer: %v", addrs, err)
	}
	return rdb
}

// sentinelRedis is a client of the master "mymaster" found through the
// Sentinel named by SWITCHBOARD_TEST_REDIS_SENTINEL (host:port); the test
// is skipped with a message when it is unset.
func sentinelRedis(t testing.TB) redis.UniversalClient {
	t.Helper()
	addr := os.Getenv("SWITCHBOARD_TEST_REDIS_SENTINEL")
	if addr == "" {
		t.Skip("no Redis Sentinel: SWITCHBOARD_TEST_REDIS_SENTINEL is unset (make cluster-test starts one with scripts/redis-cluster.sh)")
	}
	rdb, err := NewClient("redis+sentinel://"+addr+"/0?master_name=mymaster", "")
	if err != nil {
		t.Fatalf("SWITCHBOARD_TEST_REDIS_SENTINEL: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis behind the Sentinel at %s does not answer: %v", addr, err)
	}
	return rdb
}

// runPrefix starts every key this test process writes to a real Redis.
var runPrefix = fmt.Sprintf("sbtest:rs%d:", time.Now().UnixNano())

// TestMain fails the run when a test left keys in a real Redis (the
// shared server, the test Cluster on every master, the Sentinel's master).
func TestMain(m *testing.M) {
	code := m.Run()
	urls := []string{os.Getenv("SWITCHBOARD_TEST_REDIS_URL")}
	if urls[0] == "" {
		urls[0] = "redis://127.0.0.1:6379/0"
	}
	if a := os.Getenv("SWITCHBOARD_TEST_REDIS_CLUSTER"); a != "" {
		urls = append(urls, "redis+cluster://"+a)
	}
	if a := os.Getenv("SWITCHBOARD_TEST_REDIS_SENTINEL"); a != "" {
		urls = append(urls, "redis+sentinel://"+a+"/0?master_name=mymaster")
	}
	for _, u := range urls {
		rdb, err := NewClient(u, "")
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var mu sync.Mutex
		var left []string
		_ = ScanKeys(ctx, rdb, GlobEscape(runPrefix)+"*", func(_ redis.Cmdable, keys []string) error {
			mu.Lock()
			left = append(left, keys...)
			mu.Unlock()
			return nil
		})
		cancel()
		rdb.Close()
		if len(left) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: tests left %d Redis keys at %s, e.g. %s\n", len(left), u, left[0])
			code = 1
		}
	}
	os.Exit(code)
}

// testPrefix is a key prefix of the test's own; every key under it is
// deleted when the test ends, on every master.
func testPrefix(t testing.TB, rdb redis.UniversalClient) string {
	prefix := fmt.Sprintf("%s%s:%d:", runPrefix, t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		if _, err := DeleteKeys(context.Background(), rdb, prefix); err != nil {
			t.Errorf("deleting test keys: %v", err)
		}
	})
	return prefix
}

type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) Add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func TestCallsAreStoredPerDevice(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx := context.Background()
		c1 := adapter.CallRecord{ID: "c-1", Extension: "1001", Direction: pbx.Inbound, State: pbx.Alerting, Started: now.Now(),
			Matches: []salesforce.Match{{ID: "003000000000001AAA", Name: "Lucy Hall", Type: "Contact"}}, Log: adapter.CallLog{QuickNotes: []string{}}}
		c2 := adapter.CallRecord{ID: "c-2", Extension: "1001", Started: now.Now().Add(time.Second), Matches: []salesforce.Match{}, Log: adapter.CallLog{QuickNotes: []string{}}}
		for _, c := range []adapter.CallRecord{c2, c1} {
			if err := s.PutCall(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Call(ctx, "1001", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c1, got); diff != "" {
			t.Errorf("Call (-want +got):\n%s", diff)
		}
		all, err := s.Calls(ctx, "1001")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].ID != "c-1" || all[1].ID != "c-2" {
			t.Errorf("Calls = %v, want c-1 then c-2", all)
		}
		if _, err := s.Call(ctx, "1002", "c-1"); !errors.Is(err, adapter.ErrNotFound) {
			t.Errorf("another device's call: err = %v, want ErrNotFound", err)
		}
		if err := s.DeleteCall(ctx, "1001", "c-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Call(ctx, "1001", "c-1"); !errors.Is(err, adapter.ErrNotFound) {
			t.Errorf("deleted call: err = %v, want ErrNotFound", err)
		}
	})
}

func TestLeaseIsHeldByOneOwnerAtATime(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, _ *fakeNow) {
		ctx := context.Background()
		for _, step := range []struct {
			owner string
			want  bool
		}{{"a", true}, {"b", false}, {"a", true}} {
			got, err := s.Claim(ctx, "monitor:1001", step.owner, time.Minute)
			if err != nil || got != step.want {
				t.Fatalf("Claim by %s = %v, %v; want %v", step.owner, got, err, step.want)
			}
		}
		if err := s.Release(ctx, "monitor:1001", "b"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Claim(ctx, "monitor:1001", "b", time.Minute); got {
			t.Fatal("b took a lease a still holds after b's release")
		}
		if err := s.Release(ctx, "monitor:1001", "a"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Claim(ctx, "monitor:1001", "b", time.Minute); !got {
			t.Fatal("b could not take the released lease")
		}
	})
}

func TestOutboxHandsEachJobOutOnceAndRetriesLater(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx := context.Background()
		job := adapter.TaskJob{Key: "c-1/1001", CallID: "c-1", Extension: "1001", Task: salesforce.Task{Subject: "Call"}, Created: now.Now()}
		if err := s.EnqueueTask(ctx, job); err != nil {
			t.Fatal(err)
		}
		got, err := s.NextTasks(ctx, "i1", 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].Key != "c-1/1001" {
			t.Fatalf("first NextTasks = %v, %v; want the job", got, err)
		}
		if again, _ := s.NextTasks(ctx, "i2", 10, time.Minute); len(again) != 0 {
			t.Fatalf("a job taken by i1 was handed to i2 too: %v", again)
		}
		if err := s.RetryTask(ctx, adapter.TaskJob{ID: got[0].ID, Key: got[0].Key, Attempts: 1, Created: job.Created, NotBefore: now.Now().Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if early, _ := s.NextTasks(ctx, "i1", 10, time.Minute); len(early) != 0 {
			t.Fatalf("a retried job came back before its backoff: %v", early)
		}
		now.Add(time.Second + time.Millisecond)
		due, err := s.NextTasks(ctx, "i1", 10, time.Minute)
		if err != nil || len(due) != 1 || due[0].Attempts != 1 {
			t.Fatalf("after backoff NextTasks = %v, %v; want the job with 1 attempt", due, err)
		}
		if err := s.FinishTask(ctx, due[0]); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.OutboxLen(ctx); n != 0 {
			t.Errorf("outbox length after finish = %d, want 0", n)
		}
	})
}

func TestFavoritesStopAtFiftyAndStayAlphabetical(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, _ *fakeNow) {
		ctx := context.Background()
		for i := 0; i < adapter.MaxFavorites; i++ {
			f := adapter.Favorite{ID: fmt.Sprintf("n%02d", i), Name: fmt.Sprintf("Name %02d", adapter.MaxFavorites-i), Number: "+1415555" + fmt.Sprintf("%04d", i)}
			if err := s.AddFavorite(ctx, "u1", f); err != nil {
				t.Fatalf("favorite %d: %v", i, err)
			}
		}
		err := s.AddFavorite(ctx, "u1", adapter.Favorite{ID: "extra", Name: "Extra", Number: "+14155559999"})
		if !errors.Is(err, adapter.ErrLimit) {
			t.Fatalf("51st favorite: err = %v, want ErrLimit", err)
		}
		if err := s.AddFavorite(ctx, "u1", adapter.Favorite{ID: "n00", Name: "Renamed", Number: "+14155550000"}); err != nil {
			t.Fatalf("updating an existing favorite at the limit: %v", err)
		}
		fs, err := s.Favorites(ctx, "u1")
		if err != nil || len(fs) != adapter.MaxFavorites {
			t.Fatalf("Favorites = %d, %v", len(fs), err)
		}
		if fs[0].Name != "Name 01" || fs[len(fs)-1].Name != "Renamed" {
			t.Errorf("not alphabetical: first %q last %q", fs[0].Name, fs[len(fs)-1].Name)
		}
		if err := s.RemoveFavorite(ctx, "u1", "nope"); !errors.Is(err, adapter.ErrNotFound) {
			t.Errorf("removing a missing favorite: err = %v, want ErrNotFound", err)
		}
	})
}

func TestHistoryListsAreTrimmedNewestFirst(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx := context.Background()
		for i := 0; i < 40; i++ {
			e := adapter.HistoryEntry{CallID: fmt.Sprintf("c-%d", i), Number: "+14155550123", Direction: "incoming", Missed: i%2 == 0, Time: now.Now()}
			if err := s.AddHistory(ctx, "u1", e); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			list      adapter.HistoryList
			wantLen   int
			wantFirst string
		}{
			{adapter.HistoryAll, 30, "c-39"},
			{adapter.HistoryMissed, 10, "c-38"},
			{adapter.HistoryReceived, 10, "c-39"},
			{adapter.HistoryOutgoing, 0, ""},
		} {
			got, err := s.History(ctx, "u1", tc.list)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.wantLen || (tc.wantLen > 0 && got[0].CallID != tc.wantFirst) {
				t.Errorf("%s: %d entries, first %v; want %d, first %s", tc.list, len(got), got, tc.wantLen, tc.wantFirst)
			}
		}
	})
}

func TestBusNumbersEventsPerDevice(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, _ *fakeNow) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan adapter.AgentEvent, 10)
		ready := make(chan struct{})
		go s.Listen(ctx, ready, func(ext string, ev adapter.AgentEvent) {
			if ext == "1001" {
				got <- ev
			}
		})
		<-ready
		for i := 0; i < 3; i++ {
			if err := s.Publish(ctx, "1001", adapter.AgentEvent{Type: adapter.EventDevice}); err != nil {
				t.Fatal(err)
			}
		}
		for want := uint64(1); want <= 3; want++ {
			select {
			case ev := <-got:
				if ev.Seq != want {
					t.Fatalf("seq %d, want %d", ev.Seq, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("event not delivered")
			}
		}
		if n, _ := s.Seq(ctx, "1001"); n != 3 {
			t.Errorf("Seq = %d, want 3", n)
		}
	})
}
