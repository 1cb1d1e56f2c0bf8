package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestManyLeasesAreClaimedRenewedAndReleasedInOneRoundTrip(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, _ *fakeNow) {
		ctx := context.Background()
		names := make([]string, 1203) // more than two script batches
		for i := range names {
			names[i] = fmt.Sprintf("monitor:%d", 100000+i)
		}
		if ok, err := s.Claim(ctx, names[7], "b", time.Minute); err != nil || !ok {
			t.Fatalf("b claims one: %v %v", ok, err)
		}
		got, err := s.ClaimMany(ctx, names, "a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]bool, len(names))
		for i := range want {
			want[i] = i != 7
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("a claims all but b's (-want +got):\n%s", diff)
		}
		if got, err = s.ClaimMany(ctx, names, "a", time.Minute); err != nil || cmp.Diff(want, got) != "" {
			t.Fatalf("a renews its own: %v", err)
		}
		if err := s.ReleaseMany(ctx, names, "a"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Claim(ctx, names[0], "c", time.Minute); err != nil || !ok {
			t.Fatalf("after release c claims: %v %v", ok, err)
		}
		if ok, _ := s.Claim(ctx, names[7], "c", time.Minute); ok {
			t.Fatal("a's release freed b's lease")
		}
		if got, err := s.ClaimMany(ctx, nil, "a", time.Minute); err != nil || len(got) != 0 {
			t.Fatalf("no names: %v %v", got, err)
		}
	})
}
