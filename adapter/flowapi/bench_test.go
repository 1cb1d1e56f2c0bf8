package flowapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-cti/switchboard/adapter/flowapi"
	"github.com/switchboard-cti/switchboard/internal/floor"
)

// The cost of one authenticated Flow API call (GET /codes, served in
// process: auth, rate limit, scope, the switch's codes, JSON), by kind of
// token, against the floor of one real Redis round trip measured in the
// same run (BenchmarkRedisRoundTrip; skipped without Redis).
func benchCodes(b *testing.B, tok string, e *env) {
	req := httptest.NewRequest("GET", flowapi.Base+"/codes", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		e.api.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkCodesWithNamedCredentialJWT(b *testing.B) {
	e := newEnv(b, func(c *flowapi.AuthConfig) { c.RatePerMinute = 1 << 30 })
	benchCodes(b, e.jwtFor(b, nil), e)
}

func BenchmarkCodesWithClientCredentialsToken(b *testing.B) {
	e := newEnv(b, func(c *flowapi.AuthConfig) { c.RatePerMinute = 1 << 30 })
	benchCodes(b, mustToken(b, e, "flows", secret, ""), e)
}

// BenchmarkRedisRoundTrip is the house floor for speed figures, measured
// in the same run (internal/floor). Skipped without a Redis.
func BenchmarkRedisRoundTrip(b *testing.B) { floor.Benchmark(b) }
