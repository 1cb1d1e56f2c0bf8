package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

func runDoctor(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), []string{"doctor"}, func(k string) string { return env[k] }, &out)
	return out.String(), err
}

// doctorAgainst runs the doctor with the HTTP client of a fake org served
// over TLS.
func doctorAgainst(t *testing.T, org *httptest.Server, env map[string]string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := doctorWith(context.Background(), nil, func(k string) string { return env[k] }, &out, org.Client())
	return out.String(), err
}

func TestDoctorInDemoModePrintsACleanReport(t *testing.T) {
	out, err := runDoctor(t, nil)
	if err != nil || !strings.Contains(out, "No problems found.") || strings.Contains(out, "FAIL") {
		t.Fatalf("err %v, report:\n%s", err, out)
	}
	for _, name := range []string{"settings", "public URL", "Redis", "PBX link", "Salesforce JWT login", "call center definition", "CSP frame-ancestors", "Flow API"} {
		if !strings.Contains(out, "ok    "+name) {
			t.Errorf("no ok line for %s:\n%s", name, out)
		}
	}
}

// startRedis starts a redis-server of the test's own on a free port with
// the given extra arguments; it is stopped when the test ends.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (scripts/test-deps.sh installs it)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin, append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", t.TempDir(), "--daemonize", "no"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("redis-server did not start")
	}
	return "redis://127.0.0.1:" + port + "/0"
}

// certPEM is a self-signed certificate for k that expires at notAfter.
func certPEM(t *testing.T, k *rsa.PrivateKey, notAfter time.Time) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Switchboard_Flow"},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func pemKey(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// goodProduction is a deployment with nothing wrong: a fake org that
// accepts the key, a persistent Redis, an https public URL.
func goodProduction(t *testing.T) (map[string]string, *httptest.Server) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	org := fakeorg.Demo(fakeorg.Options{ClientID: "cid", PublicKey: &key.PublicKey})
	srv := httptest.NewTLSServer(org.Handler())
	t.Cleanup(srv.Close)
	return map[string]string{
		"SWITCHBOARD_SF_LOGIN_URL":    srv.URL,
		"SWITCHBOARD_SF_AUDIENCE":     "https://login.salesforce.com",
		"SWITCHBOARD_SF_CLIENT_ID":    "cid",
		"SWITCHBOARD_SF_USERNAME":     fakeorg.IntegrationUsername,
		"SWITCHBOARD_SF_PRIVATE_KEY":  pemKey(key),
		"SWITCHBOARD_SESSION_KEYS":    "k1:0123456789abcdef0123456789abcdef",
		"SWITCHBOARD_PUBLIC_URL":      "https://cti.example.com",
		"SWITCHBOARD_REDIS_URL":       startRedis(t, "--appendonly", "yes"),
		"SWITCHBOARD_FRAME_ANCESTORS": "https://*.force.com https://*.salesforce.com https://*.salesforce-setup.com",
		"SWITCHBOARD_FLOW_JWT_ISSUER": "salesforce-org",
		"SWITCHBOARD_FLOW_JWT_CERT":   certPEM(t, key, time.Now().Add(365*24*time.Hour)),
	}, srv
}

