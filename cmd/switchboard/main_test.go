package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testRedisURL is the real Redis the tests use (CI starts one): any URL
// SWITCHBOARD_REDIS_URL takes, so SWITCHBOARD_TEST_REDIS_URL=redis+cluster://...
// runs these tests on a Redis Cluster.
func testRedisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	c, err := redisstore.NewClient(u, "")
	if err != nil {
		t.Fatalf("SWITCHBOARD_TEST_REDIS_URL: %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Skipf("no Redis at %s (set SWITCHBOARD_TEST_REDIS_URL; .ci/run starts one): %v", u, err)
	}
	return u
}

// testClusterURL is the Redis Cluster named by SWITCHBOARD_TEST_REDIS_CLUSTER
// (host:port,host:port,...; make cluster-test starts one with
// scripts/redis-cluster.sh); the test is skipped, saying so, without it.
func testClusterURL(t *testing.T) string {
	t.Helper()
	addrs := os.Getenv("SWITCHBOARD_TEST_REDIS_CLUSTER")
	if addrs == "" {
		t.Skip("no Redis Cluster: SWITCHBOARD_TEST_REDIS_CLUSTER is unset (make cluster-test starts one with scripts/redis-cluster.sh)")
	}
	u := "redis+cluster://" + addrs
	c, err := redisstore.NewClient(u, "")
	if err != nil {
		t.Fatalf("SWITCHBOARD_TEST_REDIS_CLUSTER: %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis Cluster at %s does not answer: %v", addrs, err)
	}
	return u
}

// testPrefix starts every Redis key this test process writes, so that
// TestMain can check that none is left (other processes may share the
// Redis).
var testPrefix = "sbtest:" + randomHex(4) + ":"

// TestMain fails the run when a test left keys in the shared Redis (or
// the test Redis Cluster, on every master).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild()) // the program itself, for end-to-end log tests
	}
	code := m.Run()
	urls := []string{os.Getenv("SWITCHBOARD_TEST_REDIS_URL")}
	if urls[0] == "" {
		urls[0] = "redis://127.0.0.1:6379/0"
	}
	if addrs := os.Getenv("SWITCHBOARD_TEST_REDIS_CLUSTER"); addrs != "" {
		urls = append(urls, "redis+cluster://"+addrs)
	}
	for _, u := range urls {
		c, err := redisstore.NewClient(u, "")
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var keys []string
		var mu sync.Mutex
		_ = redisstore.ScanKeys(ctx, c, globEscape(testPrefix)+"*", func(_ redis.Cmdable, ks []string) error {
			mu.Lock()
			keys = append(keys, ks...)
			mu.Unlock()
			return nil
		})
		cancel()
		c.Close()
		if len(keys) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: tests left %d Redis keys at %s, e.g. %s\n", len(keys), u, keys[0])
			code = 1
		}
	}
	os.Exit(code)
}

