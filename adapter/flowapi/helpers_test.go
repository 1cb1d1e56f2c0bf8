package flowapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/flowapi"
	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// Users in the fake directory (flowapi.Users).
var (
	alexID    = flowapi.To18("005000000000AaA") // ext 1001, regular phone
	blairID   = flowapi.To18("005000000000BbB") // ext 2001, hot desk
	noPhoneID = flowapi.To18("005000000000CcC") // no extension
	ghostID   = flowapi.To18("005000000000DdD") // extension not on the switch
	missingID = flowapi.To18("005000000000ZzZ") // not a user
)

type fakeUsers map[string]salesforce.User

// countingUsers counts reads (the Salesforce API calls a real org would
// see).
type countingUsers struct {
	fakeUsers
	n int
}

func (c *countingUsers) User(ctx context.Context, id string) (salesforce.User, error) {
	c.n++
	return c.fakeUsers.User(ctx, id)
}

func (f fakeUsers) User(_ context.Context, id string) (salesforce.User, error) {
	u, ok := f[id]
	if !ok {
		return salesforce.User{}, &salesforce.Error{StatusCode: http.StatusNotFound, ErrorCode: "NOT_FOUND", Message: "no such user"}
	}
	return u, nil
}

var users = fakeUsers{
	alexID:    {ID: alexID, Username: "alex@example.com", Name: "Alex Agent", Extension: "1001"},
	blairID:   {ID: blairID, Username: "blair@example.com", Name: "Blair Baker", Extension: "2001"},
	noPhoneID: {ID: noPhoneID, Username: "nophone@example.com", Name: "No Phone"},
	ghostID:   {ID: ghostID, Username: "ghost@example.com", Name: "Ghost", Extension: "9999"},
}

const (
	ncIssuer   = "salesforce-org-00D000000000001"
	ncAudience = "https://cti.example.com"
	secret     = "0123456789abcdef0123456789abcdef-secret"
)

// env is a Flow API over the simulator, a miniredis store and fake users.
type env struct {
	api   *flowapi.API
	srv   *httptest.Server
	clock *sim.FakeClock
	svc   *adapter.Service
	store *redisstore.Store
	sim   *sim.Sim
	key   *rsa.PrivateKey
	users *countingUsers
	mr    *miniredis.Miniredis
}

var testKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

var otherKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func newEnv(t testing.TB, tweak func(*flowapi.AuthConfig)) *env {
	t.Helper()
	clock := sim.NewFakeClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	sw, err := sim.New(sim.DemoConfig(), clock)
	if err != nil {
		t.Fatal(err)
	}
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	st := redisstore.New(rdb, "flowtest:", clock.Now)
	svc := adapter.NewService(sw, nil, st, st, "test", zerolog.Nop())
	svc.Now = clock.Now
	auth := flowapi.AuthConfig{
		NamedCredential: &flowapi.NamedCredential{Issuer: ncIssuer, Audience: ncAudience, Key: &testKey.PublicKey, Scopes: flowapi.AllScopes},
		Clients: []flowapi.Client{
			{ID: "flows", Secret: secret, Scopes: flowapi.AllScopes},
			{ID: "reader", Secret: secret + "-reader", Scopes: []string{flowapi.ScopeCodesRead, flowapi.ScopePresenceRead}},
		},
		RatePerMinute: 1000,
	}
	if tweak != nil {
		tweak(&auth)
	}
	counted := &countingUsers{fakeUsers: users}
	api := flowapi.New(flowapi.Config{Service: svc, Users: counted, Auth: auth, PublicURL: ncAudience, Log: zerolog.Nop(), Now: clock.Now})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &env{api: api, srv: srv, clock: clock, svc: svc, store: st, sim: sw, key: testKey, users: counted, mr: mr}
}

// jwtFor mints a Named Credential style JWT; edit changes its claims.
func (e *env) jwtFor(t testing.TB, edit func(jwt.MapClaims)) string {
	t.Helper()
	now := e.clock.Now()
	c := jwt.MapClaims{"iss": ncIssuer, "sub": "flow@example.com", "aud": ncAudience, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix()}
	if edit != nil {
		edit(c)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(e.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// resp is an answer: status, headers and the decoded JSON body.
type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r resp) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r resp) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func (e *env) do(t *testing.T, method, path, token string, body any) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, req)
}

func send(t testing.TB, req *http.Request) resp {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object (%v): %s", req.Method, req.URL.Path, err, raw)
		}
	}
	return r
}

// wantError checks a documented JSON error.
func wantError(t *testing.T, r resp, status int, code, msgPart string) {
	t.Helper()
	if r.status != status || r.errCode() != code || !strings.Contains(r.errMessage(), msgPart) {
		t.Errorf("got %d %q %q, want %d %q with message containing %q", r.status, r.errCode(), r.errMessage(), status, code, msgPart)
	}
}