func TestDoctorFindsEachBrokenSetting(t *testing.T) {
	good, org := goodProduction(t)
	t.Run("a good production setup passes", func(t *testing.T) {
		out, err := doctorAgainst(t, org, good)
		if err != nil || !strings.Contains(out, "No problems found.") {
			t.Fatalf("err %v, report:\n%s", err, out)
		}
	})
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	unpersisted := startRedis(t, "--appendonly", "no", "--save", "")
	cases := []struct {
		name    string
		change  map[string]string
		check   string // the failing line names this
		wantFix string
	}{
		{"a missing setting", map[string]string{"SWITCHBOARD_SESSION_KEYS": ""}, "setting SWITCHBOARD_SESSION_KEYS", "required outside demo mode"},
		{"an http public URL", map[string]string{"SWITCHBOARD_PUBLIC_URL": "http://cti.example.com"}, "public URL", "serve Switchboard behind TLS"},
		{"a local public URL", map[string]string{"SWITCHBOARD_PUBLIC_URL": "https://127.0.0.1:8443"}, "public URL", "public host name"},
		{"an unreachable Redis", map[string]string{"SWITCHBOARD_REDIS_URL": "redis://127.0.0.1:1/0"}, "Redis reachable", "correct SWITCHBOARD_REDIS_URL"},
		{"a Redis that keeps nothing on disk", map[string]string{"SWITCHBOARD_REDIS_URL": unpersisted}, "Redis persistent", "appendonly yes"},
		{"a private key whose certificate is not on the connected app", map[string]string{"SWITCHBOARD_SF_PRIVATE_KEY": pemKey(other)}, "Salesforce JWT login", "upload the certificate"},
		{"an integration user who is not pre-authorized", map[string]string{"SWITCHBOARD_SF_USERNAME": "nobody@example.com"}, "Salesforce JWT login", "pre-authorize the integration user"},
		{"a wrong JWT audience", map[string]string{"SWITCHBOARD_SF_AUDIENCE": "https://elsewhere.example.com"}, "Salesforce JWT login", "SWITCHBOARD_SF_AUDIENCE"},
		{"frame-ancestors missing Lightning", map[string]string{"SWITCHBOARD_FRAME_ANCESTORS": "https://*.salesforce.com"}, "CSP frame-ancestors", "https://*.force.com"},
		{"frame-ancestors open to all", map[string]string{"SWITCHBOARD_FRAME_ANCESTORS": "*"}, "CSP frame-ancestors", "leave SWITCHBOARD_FRAME_ANCESTORS empty"},
		{"a Flow API client with a short secret", map[string]string{"SWITCHBOARD_FLOW_CLIENTS": "flows:short"}, "setting SWITCHBOARD_FLOW_CLIENTS", "at least 32 characters"},
		{"a Flow JWT issuer without a certificate", map[string]string{"SWITCHBOARD_FLOW_JWT_CERT": ""}, "setting SWITCHBOARD_FLOW_JWT_CERT_FILE", "required with SWITCHBOARD_FLOW_JWT_ISSUER"},
		{"a Flow JWT certificate that is a private key", map[string]string{"SWITCHBOARD_FLOW_JWT_ISSUER": "salesforce-org", "SWITCHBOARD_FLOW_JWT_CERT": pemKey(other)}, "setting SWITCHBOARD_FLOW_JWT_CERT", "never the private key"},
		{"an expired Flow JWT certificate", map[string]string{"SWITCHBOARD_FLOW_JWT_ISSUER": "salesforce-org", "SWITCHBOARD_FLOW_JWT_CERT": certPEM(t, other, time.Now().Add(-time.Hour))}, "Flow API", "create a new certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range good {
				env[k] = v
			}
			for k, v := range tc.change {
				env[k] = v
			}
			out, err := doctorAgainst(t, org, env)
			if err == nil {
				t.Fatalf("no error; report:\n%s", out)
			}
			failing := ""
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "FAIL  "+tc.check) {
					failing = line
				}
			}
			if failing == "" || !strings.Contains(out, "fix: ") || !strings.Contains(out, tc.wantFix) {
				t.Errorf("want a FAIL line for %q with a fix containing %q; report:\n%s", tc.check, tc.wantFix, out)
			}
		})
	}
}

func TestFrameAncestorsMustCoverTheOrgsDomains(t *testing.T) {
	cfg := Config{}
	for _, tc := range []struct {
		fa, instance string
		ok           bool
		missing      string
	}{
		{"", "https://acme.my.salesforce.com", true, ""},
		{"https://acme.lightning.force.com https://acme.my.salesforce.com https://acme--c.vf.force.com https://acme.my.salesforce-setup.com", "https://acme.my.salesforce.com", true, ""},
		{"https://acme.lightning.force.com", "https://acme.my.salesforce.com", false, "https://acme.my.salesforce.com"},
		{"https://*.force.com https://*.salesforce.com", "https://acme--dev.sandbox.my.salesforce.com", false, "https://acme--dev.sandbox.my.salesforce-setup.com"},
		{"https://*.force.com https://*.salesforce.com https://*.salesforce-setup.com", "https://acme--dev.sandbox.my.salesforce.com", true, ""},
		{"'self' https://other.lightning.force.com", "https://acme.my.salesforce.com", false, "https://acme.lightning.force.com"},
	} {
		cfg.FrameAncestors = tc.fa
		c := checkFrameAncestors(cfg, tc.instance)
		if c.ok != tc.ok || !strings.Contains(c.detail, tc.missing) {
			t.Errorf("frame-ancestors %q for %s: ok %v %q, want ok %v mentioning %q", tc.fa, tc.instance, c.ok, c.detail, tc.ok, tc.missing)
		}
	}
}

func TestDoctorNamesTheURLTheServerWouldUse(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"", "http://localhost:8080"},
		{":8080", "http://localhost:8080"},
		{"127.0.0.1:18480", "http://127.0.0.1:18480"},
		{":9000", "http://127.0.0.1:9000"},
	} {
		t.Run("SWITCHBOARD_ADDR="+tc.addr, func(t *testing.T) {
			env := map[string]string{}
			if tc.addr != "" {
				env["SWITCHBOARD_ADDR"] = tc.addr
			}
			out, err := runDoctor(t, env)
			if err != nil {
				t.Fatalf("err %v, report:\n%s", err, out)
			}
			for _, name := range []string{"public URL", "Flow API"} {
				var line string
				for l := range strings.SplitSeq(out, "\n") {
					if strings.Contains(l, "ok    "+name) {
						line = l
					}
				}
				if !strings.Contains(line, tc.want) || strings.Contains(line, "localhost127") {
					t.Errorf("%s line %q, want %s in it:\n%s", name, line, tc.want, out)
				}
			}
			if got := defaultPublicURL(cmpAddr(tc.addr), configAddr(cmpAddr(tc.addr))); got != tc.want {
				t.Errorf("defaultPublicURL = %q, want %q", got, tc.want)
			}
		})
	}
}

func cmpAddr(a string) string {
	if a == "" {
		return ":8080"
	}
	return a
}
