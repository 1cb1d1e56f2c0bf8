package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/coder/websocket"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// childEnv makes the test binary run the program instead of the tests
// (TestMain), so a test can read everything the process writes.
const childEnv = "SWITCHBOARD_TEST_CHILD"

func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// SWITCHBOARD_TEST_CHILD_ARGS: the command line, e.g. "sim -listen 127.0.0.1:0".
	if err := run(ctx, strings.Fields(os.Getenv(childEnv+"_ARGS")), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		return 1
	}
	return 0
}

// child is the program running in its own process.
type child struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string // stdout and stderr, each line as written
	seen  chan string
	done  chan struct{}
}

func startChild(t *testing.T, env map[string]string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	c := &child{cmd: cmd, seen: make(chan string, 10000), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				c.mu.Lock()
				c.lines = append(c.lines, sc.Text())
				c.mu.Unlock()
				select {
				case c.seen <- sc.Text():
				default:
				}
			}
		}()
	}
	go func() { wg.Wait(); _ = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

// waitLine waits for a line containing all of want and returns it.
func (c *child) waitLine(t *testing.T, what string, want ...string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l := <-c.seen:
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(l, w)
			}
			if ok {
				return l
			}
		case <-deadline:
			t.Fatalf("no log line for %s within 30 s; log:\n%s", what, strings.Join(c.all(), "\n"))
		}
	}
}

func (c *child) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

