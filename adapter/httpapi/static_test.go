package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

func TestSoftphoneConfigSaysWhenTheSoftphoneIsOpenedAwayFromThePublicURL(t *testing.T) {
	static := fstest.MapFS{"softphone/index.html": {Data: []byte("<!doctype html>")}}
	tests := []struct {
		name       string
		demo       bool
		public     string
		url        string
		header     map[string]string
		wantBase   string
		wantIssue  bool
		wantLogged int
	}{
		{"the public URL itself", false, "https://cti.example.com", "https://cti.example.com/softphone/config.json", nil, "https://cti.example.com", false, 0},
		{"the public URL behind a proxy", false, "https://cti.example.com", "http://10.0.0.5:8080/softphone/config.json",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cti.example.com"}, "https://cti.example.com", false, 0},
		{"another host name outside demo mode", false, "https://cti.example.com", "http://10.0.0.5:8080/softphone/config.json", nil, "https://cti.example.com", true, 1},
		{"another port outside demo mode", false, "http://127.0.0.1:8080", "http://127.0.0.1:9000/softphone/config.json", nil, "http://127.0.0.1:8080", true, 1},
		{"any host name in demo mode", true, "http://127.0.0.1:8080", "http://localhost:9000/softphone/config.json", nil, "http://localhost:9000", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := New(Config{Static: static, PublicURL: tc.public, Demo: tc.demo, FrameAncestors: "'self' https://*.force.com", Log: zerolog.New(&logs)})
			for i := 0; i < 2; i++ { // the mismatch is logged once per origin
				req := httptest.NewRequest(http.MethodGet, tc.url, nil)
				for k, v := range tc.header {
					req.Header.Set(k, v)
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				var got struct {
					Demo           bool
					PublicURL      string `json:"publicUrl"`
					FrameAncestors []string
					Problem        *errorBody
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.PublicURL != tc.wantBase || got.Demo != tc.demo {
					t.Errorf("publicUrl %q demo %v, want %q %v", got.PublicURL, got.Demo, tc.wantBase, tc.demo)
				}
				if diff := cmp.Diff([]string{"'self'", "https://*.force.com"}, got.FrameAncestors); diff != "" {
					t.Errorf("frameAncestors (-want +got):\n%s", diff)
				}
				if (got.Problem != nil) != tc.wantIssue {
					t.Fatalf("problem %+v, want one: %v", got.Problem, tc.wantIssue)
				}
				if tc.wantIssue && (got.Problem.Code != "public_url_mismatch" || !strings.Contains(got.Problem.Message, "SWITCHBOARD_PUBLIC_URL")) {
					t.Errorf("problem %+v does not say what to set", got.Problem)
				}
			}
			if n := strings.Count(logs.String(), "another origin than SWITCHBOARD_PUBLIC_URL"); n != tc.wantLogged {
				t.Errorf("logged %d times, want %d:\n%s", n, tc.wantLogged, logs.String())
			}
		})
	}
}
