// Package lab runs a real Asterisk with real SIP phones and a SIP trunk on
// loopback, for the real-PBX test tier: Asterisk unpacked (not installed)
// by scripts/asterisk-lab.sh from Debian's archive, baresip desk phones
// pressed through their control socket, and SIPp as the carrier.
//
// Tests call Start, which skips unless SWITCHBOARD_ASTERISK_ROOT names the
// unpacked Asterisk (the script sets it; `make test` runs the script, so
// there the tier either runs or fails loudly). Every process it starts is
// stopped by the test's cleanup.
package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx/asterisk"
)

// Timeout bounds every wait of the lab.
const Timeout = 30 * time.Second

// Lab is one running Asterisk and its phones.
type Lab struct {
	t         testing.TB
	root      string // unpacked Asterisk
	dir       string
	AMIAddr   string
	SIPPort   int
	trunkPort int
	Version   string // AsteriskVersion from CoreSettings
	AMI       string // AMI protocol version from the banner
	ast       *exec.Cmd
	obs       *asterisk.Client
	obsEv     *observer
	cancel    context.CancelFunc
	mu        sync.Mutex
	phones    []*Phone
	testdata  string
}

// Start starts Asterisk with the configs of pbx/asterisk/testdata/etc and
// an observer AMI link; it skips the test when SWITCHBOARD_ASTERISK_ROOT
// is not set.
func Start(t testing.TB) *Lab {
	t.Helper()
	root := os.Getenv("SWITCHBOARD_ASTERISK_ROOT")
	if root == "" {
		t.Skip("real-PBX tier: SWITCHBOARD_ASTERISK_ROOT not set (run `bash scripts/asterisk-lab.sh test`, which `make test` does)")
	}
	for _, bin := range []string{"baresip", "sipp"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("real-PBX tier: %s not found (scripts/asterisk-lab.sh installs baresip-core and sip-tester)", bin)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	l := &Lab{t: t, root: root, dir: t.TempDir(), testdata: filepath.Join(filepath.Dir(file), "..", "testdata")}
	l.AMIAddr = "127.0.0.1:" + strconv.Itoa(freePort(t, "tcp"))
	l.SIPPort = freePort(t, "both")
	l.trunkPort = freePort(t, "udp")
	l.startAsterisk()
	t.Cleanup(l.stop)
	return l
}

func freePort(t testing.TB, network string) int {
	t.Helper()
	if network == "both" {
		// SIP stacks bind UDP and TCP on one port, and baresip TLS on
		// the next: find a port free for all three.
		for range 100 {
			p := freePort(t, "udp")
			a, err1 := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			b, err2 := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
			if a != nil {
				a.Close()
			}
			if b != nil {
				b.Close()
			}
			if err1 == nil && err2 == nil {
				return p
			}
		}
		t.Fatal("lab: no port free for both UDP and TCP")
	}
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (l *Lab) render() {
	t := l.t
	etc := filepath.Join(l.dir, "etc")
	for _, d := range []string{"etc", "lib", "db", "keys", "spool", "run", "log"} {
		if err := os.MkdirAll(filepath.Join(l.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rtp := 32000 + 200*rand.IntN(140)
	files, err := filepath.Glob(filepath.Join(l.testdata, "etc", "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("lab: no configs in %s", l.testdata)
	}
	_, amiPort, _ := net.SplitHostPort(l.AMIAddr)
	r := strings.NewReplacer("@AMI_PORT@", amiPort, "@SIP_PORT@", strconv.Itoa(l.SIPPort), "@TRUNK_PORT@", strconv.Itoa(l.trunkPort),
		"@RTP_START@", strconv.Itoa(rtp), "@RTP_END@", strconv.Itoa(rtp+199))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(etc, filepath.Base(f)), []byte(r.Replace(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Asterisk 22 keeps modules under usr/lib/<triplet>/, 16 under usr/lib/.
	mods, _ := filepath.Glob(filepath.Join(l.root, "usr/lib/*/asterisk/modules/chan_pjsip.so"))
	if len(mods) == 0 {
		mods, _ = filepath.Glob(filepath.Join(l.root, "usr/lib/asterisk/modules/chan_pjsip.so"))
	}
	if len(mods) == 0 {
		t.Fatalf("lab: no chan_pjsip.so under %s", l.root)
	}
	conf := fmt.Sprintf(`[directories]
astetcdir => %[1]s/etc
astmoddir => %[2]s
astvarlibdir => %[1]s/lib
astdbdir => %[1]s/db
astkeydir => %[1]s/keys
astdatadir => %[3]s/usr/share/asterisk
astagidir => %[1]s/lib/agi-bin
astspooldir => %[1]s/spool
astrundir => %[1]s/run
astlogdir => %[1]s/log
astsbindir => %[3]s/usr/sbin
[options]
systemname => sblab
verbose = 3
`, l.dir, filepath.Dir(mods[0]), l.root)
	if err := os.WriteFile(filepath.Join(etc, "asterisk.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// command is how to run the unpacked Asterisk: Asterisk 22 from sid needs
// sid's C library, so it runs through the loader it came with.
func (l *Lab) command(args ...string) *exec.Cmd {
	lib := filepath.Join(l.root, "usr/lib/x86_64-linux-gnu")
	lp := strings.Join([]string{lib, filepath.Join(l.root, "usr/lib"), "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"}, ":")
	bin := filepath.Join(l.root, "usr/sbin/asterisk")
	args = append([]string{"-C", filepath.Join(l.dir, "etc", "asterisk.conf")}, args...)
	if loader := filepath.Join(lib, "ld-linux-x86-64.so.2"); fileExists(loader) {
		return exec.Command(loader, append([]string{"--library-path", lp, bin}, args...)...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+lp)
	return cmd
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func (l *Lab) startAsterisk() {
	t := l.t
	l.render()
	cmd := l.command("-f")
	out, err := os.Create(filepath.Join(l.dir, "asterisk.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("lab: start asterisk: %v", err)
	}
	l.ast = cmd
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.obsEv = newObserver()
	l.obs = asterisk.NewClient(asterisk.ClientConfig{Addr: l.AMIAddr, Username: "cti", Secret: "ctisecret",
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Log: zerolog.Nop()}, l.obsEv)
	go l.obs.Run(ctx)
	select {
	case banner := <-l.obsEv.connected:
		l.AMI = banner
	case <-time.After(Timeout):
		b, _ := os.ReadFile(filepath.Join(l.dir, "asterisk.out"))
		t.Fatalf("lab: Asterisk's AMI did not answer on %s within %s; its output:\n%s", l.AMIAddr, Timeout, tail(string(b), 3000))
	}
	r, err := l.obs.Action(ctx, asterisk.NewAction("CoreSettings"))
	if err != nil {
		t.Fatalf("lab: CoreSettings: %v", err)
	}
	l.Version = r.Get("AsteriskVersion")
	t.Logf("real-PBX tier: Asterisk %s (AMI %s) from %s", l.Version, l.AMI, l.root)
	// Wait until the PBX has loaded everything.
	deadline := time.After(Timeout)
	for {
		r, err := l.obs.Action(ctx, asterisk.NewAction("CoreStatus"))
		if err == nil && r.Get("CoreStartupTime") != "" {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("lab: Asterisk not fully booted: %v", err)
		case <-l.obsEv.any:
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Restart kills Asterisk (SIGKILL: an outage, not a shutdown) and starts
// it again with the same ports and databases (the phones' registrations
// are kept in AstDB, so they stay reachable).
func (l *Lab) Restart() {
	l.killAsterisk()
	l.startAsterisk()
}

func clone[T any](s []T) []T { return append([]T(nil), s...) }

func (l *Lab) killAsterisk() {
	if l.cancel != nil {
		l.cancel()
	}
	if l.ast != nil && l.ast.Process != nil {
		_ = syscall.Kill(-l.ast.Process.Pid, syscall.SIGKILL)
		_ = l.ast.Wait()
		l.ast = nil
	}
}

func (l *Lab) stop() {
	l.mu.Lock()
	phones := clone(l.phones)
	l.mu.Unlock()
	for _, p := range phones {
		p.stop()
		if l.t.Failed() {
			b, _ := os.ReadFile(filepath.Join(l.dir, "baresip-"+p.Ext, "out.log"))
			l.t.Logf("phone %s log:\n%s", p.Ext, tail(strings.ReplaceAll(string(b), "\r", "\n"), 3000))
		}
	}
	l.killAsterisk()
	if l.t.Failed() && os.Getenv("SWITCHBOARD_LAB_AMI_DUMP") != "" {
		l.obsEv.mu.Lock()
		var b strings.Builder
		for _, m := range l.obsEv.events {
			b.WriteString(m.Event())
			for _, f := range m.Fields {
				switch f.Key {
				case "Channel", "Uniqueid", "Linkedid", "ChannelState", "Cause", "Exten", "Context", "BridgeUniqueid", "DestChannel",
					"DestUniqueid", "DestLinkedid", "Conference", "Result", "Response", "Reason", "Application", "AppData",
					"Membership", "Paused", "PausedReason", "Interface", "MemberName", "Queue":
					b.WriteString(" " + f.Key + "=" + f.Value)
				}
			}
			b.WriteString("\n")
		}
		l.obsEv.mu.Unlock()
		l.t.Logf("AMI events:\n%s", b.String())
	}
	if l.t.Failed() {
		b, _ := os.ReadFile(filepath.Join(l.dir, "log", "messages"))
		l.t.Logf("asterisk log:\n%s", tail(string(b), 40000))
	}
}

// CLI runs an Asterisk CLI command (asterisk -rx) and returns its output.
func (l *Lab) CLI(command string) string {
	out, err := l.command("-rx", command).CombinedOutput()
	if err != nil {
		l.t.Logf("lab: asterisk -rx %q: %v", command, err)
	}
	return string(out)
}

// Action sends an AMI action on the lab's own link (not the driver's).
func (l *Lab) Action(a asterisk.Message) (asterisk.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return l.obs.Action(ctx, a)
}

// observer is the lab's own AMI handler: it lets the lab wait for events.
type observer struct {
	connected chan string
	any       chan struct{}
	mu        sync.Mutex
	events    []asterisk.Message
}

func newObserver() *observer {
	return &observer{connected: make(chan string, 8), any: make(chan struct{}, 1)}
}

func (o *observer) Connected(ctx context.Context, banner string) { o.connected <- banner; o.poke() }
func (o *observer) Disconnected(err error)                       { o.poke() }
func (o *observer) Event(m asterisk.Message) {
	o.mu.Lock()
	o.events = append(o.events, m)
	o.mu.Unlock()
	o.poke()
}
func (o *observer) poke() {
	select {
	case o.any <- struct{}{}:
	default:
	}
}

// WaitEvent waits for an AMI event (seen since the lab's link came up)
// that match accepts; it fails the test after Timeout.
func (l *Lab) WaitEvent(what string, match func(asterisk.Message) bool) asterisk.Message {
	l.t.Helper()
	deadline := time.After(Timeout)
	seen := 0
	for {
		l.obsEv.mu.Lock()
		evs := l.obsEv.events[seen:]
		seen = len(l.obsEv.events)
		l.obsEv.mu.Unlock()
		for _, m := range evs {
			if match(m) {
				return m
			}
		}
		select {
		case <-l.obsEv.any:
		case <-deadline:
			l.t.Fatalf("lab: no AMI event %s within %s", what, Timeout)
		}
	}
}

func (l *Lab) waitRegistered(ext string) {
	l.WaitEvent("ContactStatus for "+ext, func(m asterisk.Message) bool {
		return m.Event() == "ContactStatus" && m.Get("AOR") == ext && m.Get("ContactStatus") != "Removed"
	})
}

// Phone is one baresip desk phone registered as an extension.
type Phone struct {
	Ext  string
	l    *Lab
	cmd  *exec.Cmd
	ctrl string
}

// StartPhone starts baresip for ext (password pw<ext>) and waits until it
// registered.
func (l *Lab) StartPhone(ext string) *Phone {
	t := l.t
	dir := filepath.Join(l.dir, "baresip-"+ext)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctrl := "127.0.0.1:" + strconv.Itoa(freePort(t, "tcp"))
	sip := freePort(t, "both")
	rtp := 32000 + 200*rand.IntN(140)
	config := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
sip_trans_def udp
audio_player aubridge,%[2]s-out
audio_source aubridge,%[2]s-src
audio_alert aubridge,%[2]s-alert
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen %[3]s
rtp_ports %[4]d-%[5]d
`, sip, ext, ctrl, rtp, rtp+199)
	acct := fmt.Sprintf("<sip:%s@127.0.0.1:%d;transport=udp>;auth_pass=pw%s;regint=300;answermode=manual\n", ext, l.SIPPort, ext)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(acct), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("baresip", "-f", dir)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("lab: start baresip: %v", err)
	}
	p := &Phone{Ext: ext, l: l, cmd: cmd, ctrl: ctrl}
	l.mu.Lock()
	l.phones = append(l.phones, p)
	l.mu.Unlock()
	l.waitRegistered(ext)
	return p
}

func (p *Phone) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// Do presses a phone button through baresip's control socket (netstring
// JSON: accept, hangup, hold, resume, dial <number>, uareg 1) and returns
// its answer.
func (p *Phone) Do(command, params string) string {
	t := p.l.t
	t.Helper()
	var c net.Conn
	var err error
	deadline := time.Now().Add(Timeout)
	d := net.Dialer{Deadline: deadline}
	c, err = d.Dial("tcp", p.ctrl)
	if err != nil {
		t.Fatalf("lab: phone %s control socket: %v", p.Ext, err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	j, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": "sb"})
	if _, err := fmt.Fprintf(c, "%d:%s,", len(j), j); err != nil {
		t.Fatalf("lab: phone %s: %v", p.Ext, err)
	}
	r := bufio.NewReader(c)
	for {
		n, err := r.ReadString(':')
		if err != nil {
			t.Fatalf("lab: phone %s: no answer to %s: %v", p.Ext, command, err)
		}
		size, _ := strconv.Atoi(strings.TrimSpace(n[:len(n)-1]))
		buf := make([]byte, size+1)
		if _, err := ioReadFull(r, buf); err != nil {
			t.Fatalf("lab: phone %s: %v", p.Ext, err)
		}
		var resp struct {
			Response bool   `json:"response"`
			OK       bool   `json:"ok"`
			Data     string `json:"data"`
		}
		_ = json.Unmarshal(buf[:size], &resp)
		if resp.Response {
			if !resp.OK {
				t.Fatalf("lab: phone %s refused %s %s: %s", p.Ext, command, params, resp.Data)
			}
			return resp.Data
		}
	}
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Caller is one inbound trunk call placed by SIPp.
type Caller struct {
	cmd  *exec.Cmd
	done chan error
	out  string
}

// Call places an inbound call from ani to dnis through the trunk (SIPp
// bound to 127.0.0.2, which pjsip.conf identifies as the trunk). The call
// lasts until Asterisk hangs it up.
func (l *Lab) Call(ani, dnis string) *Caller {
	t := l.t
	dir := t.TempDir()
	out := filepath.Join(dir, "sipp.log")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sipp", fmt.Sprintf("127.0.0.1:%d", l.SIPPort), "-sf", filepath.Join(l.testdata, "sipp-inbound.xml"),
		"-i", "127.0.0.2", "-p", strconv.Itoa(l.trunkPort), "-s", dnis, "-set", "ani", ani, "-m", "1", "-aa", "-nostdin",
		"-timeout", "300s", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("lab: start sipp: %v", err)
	}
	c := &Caller{cmd: cmd, done: make(chan error, 1), out: out}
	go func() { c.done <- cmd.Wait(); f.Close() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
		c.done <- nil
	})
	return c
}

// Wait waits for SIPp to finish (the call was hung up by Asterisk) and
// returns its exit error.
func (c *Caller) Wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err
		if err != nil {
			b, _ := os.ReadFile(c.out)
			t.Logf("sipp output:\n%s", tail(string(b), 2000))
		}
		return err
	case <-time.After(Timeout):
		t.Fatalf("lab: the trunk call did not end within %s", Timeout)
		return nil
	}
}