// deleteKeys removes every key under prefix from the Redis at url, on
// every master of a Cluster (a test leaves nothing behind); nothing for
// the embedded Redis.
func deleteKeys(tb testing.TB, url, prefix string) {
	tb.Helper()
	if url == "" || prefix == "" {
		return
	}
	c, err := redisstore.NewClient(url, "")
	if err != nil {
		tb.Errorf("deleting test keys: %v", err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := redisstore.DeleteKeys(ctx, c, prefix); err != nil {
		tb.Errorf("deleting test keys: %v", err)
	}
}

// globEscape quotes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// app is a running program for a test.
type app struct {
	*Main
	clock *sim.FakeClock
	http  *http.Client
	logs  *syncBuffer
}

func startApp(t *testing.T, env map[string]string) *app {
	t.Helper()
	return startAppWith(t, env, nil)
}

// startAppWith starts the program; prepare may set shared parts first.
func startAppWith(t *testing.T, env map[string]string, prepare func(*Main)) *app {
	t.Helper()
	base := map[string]string{
		"SWITCHBOARD_ADDR":          "127.0.0.1:0",
		"SWITCHBOARD_REDIS_URL":     testRedisURL(t),
		"SWITCHBOARD_REDIS_PREFIX":  fmt.Sprintf("%s%s:%d:", testPrefix, t.Name(), time.Now().UnixNano()),
		"SWITCHBOARD_OUTBOX_LINGER": "0s", // tests wait on each call log
		"SWITCHBOARD_LOG_LEVEL":     "warn",
	}
	for k, v := range env {
		base[k] = v
	}
	logs := &syncBuffer{}
	m, err := NewMain(nil, func(k string) string { return base[k] }, logs)
	if err != nil {
		t.Fatalf("NewMain: %v", err)
	}
	m.Clock = sim.NewFakeClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	if prepare != nil {
		prepare(m)
	}
	clock := m.Clock.(*sim.FakeClock)
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Start(ctx); err != nil {
		cancel()
		t.Fatalf("Start: %v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		cancel()
		m.Close()
		deleteKeys(t, m.Config.RedisURL, m.Config.RedisPrefix)
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	jar, _ := cookiejar.New(nil)
	return &app{Main: m, clock: clock, logs: logs, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// syncBuffer is a log buffer the program writes while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var tokenRE = regexp.MustCompile(`var token = "([A-Za-z0-9_\-.]+)"`)

// signIn goes through the agent sign-in (OAuth code + PKCE against the demo
// org, whose browser is signed in as the demo agent) and returns the
// session token the callback page stores.
func (a *app) signIn(t *testing.T) string {
	t.Helper()
	resp, err := a.http.Get(a.URL + "/auth/login?return=/softphone/")
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := tokenRE.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign in: status %d, no token in callback page:\n%s", resp.StatusCode, body)
	}
	return string(m[1])
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
func (a *app) do(t *testing.T, method, path, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, a.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d answer is not JSON: %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

// wsEvent is what the agent socket sends.
type wsEvent struct {
	Type   string `json:"type"`
	Seq    uint64 `json:"seq"`
	CallID string `json:"callId"`
	TaskID string `json:"taskId"`
	Call   *struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Matches []struct {
			ID, Name, Type string
		} `json:"matches"`
		PostCall bool `json:"postCall"`
		// Lookup is "pending" on the ringing push sent before the
		// Salesforce lookup returns.
		Lookup      string `json:"lookup"`
		LookupError string `json:"lookupError"`
	} `json:"call"`
	Calls []json.RawMessage `json:"calls"`
}

type agentSocket struct {
	conn *websocket.Conn
	t    *testing.T
}

func (a *app) connect(t *testing.T, token string) *agentSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.URL, "http")+"/api/v1/ws", nil)
	if err != nil {
		t.Fatalf("dial socket: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	b, _ := json.Marshal(map[string]string{"type": "auth", "token": token})
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("auth: %v", err)
	}
	s := &agentSocket{conn: conn, t: t}
	if ev := s.next(); ev.Type != "snapshot" {
		t.Fatalf("first message: got %q, want snapshot", ev.Type)
	}
	return s
}

func (s *agentSocket) next() wsEvent {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := s.conn.Read(ctx)
	if err != nil {
		s.t.Fatalf("socket read: %v", err)
	}
	var ev wsEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		s.t.Fatalf("socket message not JSON: %s", b)
	}
	return ev
}

// waitFor reads events until one satisfies ok.
func (s *agentSocket) waitFor(what string, ok func(wsEvent) bool) wsEvent {
	s.t.Helper()
	for i := 0; i < 100; i++ {
		if ev := s.next(); ok(ev) {
			return ev
		}
	}
	s.t.Fatalf("no %s event in 100 messages", what)
	return wsEvent{}
}

func TestInboundCallIsPoppedAnsweredClearedAndLogged(t *testing.T) {
	tests := []struct {
		name      string
		from      string
		wantMatch string // "" for no match
	}{
		{name: "a known contact calls", from: "+14155550123", wantMatch: "Lucy Hall"},
		{name: "an unknown number calls", from: "+14155550199"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := startApp(t, nil)
			token := a.signIn(t)
			sock := a.connect(t, token)

			var placed struct{ ID string }
			if st := a.do(t, "POST", "/sim/v1/calls", "", map[string]string{"from": tc.from, "to": "1001", "dnis": "+18005550100"}, &placed); st != http.StatusCreated || placed.ID == "" {
				t.Fatalf("place call: status %d id %q", st, placed.ID)
			}
			first := sock.waitFor("ringing", func(ev wsEvent) bool {
				return ev.Type == "call" && ev.Call != nil && ev.Call.ID == placed.ID && ev.Call.State == "alerting"
			})
			if first.Call.Lookup != "pending" || len(first.Call.Matches) != 0 {
				t.Fatalf("first ringing push: lookup %q matches %+v, want it sent before the lookup (pending, none)", first.Call.Lookup, first.Call.Matches)
			}
			ring := sock.waitFor("ringing with matches", ringing(placed.ID))
			var wantWho string
			if tc.wantMatch == "" {
				if len(ring.Call.Matches) != 0 {
					t.Fatalf("ringing event: matches %+v, want none", ring.Call.Matches)
				}
			} else {
				if len(ring.Call.Matches) != 1 || ring.Call.Matches[0].Name != tc.wantMatch || ring.Call.Matches[0].Type != "Contact" {
					t.Fatalf("ringing event: matches %+v, want the Contact %s", ring.Call.Matches, tc.wantMatch)
				}
				wantWho = ring.Call.Matches[0].ID
			}

			if st := a.do(t, "POST", "/api/v1/calls/"+placed.ID+"/answer", token, nil, nil); st != http.StatusNoContent {
				t.Fatalf("answer: status %d", st)
			}
			sock.waitFor("answered", func(ev wsEvent) bool {
				return ev.Type == "call" && ev.Call != nil && ev.Call.ID == placed.ID && ev.Call.State == "connected"
			})
			a.clock.Advance(42 * time.Second)
			if st := a.do(t, "POST", "/api/v1/calls/"+placed.ID+"/clear", token, nil, nil); st != http.StatusNoContent {
				t.Fatalf("clear: status %d", st)
			}
			a.wrapUp(t, token, sock, placed.ID)
			task := sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == placed.ID })

			tasks := a.Org.Records("Task")
			if len(tasks) != 1 {
				t.Fatalf("org has %d Tasks, want 1: %v", len(tasks), tasks)
			}
			got := tasks[0]
			if got["Id"] != task.TaskID {
				t.Errorf("Task Id %v, socket said %s", got["Id"], task.TaskID)
			}
			who, _ := got["WhoId"].(string)
			if who != wantWho {
				t.Errorf("WhoId = %q, want %q", who, wantWho)
			}
			for field, want := range map[string]any{"CallType": "Inbound", "CallObject": placed.ID, "TaskSubtype": "Call", "Type": "Call", "Status": "Completed", "Priority": "Normal"} {
				if got[field] != want {
					t.Errorf("%s = %v, want %v", field, got[field], want)
				}
			}
			if d := fmt.Sprint(got["CallDurationInSeconds"]); d != "42" {
				t.Errorf("CallDurationInSeconds = %s, want 42", d)
			}
			if owner, _ := got["OwnerId"].(string); owner == "" || !strings.HasPrefix(owner, "005") {
				t.Errorf("OwnerId = %q, want the agent's user", owner)
			}
		})
	}
}

