package salesforce_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

func TestFaultsSurfaceAsTypedErrorsOrRetries(t *testing.T) {
	search := "/services/data/v67.0/search"
	tests := []struct {
		name         string
		fault        fakeorg.Fault
		call         string // "find" (GET) or "task" (POST)
		wantErr      error  // nil: the call succeeds
		wantRequests int64  // REST requests reaching the org; -1: not checked
	}{
		{"one 503 on a read is retried once", fakeorg.Fault{Kind: fakeorg.Unavailable503, Count: 1, PathPrefix: search}, "find", nil, 2},
		{"a lasting 503 is ErrUnavailable", fakeorg.Fault{Kind: fakeorg.Unavailable503}, "find", salesforce.ErrUnavailable, 2},
		{"a maintenance HTML page is ErrUnavailable", fakeorg.Fault{Kind: fakeorg.HTMLPage, PathPrefix: search}, "find", salesforce.ErrUnavailable, 2},
		{"one dropped connection on a read is retried", fakeorg.Fault{Kind: fakeorg.DropConnection, Count: 1, PathPrefix: search}, "find", nil, -1},
		{"lasting dropped connections are ErrUnavailable", fakeorg.Fault{Kind: fakeorg.DropConnection, PathPrefix: search}, "find", salesforce.ErrUnavailable, -1},
		{"a dropped connection on a create is not repeated", fakeorg.Fault{Kind: fakeorg.DropConnection, PathPrefix: "/services/data/v67.0/sobjects"}, "task", salesforce.ErrUnavailable, 1},
		{"a 503 on a create is not repeated", fakeorg.Fault{Kind: fakeorg.Unavailable503, PathPrefix: "/services/data/v67.0/sobjects"}, "task", salesforce.ErrUnavailable, 1},
		{"an expired session re-mints the token and retries once", fakeorg.Fault{Kind: fakeorg.ExpiredSession, Count: 1}, "task", nil, 2},
		{"a session refused again after re-minting is ErrUnauthorized", fakeorg.Fault{Kind: fakeorg.ExpiredSession}, "find", salesforce.ErrUnauthorized, 2},
		{"the org's request limit is ErrLimitExceeded", fakeorg.Fault{Kind: fakeorg.LimitExceeded}, "find", salesforce.ErrLimitExceeded, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			if _, err := e.tokens.Token(ctx); err != nil { // mint before the fault
				t.Fatal(err)
			}
			e.org.Inject(tc.fault)
			var err error
			switch tc.call {
			case "find":
				_, err = e.client.FindByPhone(ctx, fakeorg.KnownCaller)
			case "task":
				_, err = e.client.CreateTask(ctx, salesforce.Task{Subject: "Call", CallType: "Inbound"})
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			// net/http itself retries a GET whose reused connection dropped,
			// so for those only the outcome is checked.
			if got := e.org.Requests(); tc.wantRequests >= 0 && int64(got) != tc.wantRequests {
				t.Errorf("the org saw %d requests, want %d", got, tc.wantRequests)
			}
			if err != nil && strings.Contains(err.Error(), "<") {
				t.Errorf("error %q leaks the body", err)
			}
		})
	}
}

func TestASlowOrgEndsWithTheCallersDeadline(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.tokens.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.org.Inject(fakeorg.Fault{Kind: fakeorg.Latency, Latency: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.client.FindByPhone(ctx, fakeorg.KnownCaller)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestLimitExceededHoldsWritesBackButNotLookups(t *testing.T) {
	e := newEnv(t, func(c *salesforce.Config) { c.LimitBackoff = time.Minute })
	ctx := context.Background()
	task := salesforce.Task{Subject: "Call", CallObject: "c-limit", CallType: "Inbound"}
	e.org.SetUsage(15000)
	if _, err := e.client.CreateTask(ctx, task); !errors.Is(err, salesforce.ErrLimitExceeded) {
		t.Fatalf("err = %v, want ErrLimitExceeded", err)
	}
	sent := e.client.Requests()
	for range 10 {
		if _, err := e.client.CreateTask(ctx, task); !errors.Is(err, salesforce.ErrLimitExceeded) {
			t.Fatalf("during back-off err = %v, want ErrLimitExceeded", err)
		}
	}
	if got := e.client.Requests(); got != sent {
		t.Errorf("sent %d writes while backing off", got-sent)
	}
	// A ringing call's lookup still goes to the org.
	_, _ = e.client.FindByPhone(ctx, fakeorg.KnownCaller)
	if got := e.client.Requests(); got != sent+1 {
		t.Errorf("a lookup during the back-off sent %d requests, want 1", got-sent)
	}
	sent = e.client.Requests()
	e.clock.Advance(61 * time.Second)
	if _, err := e.client.CreateTask(ctx, task); !errors.Is(err, salesforce.ErrLimitExceeded) {
		t.Fatalf("err = %v, want ErrLimitExceeded from the org", err)
	}
	if got := e.client.Requests(); got != sent+1 {
		t.Errorf("after the back-off the client sent %d requests, want 1", got-sent)
	}
	e.clock.Advance(61 * time.Second) // the back-off doubled to 2 minutes
	if _, err := e.client.CreateTask(ctx, task); !errors.Is(err, salesforce.ErrLimitExceeded) || e.client.Requests() != sent+1 {
		t.Fatalf("err = %v after 1 of 2 minutes, requests %d; want a local refusal", err, e.client.Requests()-sent)
	}
	e.clock.Advance(24 * time.Hour) // a new day: the org has capacity again
	if _, err := e.client.CreateTask(ctx, task); err != nil {
		t.Fatalf("after the limit reset err = %v", err)
	}
}

func TestLimitsComeFromTheSforceLimitInfoHeader(t *testing.T) {
	e := newEnv(t, nil)
	e.org.SetUsage(1234)
	if err := e.client.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	used, max := e.client.Limits()
	if used != 1235 || max != 15000 {
		t.Errorf("Limits() = %d, %d; want 1235, 15000", used, max)
	}
}

func TestAnExpiredSessionUnderLoadIsRefreshedOnce(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.tokens.Token(ctx); err != nil {
		t.Fatal(err)
	}
	e.org.RevokeAll()
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.client.FindByPhone(ctx, fmt.Sprintf("+1415555%04d", 1000+i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := e.tokens.Mints(); got != 2 {
		t.Errorf("Mints() = %d, want 2 (the first token and one shared refresh)", got)
	}
}

func TestManyConcurrentLookups(t *testing.T) {
	e := newEnv(t, func(c *salesforce.Config) { c.Cache = salesforce.NewMemoryCache(nil) })
	numbers := []string{fakeorg.KnownCaller, fakeorg.SharedNumber, fakeorg.UnknownCaller, fakeorg.LeadNumber, fakeorg.PersonAccountNumber}
	want := map[string]int{fakeorg.KnownCaller: 1, fakeorg.SharedNumber: 2, fakeorg.UnknownCaller: 0, fakeorg.LeadNumber: 1, fakeorg.PersonAccountNumber: 1}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := numbers[i%len(numbers)]
			r, err := e.client.ScreenPop(context.Background(), salesforce.PopRequest{ANI: n})
			if err != nil {
				t.Error(err)
				return
			}
			if len(r.Matches) != want[n] {
				t.Errorf("%s: %d matches, want %d", n, len(r.Matches), want[n])
			}
		}()
	}
	wg.Wait()
}
