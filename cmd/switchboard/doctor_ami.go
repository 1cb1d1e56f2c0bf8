package main

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/switchboard-cti/switchboard/pbx/asterisk"
)

// amiLogin logs in to the AMI once over a connection of its own (no
// retries, no back-off) and logs off, so that `switchboard doctor` can say
// why a login fails: the driver's client retries quietly instead. It
// returns the banner's AMI version.
func amiLogin(ctx context.Context, a AMIConfig) (string, error) {
	if strings.ContainsAny(a.User+a.Secret, "\r\n") {
		return "", errors.New("the AMI user or secret holds a line break")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", a.Addr)
	if err != nil {
		return "", err // "dial tcp host:port: connect: connection refused"
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if a.TLS == "on" {
		host, _, _ := net.SplitHostPort(a.Addr)
		tc := tls.Client(conn, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			return "", fmt.Errorf("tls handshake: %w", err)
		}
		conn = tc
	}
	r := asterisk.NewReader(conn)
	ver, err := r.ReadBanner()
	if err != nil {
		return "", fmt.Errorf("no AMI banner: %w", err)
	}
	// do sends one action and reads up to its response (events that the
	// manager sends before it are skipped).
	do := func(act asterisk.Message) (asterisk.Message, error) {
		id := "sb-doctor-" + act.Get("Action")
		act.Set("ActionID", id)
		if _, err := io.WriteString(conn, act.String()); err != nil {
			return asterisk.Message{}, err
		}
		for {
			m, err := r.ReadMessage()
			if err != nil {
				return m, err
			}
			if m.IsResponse() && (m.ActionID() == id || m.ActionID() == "") {
				return m, m.Err()
			}
		}
	}
	login := asterisk.NewAction("Login", "Username", a.User)
	if a.Auth == "md5" {
		ch, err := do(asterisk.NewAction("Challenge", "AuthType", "MD5"))
		if err != nil {
			return ver, fmt.Errorf("md5 challenge: %w", err)
		}
		sum := md5.Sum([]byte(ch.Get("Challenge") + a.Secret))
		login.Add("AuthType", "MD5")
		login.Add("Key", hex.EncodeToString(sum[:]))
	} else {
		login.Add("Secret", a.Secret)
	}
	login.Add("Events", "off")
	if _, err := do(login); err != nil {
		return ver, fmt.Errorf("login as %q: %w", a.User, err)
	}
	_, _ = do(asterisk.NewAction("Logoff"))
	return ver, nil
}

// amiFix says what to change for a failed amiLogin.
func amiFix(a AMIConfig, err error) string {
	var re *asterisk.ResponseError
	var rh tls.RecordHeaderError
	var ne net.Error
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	switch {
	case errors.As(err, &re) && strings.Contains(strings.ToLower(re.Message), "authentication"):
		return "Asterisk refused the login: set SWITCHBOARD_AMI_USER to the manager.conf [section] name and SWITCHBOARD_AMI_SECRET to its secret=, " +
			"and allow this host's address in that section's permit= (Asterisk answers \"Authentication failed\" for both); then `manager reload`"
	case errors.As(err, &re):
		return "Asterisk refused the login; check the manager.conf section of SWITCHBOARD_AMI_USER (with SWITCHBOARD_AMI_AUTH=md5 its secret must be in clear, not an md5 hash)"
	case errors.As(err, &rh):
		return "this port speaks plain AMI, not TLS: set SWITCHBOARD_AMI_TLS=off, or point SWITCHBOARD_AMI_ADDR at manager.conf's tlsbindaddr port (5039 by default)"
	case errors.As(err, &cert):
		return "the AMI's TLS certificate is not trusted for this host name: use a certificate for the name in SWITCHBOARD_AMI_ADDR, signed by a CA in the system's roots"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens there: set SWITCHBOARD_AMI_ADDR to manager.conf's bindaddr:port (5038; 5039 with TLS) and check [general] enabled = yes"
	case errors.As(err, &dns):
		return "the host name does not resolve: correct SWITCHBOARD_AMI_ADDR"
	case errors.Is(err, asterisk.ErrProtocol):
		return "that port is not the Asterisk Manager Interface: set SWITCHBOARD_AMI_ADDR to manager.conf's port (5038 by default; not the SIP or HTTP port)"
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		if a.TLS == "off" && strings.Contains(err.Error(), "banner") {
			return "connected but no AMI banner came: if this is manager.conf's TLS port, set SWITCHBOARD_AMI_TLS=on; else check SWITCHBOARD_AMI_ADDR"
		}
		return "no answer in time: check that this host can reach SWITCHBOARD_AMI_ADDR (firewall, bindaddr) and that Asterisk runs"
	}
	return "check manager.conf (enabled, bindaddr, port, the user's secret, permit= and read/write) and that this host can reach it"
}