func TestBadInputGetsAClearJSONError(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	var placed struct{ ID string }
	if st := a.do(t, "POST", "/sim/v1/calls", "", map[string]string{"from": "+14155550123", "to": "1001"}, &placed); st != http.StatusCreated {
		t.Fatalf("place call: %d", st)
	}
	tests := []struct {
		name, method, path string
		token              bool
		body               any
		wantStatus         int
		wantCode           string
		wantInMessage      string
	}{
		{"a simulated call without from", "POST", "/sim/v1/calls", false, `{"to":"1001"}`, 400, "invalid_input", "from"},
		{"a simulated call without to", "POST", "/sim/v1/calls", false, `{"from":"+14155550123"}`, 400, "invalid_input", "to"},
		{"a simulated call from a malformed number", "POST", "/sim/v1/calls", false, `{"from":"call me","to":"1001"}`, 400, "invalid_input", "from"},
		{"a simulated call to an unknown extension", "POST", "/sim/v1/calls", false, `{"from":"+14155550123","to":"9999"}`, 404, "not_found", "9999"},
		{"a simulated call with broken JSON", "POST", "/sim/v1/calls", false, `{"from":`, 400, "invalid_input", ""},
		{"the wrong method on simulated calls", "DELETE", "/sim/v1/calls", false, nil, 405, "method_not_allowed", ""},
		{"the agent API without a token", "GET", "/api/v1/state", false, nil, 401, "unauthorized", "sign in"},
		{"the agent API with a forged token", "GET", "/api/v1/state", false, nil, 401, "unauthorized", ""},
		{"answering an unknown call", "POST", "/api/v1/calls/c-nope/answer", true, nil, 404, "not_found", "c-nope"},
		{"making a call to a number with letters", "POST", "/api/v1/calls", true, `{"number":"+1415CALLME"}`, 400, "invalid_input", "number"},
		{"making a call without a number", "POST", "/api/v1/calls", true, `{}`, 400, "invalid_input", "number"},
		{"making a call with an unknown field", "POST", "/api/v1/calls", true, `{"number":"1002","extension":"1002"}`, 400, "invalid_input", "extension"},
		{"making a call with a number that is not a string", "POST", "/api/v1/calls", true, `{"number":1002}`, 400, "invalid_input", "number"},
		{"click-to-dial with a record id that is not an id", "POST", "/api/v1/calls", true, `{"number":"+14155550123","record":{"recordId":"Lucy"}}`, 400, "invalid_input", "recordId"},
		{"click-to-dial with an Account id called a Contact", "POST", "/api/v1/calls", true, `{"number":"+14155550123","record":{"recordId":"001000000000001AAA","objectType":"Contact"}}`, 400, "invalid_input", "003"},
		{"click-to-dial with a bad object type", "POST", "/api/v1/calls", true, `{"number":"+14155550123","record":{"recordId":"a00000000000001AAA","objectType":"Contact; DROP"}}`, 400, "invalid_input", "objectType"},
		{"click-to-dial with a record that is not an object", "POST", "/api/v1/calls", true, `{"number":"+14155550123","record":"003000000000001AAA"}`, 400, "invalid_input", "record"},
		{"a huge body", "POST", "/api/v1/calls", true, `{"number":"` + strings.Repeat("1", 300000) + `"}`, 413, "too_large", ""},
		{"DTMF with a letter", "POST", "/api/v1/calls/" + placed.ID + "/dtmf", true, `{"digits":"12A"}`, 400, "invalid_input", "DTMF"},
		{"a redirect without a target", "POST", "/api/v1/calls/" + placed.ID + "/redirect", true, `{"number":""}`, 400, "invalid_input", "number"},
		{"the wrong method on a call command", "GET", "/api/v1/calls/" + placed.ID + "/answer", true, nil, 405, "method_not_allowed", ""},
		{"an unknown history list", "GET", "/api/v1/history?list=everything", true, nil, 400, "invalid_input", "list"},
		{"settings with an unknown pop rule", "PUT", "/api/v1/settings", true, `{"popAt":"ringing","popOrder":["ani","telepathy"]}`, 400, "invalid_input", "telepathy"},
		{"settings with a bad pop timing", "PUT", "/api/v1/settings", true, `{"popAt":"whenever"}`, 400, "invalid_input", "popAt"},
		{"a favorite without a number", "POST", "/api/v1/favorites", true, `{"name":"Lucy"}`, 400, "invalid_input", "number"},
		{"an unknown endpoint", "GET", "/api/v1/nothing-here", true, nil, 404, "not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := ""
			if tc.token {
				tok = token
			}
			if tc.name == "the agent API with a forged token" {
				tok = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
			}
			var got struct {
				Error struct{ Code, Message string }
			}
			st := a.do(t, tc.method, tc.path, tok, tc.body, &got)
			if st != tc.wantStatus || got.Error.Code != tc.wantCode {
				t.Fatalf("got %d %q (%q), want %d %q", st, got.Error.Code, got.Error.Message, tc.wantStatus, tc.wantCode)
			}
			if !strings.Contains(got.Error.Message, tc.wantInMessage) {
				t.Errorf("message %q does not mention %q", got.Error.Message, tc.wantInMessage)
			}
		})
	}
}

