package main

// The security suite: every finding of the probe in issue 11 replayed
// against the whole program, each shown refused with its status and JSON
// error.

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter/redisstore"
)

// apiError is the JSON error body every endpoint answers.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// startProductionApp starts the program outside demo mode: a Salesforce
// org that is never called, a real key, https public URL.
func startProductionApp(t *testing.T, env map[string]string) *app {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		"SWITCHBOARD_SF_LOGIN_URL":        "https://login.example.invalid",
		"SWITCHBOARD_SF_CLIENT_ID":        "3MVG9-test",
		"SWITCHBOARD_SF_USERNAME":         "integration@example.invalid",
		"SWITCHBOARD_SF_PRIVATE_KEY_FILE": keyFile,
		"SWITCHBOARD_SESSION_KEYS":        testSessionKeys,
		"SWITCHBOARD_PUBLIC_URL":          "https://cti.example.invalid",
	}
	for k, v := range env {
		base[k] = v
	}
	return startApp(t, base)
}

// raw sends a request and returns the status, the headers and the body.
func (a *app) raw(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Jar: a.http.Jar,
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func mustRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// wantError checks a refusal: the status and the JSON error code.
func wantError(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: answer is not the JSON error body: %d %s", what, status, body)
	}
	if status != wantStatus || e.Error.Code != wantCode || e.Error.Message == "" {
		t.Fatalf("%s: %d %s, want %d with error code %q and a message", what, status, body, wantStatus, wantCode)
	}
}

func TestSimulatorControlAPIIsNotServedOutsideDemoMode(t *testing.T) {
	a := startProductionApp(t, nil)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/sim/v1/calls", ""},
		{"POST", "/sim/v1/calls", `{"from":"+14155550123","to":"1001"}`},
		{"POST", "/sim/v1/calls/c1/clear", ""},
		{"POST", "/sim/v1/calls/c1/dtmf", `{"digits":"1"}`},
		{"GET", "/sim/v1/devices", ""},
	} {
		st, _, b := a.raw(t, mustRequest(t, tc.method, a.URL+tc.path, strings.NewReader(tc.body)))
		wantError(t, tc.method+" "+tc.path, st, b, http.StatusNotFound, "not_found")
	}
}

