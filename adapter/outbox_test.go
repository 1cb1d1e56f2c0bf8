package adapter_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// recordingCRM is a CRM that accepts every Task write and records each
// Collections request: the AsUsername of each Task in it.
type recordingCRM struct {
	adapter.CRM // nil: the outbox calls only the methods below

	mu       sync.Mutex
	requests [][]string
	n        int
}

func (c *recordingCRM) CreateTasks(_ context.Context, ts []salesforce.Task) ([]salesforce.SaveResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	users := make([]string, len(ts))
	res := make([]salesforce.SaveResult, len(ts))
	for i, t := range ts {
		users[i] = t.AsUsername
		c.n++
		res[i] = salesforce.SaveResult{ID: fmt.Sprintf("00T00000000%04dAAA", c.n), Success: true}
	}
	sort.Strings(users)
	c.requests = append(c.requests, users)
	return res, nil
}

func (c *recordingCRM) UpdateTasks(ctx context.Context, _ []string, ts []salesforce.Task) ([]salesforce.SaveResult, error) {
	return c.CreateTasks(ctx, ts)
}

func (c *recordingCRM) FindCallTasks(context.Context, []string) (map[salesforce.CallTaskKey]string, error) {
	return nil, nil
}

// TestCallLogsOfManyAgentsShareACollectionsRequest: written as the
// integration user (the default), the call logs of different agents go out
// together; written as each agent (SWITCHBOARD_SF_WRITE_AS=agent), one
// request per agent, since a request carries one user's token. (The load
// smoke showed one request per Task: every job carries its agent's
// username, and the outbox grouped by it even when the integration user
// wrote them all.)
func TestCallLogsOfManyAgentsShareACollectionsRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		asAgent bool
		want    [][]string
	}{
		{"as the integration user: one request for three agents", false, [][]string{{"", "", "", ""}}},
		{"as each agent: one request per agent", true, [][]string{{"a1@x"}, {"a2@x", "a2@x"}, {"a3@x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mr := miniredis.RunT(t)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { rdb.Close() })
			now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
			st := redisstore.New(rdb, "outboxtest:", func() time.Time { return now })
			crm := &recordingCRM{}
			svc := adapter.NewService(nil, crm, st, st, "test", zerolog.Nop())
			svc.Now = func() time.Time { return now }
			svc.Outbox.AsAgent = tc.asAgent
			ctx := context.Background()
			for i, user := range []string{"a1@x", "a2@x", "a2@x", "a3@x"} {
				id := fmt.Sprintf("call-%d", i)
				ext := fmt.Sprintf("10%02d", i)
				job := adapter.TaskJob{Key: id + "/" + ext, UserID: "005000000000001AAA", Extension: ext, CallID: id, Created: now, AsUsername: user,
					Task: salesforce.Task{Subject: "Call: Inbound", OwnerID: "005000000000001AAA", CallType: "Inbound", CallObject: id}}
				if err := st.EnqueueTask(ctx, job); err != nil {
					t.Fatal(err)
				}
			}
			svc.FlushOutbox(ctx)
			sort.Slice(crm.requests, func(i, j int) bool { return crm.requests[i][0] < crm.requests[j][0] })
			if diff := cmp.Diff(tc.want, crm.requests); diff != "" {
				t.Errorf("Collections requests by the AsUsername of their Tasks (-want +got)\n%s", diff)
			}
		})
	}
}
