package salesforce_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

const testClientID = "3MVG9demo.client.id"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// mustKey returns an RSA key shared by the tests (generating one is slow).
func mustKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a demo org on a test server and a client pointed at it.
type env struct {
	org    *fakeorg.Org
	srv    *httptest.Server
	clock  *clock
	tokens *salesforce.JWTSource
	client *salesforce.Client
}

// newEnv starts a demo org and a client; tweak adjusts the client config.
func newEnv(t testing.TB, tweak func(*salesforce.Config)) *env {
	t.Helper()
	return newEnvWith(t, fakeorg.Options{}, tweak)
}

// newEnvWith is newEnv with org options (clock, client id and key are
// set here).
func newEnvWith(t testing.TB, opt fakeorg.Options, tweak func(*salesforce.Config)) *env {
	t.Helper()
	clk := newClock()
	key := mustKey(t)
	opt.Now, opt.ClientID, opt.PublicKey = clk.Now, testClientID, &key.PublicKey
	org := fakeorg.Demo(opt)
	srv := httptest.NewServer(org.Handler())
	t.Cleanup(srv.Close)
	hc := &http.Client{Timeout: 5 * time.Second}
	jwtCfg := salesforce.JWTConfig{LoginURL: srv.URL, ClientID: testClientID, Username: fakeorg.IntegrationUsername, Key: key, HTTPClient: hc, Now: clk.Now}
	tokens := salesforce.NewJWTSource(jwtCfg)
	cfg := salesforce.Config{HTTPClient: hc, Tokens: tokens, Now: clk.Now, UserTokens: salesforce.NewJWTUserSources(jwtCfg)}
	if tweak != nil {
		tweak(&cfg)
	}
	return &env{org: org, srv: srv, clock: clk, tokens: tokens, client: salesforce.NewClient(cfg)}
}