func TestSimulatorControlAPINeedsItsTokenWhenEnabled(t *testing.T) {
	token := strings.Repeat("s", 40)
	a := startProductionApp(t, map[string]string{"SWITCHBOARD_SIM_API_TOKEN": token})
	for _, tc := range []struct{ name, auth string }{
		{"no token", ""},
		{"a wrong token", "Bearer " + strings.Repeat("x", 40)},
		{"the session-token scheme misused", "Basic " + token},
	} {
		req := mustRequest(t, "GET", a.URL+"/sim/v1/calls", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		st, _, b := a.raw(t, req)
		wantError(t, tc.name, st, b, http.StatusUnauthorized, "unauthorized")
	}
	req := mustRequest(t, "GET", a.URL+"/sim/v1/calls", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if st, _, b := a.raw(t, req); st != http.StatusOK {
		t.Fatalf("with the token: %d %s", st, b)
	}
}

func TestHSTSIsSentWhenServedOverHTTPS(t *testing.T) {
	a := startProductionApp(t, nil)
	_, h, _ := a.raw(t, mustRequest(t, "GET", a.URL+"/healthz", nil))
	if got := h.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Fatalf("Strict-Transport-Security = %q with an https public URL", got)
	}
	demo := startApp(t, nil)
	if _, h, _ := demo.raw(t, mustRequest(t, "GET", demo.URL+"/healthz", nil)); h.Get("Strict-Transport-Security") != "" {
		t.Fatalf("HSTS sent over plain http (demo mode)")
	}
}

func TestTheSocketEndsWhenItsSessionEnds(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_LOG_LEVEL": "info"})
	token := a.signIn(t)
	sock := a.connect(t, token)
	other := a.signIn(t) // a second session of the same user keeps its socket
	otherSock := a.connect(t, other)

	st, _, b := a.raw(t, withBearer(mustRequest(t, "POST", a.URL+"/auth/logout", nil), token))
	if st != http.StatusNoContent {
		t.Fatalf("logout: %d %s", st, b)
	}
	ev := sock.next()
	if ev.Type != "error" {
		t.Fatalf("after logout the socket sent %q, want an error", ev.Type)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := sock.conn.Read(ctx)
	if code := websocket.CloseStatus(err); code != 4401 {
		t.Fatalf("after logout: read %v (close code %d), want close 4401", err, code)
	}
	// The ended session's token is refused everywhere.
	st, _, b = a.raw(t, withBearer(mustRequest(t, "GET", a.URL+"/api/v1/state", nil), token))
	wantError(t, "state after logout", st, b, http.StatusUnauthorized, "unauthorized")

	otherSock.send(map[string]string{"type": "ping"})
	if ev := otherSock.next(); ev.Type != "pong" {
		t.Fatalf("the other session's socket: %q, want pong", ev.Type)
	}
	if !strings.Contains(a.logs.String(), `"reason":"session_ended"`) {
		t.Errorf("the dropped socket is not logged with its reason:\n%s", a.logs.String())
	}
}

func TestTheSocketEndsWhenItsSessionExpiresOrIsRevoked(t *testing.T) {
	a := startAppWith(t, nil, func(m *Main) { m.keepAlive = 20 * time.Millisecond })
	token := a.signIn(t)
	sock := a.connect(t, token)
	_, sid := tokenClaims(t, token)
	// Gone from the store: expired, revoked, or logged out on another
	// instance. The socket's next session check ends it.
	if err := a.Store.DeleteSession(context.Background(), sid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := sock.conn.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code != 4401 {
				t.Fatalf("read %v (close code %d), want close 4401", err, code)
			}
			break
		}
	}
}

func withBearer(r *http.Request, token string) *http.Request {
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

type claimAnswer struct {
	Type    string                 `json:"type"`
	CallID  string                 `json:"callId"`
	Granted bool                   `json:"granted"`
	Error   *struct{ Code string } `json:"error"`
}

func (s *agentSocket) claim(callID string) claimAnswer {
	s.t.Helper()
	s.send(map[string]string{"type": "claim_pop", "callId": callID})
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := s.conn.Read(ctx)
		cancel()
		if err != nil {
			s.t.Fatalf("claim %s: %v", callID, err)
		}
		var got claimAnswer
		_ = json.Unmarshal(b, &got)
		if got.Type == "pop_claim" && got.CallID == callID {
			return got
		}
	}
}

func TestPopClaimsOnlyForTheAgentsOwnRingingCallsAndRateLimited(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t) // Alex Agent, 1001
	sock := a.connect(t, token)
	theirs := a.place(t, "+14155550123", "1002") // another agent's call
	mine := a.place(t, "+14155550123", "1001")
	sock.waitFor("ringing", ringing(mine))

	for _, tc := range []struct{ name, id, code string }{
		{"a call id that does not exist", "no-such-call", "not_found"},
		{"another agent's call", theirs, "not_found"},
		{"an oversize call id", strings.Repeat("x", 200), "invalid_input"},
	} {
		got := sock.claim(tc.id)
		if got.Granted || got.Error == nil || got.Error.Code != tc.code {
			t.Errorf("%s: %+v, want refused with %s", tc.name, got, tc.code)
		}
	}
	if got := sock.claim(mine); !got.Granted {
		t.Fatalf("the agent's own ringing call: %+v, want granted", got)
	}
	// 10k claims made 10k keys: now the bucket runs dry (the clock is
	// frozen, so it does not refill) and nothing is stored.
	limited := 0
	for i := 0; i < 20; i++ {
		if got := sock.claim("fake-" + randomHex(4)); got.Error != nil && got.Error.Code == "rate_limited" {
			limited++
		}
	}
	if limited < 10 {
		t.Fatalf("%d of 20 rapid claims rate-limited, want most", limited)
	}
	keys := a.keys(t, "pop:*")
	if len(keys) != 1 {
		t.Fatalf("pop claim keys %v, want only the one granted", keys)
	}
}