func TestHealthReadinessAndCallCenterDefinition(t *testing.T) {
	a := startApp(t, nil)
	var health, ready map[string]any
	if st := a.do(t, "GET", "/healthz", "", nil, &health); st != 200 {
		t.Errorf("healthz: %d", st)
	}
	if st := a.do(t, "GET", "/readyz", "", nil, &ready); st != 200 || ready["redis_persistence"] == nil {
		t.Errorf("readyz: %d %v, want 200 with redis_persistence", st, ready)
	}
	resp, err := a.http.Get(a.URL + "/callcenter-definition.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "<item sortOrder=\"2\" name=\"reqAdapterUrl\" label=\"CTI Adapter URL\">"+a.URL+"/softphone/</item>") {
		t.Errorf("call center definition does not point at this deployment:\n%s", b)
	}
}

func TestReadinessSaysTheEmbeddedRedisKeepsNothing(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_REDIS_URL": ""})
	var ready map[string]any
	if st := a.do(t, "GET", "/readyz", "", nil, &ready); st != 200 || ready["redis_persistence"] != "none" {
		t.Errorf("readyz in demo mode: %d %v, want 200 with redis_persistence none (in memory)", st, ready)
	}
}

func TestReadinessNamesTheFailingDependency(t *testing.T) {
	a := startApp(t, nil)
	persistence, err := a.Store.Persistence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.Org.Inject(fakeorg.Fault{Kind: fakeorg.Unavailable503})
	var got struct {
		Failing          string
		RedisPersistence string `json:"redis_persistence"`
		Error            struct{ Code, Message string }
	}
	if st := a.do(t, "GET", "/readyz", "", nil, &got); st != http.StatusServiceUnavailable || got.Failing != "salesforce" {
		t.Fatalf("readyz with Salesforce down: %d %+v, want 503 naming salesforce", st, got)
	}
	if got.RedisPersistence != persistence {
		t.Errorf("readyz with Salesforce down: redis_persistence %q, want %q (as the 200 answer says)", got.RedisPersistence, persistence)
	}
}