func TestARedisOutageLogsOnlyJSONRateLimitedWithReasons(t *testing.T) {
	mr, err := miniredis.Run()
	if err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	c := startChild(t, map[string]string{
		"SWITCHBOARD_ADDR": "127.0.0.1:0", "SWITCHBOARD_REDIS_URL": "redis://" + mr.Addr() + "/0",
		"SWITCHBOARD_LOG_LEVEL": "info",
	})
	var running struct{ URL string }
	_ = json.Unmarshal([]byte(c.waitLine(t, "the start", "Switchboard demo running")), &running)
	if running.URL == "" {
		t.Fatal("no url in the start line")
	}
	jar, _ := cookiejar.New(nil)
	a := &app{Main: &Main{URL: running.URL}, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	token := a.signIn(t)
	sock := a.connect(t, token)
	closed := make(chan websocket.StatusCode, 1)
	go func() { // read (and so answer pings) until the server closes
		for {
			if _, _, err := sock.conn.Read(context.Background()); err != nil {
				closed <- websocket.CloseStatus(err)
				return
			}
		}
	}()

	// A refused sign-in (a callback this browser did not start).
	a.do(t, "GET", "/auth/callback?state=forged&code=x", "", nil, &apiError{})

	// Redis goes away; softphones and probes keep asking.
	mr.Close()
	for i := 0; i < 3; i++ {
		a.do(t, "GET", "/api/v1/state", token, nil, &apiError{})
		a.do(t, "GET", "/readyz", "", nil, &apiError{})
	}
	c.waitLine(t, "readiness failing", `"failing":"redis"`, "not ready")
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	// Redis is back when the probe says so (nothing else announces it).
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for a.do(t, "GET", "/readyz", "", nil, nil) != http.StatusOK {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("not ready 30 s after Redis came back")
		}
	}

	// The socket was told to resync when the bus came back, or is told to
	// reconnect at shutdown (TestShutdownTellsSoftphonesToReconnectElsewhere).
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case code := <-closed:
		if code != websocket.StatusServiceRestart && code != websocket.StatusTryAgainLater {
			t.Errorf("socket closed with %d, want 1013 (resync) or 1012 (shutdown)", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the socket was not closed")
	}
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not stop on SIGTERM")
	}
	lines := c.all()
	counts := map[string]int{}
	for _, l := range lines {
		var fields map[string]any
		if err := json.Unmarshal([]byte(l), &fields); err != nil {
			t.Errorf("a line that is not JSON: %q", l)
			continue
		}
		for _, k := range []string{"level", "time", "message"} {
			if _, ok := fields[k]; !ok {
				t.Errorf("a line without %s: %s", k, l)
			}
		}
		msg, _ := fields["message"].(string)
		switch msg {
		case "sign-in refused", "socket dropped", "call log write to Salesforce failed; will retry":
			if r, _ := fields["reason"].(string); r == "" {
				t.Errorf("no reason: %s", l)
			}
		}
		if strings.Contains(l, "+1415") || strings.Contains(l, token) {
			t.Errorf("personal data or a token in the log: %s", l)
		}
		if lvl := fields["level"]; lvl == "warn" || lvl == "error" {
			delete(fields, "time")
			delete(fields, "request_id")
			delete(fields, "repeated")
			key, _ := json.Marshal(fields)
			counts[string(key)]++
		}
	}
	for key, n := range counts {
		if n > 2 { // once, then once more with "repeated" after the window
			t.Errorf("%d identical lines: %s", n, key)
		}
	}
	if len(lines) > 60 {
		t.Errorf("%d log lines for a short outage, want a few:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, want := range []string{`"reason":"state_not_bound_to_browser"`, "stopped accepting", `"failing":"redis"`} {
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Errorf("the log does not show %s:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("%d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

func TestAFailedTaskWriteIsLoggedWithAReasonAndNoPhoneNumber(t *testing.T) {
	a := startApp(t, nil) // warn level: the failure is a warning
	token := a.signIn(t)
	sock := a.connect(t, token)
	attempts := make(chan error, 10)
	a.Service.ObserveOutbox(func(_ adapter.TaskJob, err error) { attempts <- err })
	a.Org.Inject(fakeorg.Fault{Kind: fakeorg.Unavailable503, PathPrefix: "/services/data/v67.0/composite"})
	id := a.place(t, "+14155550123", "1001")
	sock.waitFor("ringing", ringing(id))
	a.answerAndClear(t, token, sock, id, 10*time.Second)
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/wrap-up", token, `{"action":"save"}`, nil); st != http.StatusOK {
		t.Fatalf("wrap-up: %d", st)
	}
	select {
	case err := <-attempts:
		if err == nil {
			t.Fatal("the write succeeded during the fault")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no write attempt")
	}
	var line string
	for _, l := range strings.Split(a.logs.String(), "\n") {
		if strings.Contains(l, "call log write to Salesforce failed") {
			line = l
		}
	}
	if !strings.Contains(line, `"reason":"unavailable"`) || !strings.Contains(line, `"call":"`+id+`"`) {
		t.Fatalf("failed write logged as %q, want the reason and the call id", line)
	}
	if strings.Contains(line, "4155550123") {
		t.Fatalf("the caller's number is in the log: %s", line)
	}
}

func TestRepeatedIdenticalWarningsAreWrittenOncePerWindowThenCounted(t *testing.T) {
	var out strings.Builder
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	l := newRepeatLimiter(&out, 30*time.Second, func() time.Time { return now })
	line := func(level, msg, at string) {
		fmt.Fprintf(l, `{"level":%q,"time":%q,"message":%q}`+"\n", level, at, msg)
	}
	for i := 0; i < 5; i++ {
		line("warn", "redis down", fmt.Sprint(i))
		line("info", "request", fmt.Sprint(i)) // below warn: never held back
	}
	line("error", "another failure", "x")
	now = now.Add(31 * time.Second)
	line("warn", "redis down", "later")
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`{"level":"warn","time":"0","message":"redis down"}`,
		`{"level":"info","time":"0","message":"request"}`,
		`{"level":"info","time":"1","message":"request"}`,
		`{"level":"info","time":"2","message":"request"}`,
		`{"level":"info","time":"3","message":"request"}`,
		`{"level":"info","time":"4","message":"request"}`,
		`{"level":"error","time":"x","message":"another failure"}`,
		`{"repeated":4,"level":"warn","time":"later","message":"redis down"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestShutdownTellsSoftphonesToReconnectElsewhere(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_LOG_LEVEL": "info"})
	token := a.signIn(t)
	sock := a.connect(t, token)
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		if _, _, err := sock.conn.Read(ctx); err != nil {
			if code := websocket.CloseStatus(err); code != websocket.StatusServiceRestart {
				t.Fatalf("socket at shutdown: %v (close code %d), want 1012 (Service Restart)", err, code)
			}
			break
		}
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Close did not return")
	}
	if _, err := http.Get(a.URL + "/healthz"); err == nil {
		t.Error("still accepting connections after shutdown")
	}
	for _, want := range []string{`"reason":"shutdown"`, `"sockets":1`} {
		if !strings.Contains(a.logs.String(), want) {
			t.Errorf("the log does not show %s:\n%s", want, a.logs.String())
		}
	}
}