// keys lists this app's Redis keys matching pattern (after its prefix).
func (a *app) keys(t *testing.T, pattern string) []string {
	t.Helper()
	c, err := redisstore.NewClient(a.Config.RedisURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	var out []string
	err = redisstore.ScanKeys(context.Background(), c, globEscape(a.Config.RedisPrefix)+"*"+pattern, func(_ redis.Cmdable, keys []string) error {
		mu.Lock()
		out = append(out, keys...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMetricsAreGzippedOnce(t *testing.T) {
	a := startApp(t, nil)
	req := mustRequest(t, "GET", a.URL+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	st, h, b := a.raw(t, req)
	if st != http.StatusOK || h.Get("Content-Encoding") != "gzip" {
		t.Fatalf("/metrics: %d Content-Encoding %q", st, h.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(text), "# HELP") {
		t.Fatalf("/metrics after one gunzip is not the text format: %q", text[:min(len(text), 40)])
	}
}

// callbackURL runs the start of a sign-in in a browser (jar) and returns
// the URL Salesforce sends that browser back to.
func (a *app) callbackURL(t *testing.T, jar http.CookieJar) string {
	t.Helper()
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	next := a.URL + "/auth/login?return=/softphone/"
	for range 5 {
		resp, err := client.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("GET %s: %d, no redirect", next, resp.StatusCode)
		}
		if loc.Path == "/auth/callback" {
			return loc.String()
		}
		next = loc.String()
	}
	t.Fatal("no redirect to /auth/callback")
	return ""
}

func TestASignInStartedInAnotherBrowserIsRefused(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_LOG_LEVEL": "info"})
	attacker, _ := cookiejar.New(nil)
	link := a.callbackURL(t, attacker) // the attacker's code and state

	victim, _ := cookiejar.New(nil)
	client := &http.Client{Jar: victim, Timeout: 10 * time.Second}
	resp, err := client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, "the attacker's callback link in the victim's browser", resp.StatusCode, b, http.StatusForbidden, "login_csrf")
	if strings.Contains(string(b), "var token") {
		t.Fatal("a session token was handed out")
	}
	if !strings.Contains(a.logs.String(), `"reason":"state_not_bound_to_browser"`) {
		t.Errorf("the refused sign-in is not logged with its reason:\n%s", a.logs.String())
	}

	// The browser that started it signs in, and its cookie is scoped.
	var cookie *http.Cookie
	u, _ := url.Parse(a.URL + "/auth/callback")
	for _, c := range attacker.Cookies(u) {
		if strings.HasPrefix(c.Name, "sb_login_") {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("/auth/login set no state cookie")
	}
	resp, err = (&http.Client{Jar: attacker, Timeout: 10 * time.Second}).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !tokenRE.Match(b) {
		t.Fatalf("the browser that started the sign-in: %d %s", resp.StatusCode, b)
	}
}

func TestTheStateCookieIsLaxHttpOnlyScopedAndSecureOverHTTPS(t *testing.T) {
	a := startProductionApp(t, nil)
	st, h, b := a.raw(t, mustRequest(t, "GET", a.URL+"/auth/login?prompt=interactive", nil))
	if st != http.StatusFound {
		t.Fatalf("/auth/login: %d %s", st, b)
	}
	cookies := h.Values("Set-Cookie")
	if len(cookies) != 2 {
		t.Fatalf("Set-Cookie %q, want the state cookie and its partitioned twin", cookies)
	}
	for _, want := range []string{"sb_login_", "Path=/auth", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age="} {
		if !strings.Contains(cookies[0], want) {
			t.Errorf("Set-Cookie %q lacks %s", cookies[0], want)
		}
	}
	// For the silent sign-in in Salesforce's cross-site frame: usable only
	// in that frame's partition (CHIPS).
	for _, want := range []string{"_p=", "Path=/auth", "HttpOnly", "Secure", "SameSite=None", "Partitioned"} {
		if !strings.Contains(cookies[1], want) {
			t.Errorf("Set-Cookie %q lacks %s", cookies[1], want)
		}
	}
	// Over plain http (demo) only the Lax cookie, without Secure.
	demo := startApp(t, nil)
	_, h, _ = demo.raw(t, mustRequest(t, "GET", demo.URL+"/auth/login", nil))
	if cookies := h.Values("Set-Cookie"); len(cookies) != 1 || strings.Contains(cookies[0], "Secure") || !strings.Contains(cookies[0], "SameSite=Lax") {
		t.Errorf("over http: Set-Cookie %q, want one Lax cookie without Secure", cookies)
	}
}

func TestAnACDAgentCannotLogInWithAnotherAgentsID(t *testing.T) {
	a := startApp(t, nil)
	token := a.signInAs(t, "frankie.fox@demo.switchboard") // ACD set 3001, agent id 5001
	var e apiError
	st := a.do(t, "POST", "/api/v1/device/acd-login", token, map[string]string{"agentId": "5002"}, &e)
	if st != http.StatusForbidden || e.Error.Code != "forbidden" {
		t.Fatalf("login with another agent's id: %d %+v, want 403 forbidden", st, e)
	}
	var ag struct{ Extension string }
	if st := a.do(t, "POST", "/api/v1/device/acd-login", token, map[string]string{"agentId": "5001"}, &ag); st != http.StatusOK || ag.Extension != "3001" {
		t.Fatalf("login with the agent's own id: %d %+v", st, ag)
	}
}

func TestReadinessNamesTheDependencyWithoutInternalText(t *testing.T) {
	base := map[string]string{
		"SWITCHBOARD_ADDR":      "127.0.0.1:0",
		"SWITCHBOARD_REDIS_URL": "redis://127.0.0.1:1/0", // nothing listens there
		"SWITCHBOARD_LOG_LEVEL": "error",
	}
	m, err := NewMain(nil, func(k string) string { return base[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a := &app{Main: m, http: &http.Client{Timeout: 10 * time.Second}}
	st, _, b := a.raw(t, mustRequest(t, "GET", a.URL+"/readyz", nil))
	wantError(t, "/readyz without Redis", st, b, http.StatusServiceUnavailable, "unavailable")
	for _, leak := range []string{"127.0.0.1", "dial", "refused", ":1"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("/readyz shows internal text %q: %s", leak, b)
		}
	}
	if !strings.Contains(string(b), `"failing":"redis"`) {
		t.Errorf("/readyz does not name redis: %s", b)
	}
	// An agent request meanwhile: 503, and no addresses or driver text.
	token, _, err := m.Server.Tokens().Issue("005000000000001AAA", "some-session")
	if err != nil {
		t.Fatal(err)
	}
	st, _, b = a.raw(t, withBearer(mustRequest(t, "GET", a.URL+"/api/v1/state", nil), token))
	wantError(t, "an agent request without Redis", st, b, http.StatusServiceUnavailable, "unavailable")
	for _, leak := range []string{"127.0.0.1", "dial", "refused", "redis"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("a 503 shows internal text %q: %s", leak, b)
		}
	}
}

func TestSalesforceSettingsAreNeverHalfTakenForDemoMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"only a client secret", map[string]string{"SWITCHBOARD_SF_CLIENT_SECRET": "s"},
			[]string{"SWITCHBOARD_SF_LOGIN_URL", "SWITCHBOARD_SF_CLIENT_ID", "SWITCHBOARD_SF_CLIENT_SECRET"}},
		{"a login URL without https://", map[string]string{"SWITCHBOARD_SF_LOGIN_URL": "login.salesforce.com"},
			[]string{"SWITCHBOARD_SF_LOGIN_URL", "https://"}},
		{"a plain http login URL", map[string]string{"SWITCHBOARD_SF_LOGIN_URL": "http://login.salesforce.com"},
			[]string{"https://"}},
		{"a short simulator token", map[string]string{"SWITCHBOARD_SIM_API_TOKEN": "short"},
			[]string{"SWITCHBOARD_SIM_API_TOKEN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(nil, func(k string) string { return tc.env[k] }, io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\ndoes not mention %s", err, w)
				}
			}
		})
	}
	c, err := loadConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || !c.Demo {
		t.Fatalf("no settings at all: %v demo=%v, want demo mode", err, c.Demo)
	}
}