func TestRepositoryCallCenterDefinitionIsTheTemplate(t *testing.T) {
	want := callCenterXML("https://switchboard.example.com")
	if *update {
		if err := os.WriteFile("../../callcenter-definition.xml", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("../../callcenter-definition.xml")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("callcenter-definition.xml differs from the template; regenerate it with: go test ./cmd/switchboard -run TestRepositoryCallCenterDefinitionIsTheTemplate -update")
	}
}

func TestTheDemoOrgTasksCanBeReadWithCurlAsTheREADMESays(t *testing.T) {
	a := startApp(t, nil)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {demoClientID}, "client_secret": {demoClientSecret}}
	resp, err := a.http.PostForm(a.URL+"/demo-org/services/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" || tok.InstanceURL != a.URL+"/demo-org" {
		t.Fatalf("token: %+v", tok)
	}
	req, _ := http.NewRequest("GET", tok.InstanceURL+"/services/data/v67.0/query?q="+url.QueryEscape("SELECT Id, Subject FROM Task"), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = a.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var q struct {
		TotalSize int  `json:"totalSize"`
		Done      bool `json:"done"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil || resp.StatusCode != 200 || !q.Done {
		t.Fatalf("SOQL query: %d %+v %v", resp.StatusCode, q, err)
	}
}

// wrapUp waits for the call's post-call and saves it (Save & Exit): the
// moment its call log is written.
func (a *app) wrapUp(t *testing.T, token string, sock *agentSocket, id string) {
	t.Helper()
	sock.waitFor("post-call", func(ev wsEvent) bool { return ev.Type == "call_ended" && ev.Call != nil && ev.Call.ID == id })
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/wrap-up", token, `{"action":"save"}`, nil); st != http.StatusOK {
		t.Fatalf("wrap-up: status %d", st)
	}
}

// A call that rings as soon as Start returns is seen: Start waits until
// the service is subscribed to the switch (the simulator does not replay
// what rang before). The load benchmarks placed their first call at once
// and missed it now and then.
func TestACallRingingRightAfterStartIsSeen(t *testing.T) {
	a := startApp(t, nil)
	ctx := context.Background()
	id, err := a.Sim.PlaceCall(ctx, sim.ExternalCall{From: "+14155550123", To: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		if r, err := a.Store.Call(ctx, "1001", id); err == nil && r.State == "alerting" {
			return
		}
		select {
		case <-tick.C: // polling the store: the service has no event to wait on here
		case <-deadline:
			t.Fatalf("call %s ringing on 1001 right after Start was never stored", id)
		}
	}
}
