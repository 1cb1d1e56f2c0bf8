package main

import (
	"net/http"
	"testing"

	"github.com/switchboard-cti/switchboard/adapter"
)

// The agent API findings of a newcomer's test, each through the public
// HTTP path.

func TestAgentAPIFavoriteIDsArePercentDecoded(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	count := func() int {
		var fs struct{ Favorites []adapter.Favorite }
		a.do(t, "GET", "/api/v1/favorites", token, nil, &fs)
		return len(fs.Favorites)
	}
	for _, tc := range []struct{ name, path string }{
		// What the softphone sends: encodeURIComponent("+14155550123").
		{"an id escaped as %2B", "/api/v1/favorites/%2B14155550123"},
		{"an id with a raw +", "/api/v1/favorites/+14155550123"},
		{"an id escaped as %2b", "/api/v1/favorites/%2b14155550123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st := a.do(t, "POST", "/api/v1/favorites", token, `{"name":"Lucy Hall","number":"+14155550123"}`, nil); st != http.StatusCreated {
				t.Fatalf("add: %d", st)
			}
			if st := a.do(t, "DELETE", tc.path, token, nil, nil); st != http.StatusNoContent {
				t.Fatalf("DELETE %s: %d, want 204", tc.path, st)
			}
			if n := count(); n != 0 {
				t.Fatalf("%d favorites left after the delete", n)
			}
		})
	}
	t.Run("an id with an escaped slash", func(t *testing.T) {
		if st := a.do(t, "POST", "/api/v1/favorites", token, `{"id":"team/sales","name":"Sales","number":"+14155550124"}`, nil); st != http.StatusCreated {
			t.Fatalf("add: %d", st)
		}
		if st := a.do(t, "DELETE", "/api/v1/favorites/team%2Fsales", token, nil, nil); st != http.StatusNoContent {
			t.Fatalf("DELETE team%%2Fsales: %d, want 204", st)
		}
	})
	t.Run("an unknown escaped id is a JSON 404", func(t *testing.T) {
		var e struct {
			Error struct{ Code, Message string }
		}
		if st := a.do(t, "DELETE", "/api/v1/favorites/%2B19995550000", token, nil, &e); st != http.StatusNotFound || e.Error.Code != "not_found" {
			t.Fatalf("got %d %+v, want 404 not_found", st, e)
		}
	})
}
