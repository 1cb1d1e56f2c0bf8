package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-cti/switchboard/pbx/asterisk"
)

// fakeAMI serves each connection with serve: a stand-in for an Asterisk
// Manager Interface that answers the way a real one answers one case.
func fakeAMI(t *testing.T, serve func(conn net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer conn.Close(); serve(conn) }()
		}
	}()
	return ln.Addr().String()
}

// amiAnswers sends the banner and answers each action with answer's
// fields (the ActionID is echoed), as Asterisk 22 does.
func amiAnswers(answer func(a asterisk.Message) string) func(net.Conn) {
	return func(conn net.Conn) {
		fmt.Fprint(conn, "Asterisk Call Manager/9.0.0\r\n")
		r := asterisk.NewReader(bufio.NewReader(conn))
		for {
			a, err := r.ReadMessage()
			if err != nil {
				return
			}
			fmt.Fprintf(conn, "%sActionID: %s\r\n\r\n", answer(a), a.ActionID())
		}
	}
}

func asteriskEnv(addr string, extra ...string) map[string]string {
	env := map[string]string{"SWITCHBOARD_PBX": "asterisk", "SWITCHBOARD_AMI_ADDR": addr, "SWITCHBOARD_AMI_USER": "cti", "SWITCHBOARD_AMI_SECRET": "wrong",
		"SWITCHBOARD_AMI_EXTENSIONS": "1001,1002"}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// pbxLine is the doctor report's PBX link line and its fix.
func pbxLine(out string) string {
	_, rest, _ := strings.Cut(out, "PBX link")
	lines := strings.SplitN(rest, "\n", 3)
	if len(lines) < 2 {
		return rest
	}
	return lines[0] + "\n" + lines[1]
}

func TestDoctorSaysWhyTheAMILoginFails(t *testing.T) {
	refusing := amiAnswers(func(a asterisk.Message) string {
		if a.Get("Action") == "Challenge" {
			return "Response: Success\r\nChallenge: 840459321\r\n"
		}
		return "Response: Error\r\nMessage: Authentication failed\r\n"
	})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	sshish := func(conn net.Conn) { fmt.Fprint(conn, "SSH-2.0-OpenSSH_9.6\r\n") }

	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"a wrong secret (md5)", asteriskEnv(fakeAMI(t, refusing)), []string{"Authentication failed", "SWITCHBOARD_AMI_SECRET", "permit="}},
		{"a wrong secret (plain)", asteriskEnv(fakeAMI(t, refusing), "SWITCHBOARD_AMI_AUTH", "plain"), []string{"Authentication failed", "SWITCHBOARD_AMI_SECRET"}},
		{"a port nothing listens on", asteriskEnv(closedAddr), []string{"connection refused", "SWITCHBOARD_AMI_ADDR", "enabled = yes"}},
		{"TLS against the plain AMI port", asteriskEnv(fakeAMI(t, refusing), "SWITCHBOARD_AMI_TLS", "on"),
			[]string{"first record does not look like a TLS handshake", "SWITCHBOARD_AMI_TLS=off"}},
		{"a port that is not the AMI", asteriskEnv(fakeAMI(t, sshish)), []string{"is not an AMI banner", "not the SIP or HTTP port"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runDoctor(t, tc.env)
			if err == nil {
				t.Fatalf("doctor passed:\n%s", out)
			}
			line := pbxLine(out)
			if !strings.Contains(out, "FAIL  PBX link") {
				t.Errorf("PBX link did not fail:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("PBX link line does not say %q:\n%s", w, line)
				}
			}
		})
	}
}

func TestAMILoginSucceedsWithTheRightSecret(t *testing.T) {
	var mu sync.Mutex
	var logins []string
	addr := fakeAMI(t, amiAnswers(func(a asterisk.Message) string {
		if a.Get("Action") == "Login" {
			mu.Lock()
			logins = append(logins, a.Get("Secret")+"/"+a.Get("Events"))
			mu.Unlock()
			if a.Get("Secret") != "ctisecret" {
				return "Response: Error\r\nMessage: Authentication failed\r\n"
			}
		}
		return "Response: Success\r\n"
	}))
	ver, err := amiLogin(context.Background(), AMIConfig{Addr: addr, User: "cti", Secret: "ctisecret", Auth: "plain", TLS: "off"})
	if err != nil || ver != "9.0.0" {
		t.Errorf("amiLogin = %q, %v; want 9.0.0, nil", ver, err)
	}
	if _, err := amiLogin(context.Background(), AMIConfig{Addr: addr, User: "cti", Secret: "line\r\nAction: Originate", Auth: "plain"}); err == nil ||
		!strings.Contains(err.Error(), "line break") {
		t.Errorf("a secret with CRLF: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logins) != 1 || logins[0] != "ctisecret/off" {
		t.Errorf("logins = %q, want one with Events: off", logins)
	}
}

func TestDoctorNamesBadAsteriskLists(t *testing.T) {
	addr := fakeAMI(t, amiAnswers(func(asterisk.Message) string { return "Response: Error\r\nMessage: Authentication failed\r\n" }))
	out, _ := runDoctor(t, asteriskEnv(addr, "SWITCHBOARD_AMI_EXTENSIONS", "1001,1001=desk-2", "SWITCHBOARD_AMI_REASONS", "lunch:Lunch,lunch:Other"))
	for _, w := range []string{"setting SWITCHBOARD_AMI_EXTENSIONS", "extension 1001 is listed twice", "setting SWITCHBOARD_AMI_REASONS", `code "lunch" is listed twice`} {
		if !strings.Contains(out, w) {
			t.Errorf("report does not say %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "every setting is valid") {
		t.Errorf("report calls the settings valid:\n%s", out)
	}
}
