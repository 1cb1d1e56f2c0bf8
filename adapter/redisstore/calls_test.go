package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

func TestUpdateCallLosesNoConcurrentChange(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx := context.Background()
		base := adapter.CallRecord{ID: "c-1", Extension: "1001", Started: now.Now(), Matches: []salesforce.Match{}, Log: adapter.CallLog{QuickNotes: []string{}}}
		if err := s.PutCall(ctx, base); err != nil {
			t.Fatal(err)
		}
		// 8 writers each add their own quick notes; none may lose
		// another's, and the Task id written beside them survives.
		const writers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					_, err := s.UpdateCall(ctx, "1001", "c-1", func(rec *adapter.CallRecord, exists bool) (adapter.CallChange, error) {
						if !exists {
							return adapter.CallKeep, adapter.ErrNotFound
						}
						rec.Log.QuickNotes = append(rec.Log.QuickNotes, fmt.Sprintf("%d-%d", w, i))
						return adapter.CallPut, nil
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		if err := s.SetCallTask(ctx, "1001", "c-1", "00T000000000001AAA"); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := s.Call(ctx, "1001", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Log.QuickNotes) != writers*each {
			t.Errorf("quick notes = %d, want %d (a stale write lost some)", len(got.Log.QuickNotes), writers*each)
		}
		if got.TaskID != "00T000000000001AAA" {
			t.Errorf("TaskID = %q, want the one SetCallTask wrote", got.TaskID)
		}
	})
}

func TestUpdateCallPassesOnItsFunctionsError(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, _ *fakeNow) {
		_, err := s.UpdateCall(context.Background(), "1001", "none", func(rec *adapter.CallRecord, exists bool) (adapter.CallChange, error) {
			if exists {
				t.Error("exists = true for a call never stored")
			}
			return adapter.CallKeep, fmt.Errorf("call none: %w", adapter.ErrConflict)
		})
		if !errors.Is(err, adapter.ErrConflict) || errors.Is(err, adapter.ErrUnavailable) {
			t.Errorf("err = %v, want the function's ErrConflict as it is", err)
		}
	})
}

func TestSetCallTaskNeverRecreatesADeletedCall(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx := context.Background()
		if err := s.SetCallTask(ctx, "1001", "gone", "00T000000000001AAA"); err != nil {
			t.Fatal(err)
		}
		calls, err := s.Calls(ctx, "1001")
		if err != nil || len(calls) != 0 {
			t.Errorf("Calls = %v, %v; want none", calls, err)
		}
		if _, err := s.Call(ctx, "1001", "gone"); !errors.Is(err, adapter.ErrNotFound) {
			t.Errorf("Call = %v, want ErrNotFound", err)
		}
	})
}

func TestCallsManyReadsEveryDevicesCallsAtOnce(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx := context.Background()
		// Devices spread over the hash slots (on a Cluster, over masters).
		exts := []string{"1001", "1002", "1003", "2001", "100000", "100001"}
		want := map[string][]adapter.CallRecord{}
		for i, ext := range exts[:4] {
			for j := range 2 {
				c := adapter.CallRecord{ID: fmt.Sprintf("c-%s-%d", ext, j), Extension: ext, State: pbx.Connected,
					Started: now.Now().Add(time.Duration(i*10+j) * time.Second), Matches: []salesforce.Match{}, Log: adapter.CallLog{QuickNotes: []string{}}}
				if err := s.PutCall(ctx, c); err != nil {
					t.Fatal(err)
				}
				want[ext] = append(want[ext], c)
			}
		}
		if err := s.SetCallTask(ctx, "1002", "c-1002-1", "00T000000000001AAA"); err != nil {
			t.Fatal(err)
		}
		want["1002"][1].TaskID = "00T000000000001AAA"
		got, err := s.CallsMany(ctx, exts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("CallsMany (-want +got):\n%s", diff)
		}
		for _, ext := range exts {
			one, err := s.Calls(ctx, ext)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[ext], one, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Calls(%s) differs from CallsMany (-many +one):\n%s", ext, diff)
			}
		}
		if got, err := s.CallsMany(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("no devices: %v, %v", got, err)
		}
	})
}
