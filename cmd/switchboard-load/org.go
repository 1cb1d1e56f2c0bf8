package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// loadClientID is the fake org's connected app for the run.
const loadClientID = "switchboard-load"

// org is the fake Salesforce org of a run, served on loopback, counting
// requests by kind.
type org struct {
	*fakeorg.Org
	URL    string
	KeyPEM []byte
	// CertPEM is the org's TLS certificate (self-signed, 127.0.0.1).
	CertPEM []byte
	srv     *httptest.Server

	mu     sync.Mutex
	counts map[string]int64
}

// startOrg serves a fake org that delays every REST request by latency.
func startOrg(latency time.Duration) (*org, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("org key: %w", err)
	}
	o := &org{counts: map[string]int64{}}
	o.Org = fakeorg.New(fakeorg.Options{
		ClientID: loadClientID, PublicKey: &key.PublicKey, DailyLimit: 1 << 30,
		Users: []fakeorg.User{{Username: fakeorg.IntegrationUsername, FirstName: "Switchboard", LastName: "Integration"}},
	})
	if latency > 0 {
		o.Inject(fakeorg.Fault{Kind: fakeorg.Latency, Latency: latency, PathPrefix: "/services/data/"})
	}
	o.KeyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	h := o.Handler()
	// Over TLS, as Salesforce is (switchboard refuses an http login
	// URL); the child trusts the test certificate through SSL_CERT_FILE.
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.count(r)
		h.ServeHTTP(w, r)
	}))
	o.srv.StartTLS()
	o.URL = o.srv.URL
	o.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.srv.Certificate().Raw})
	return o, nil
}

// fromRE finds a SOQL query's object.
var fromRE = regexp.MustCompile(`(?i)\bFROM\s+([A-Za-z0-9_]+)`)

// requestKind names a request the way the report counts them.
func requestKind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/services/oauth2/"):
		return "token"
	case !strings.HasPrefix(p, "/services/data/"):
		return "other"
	case strings.Contains(p, "/composite/sobjects"):
		// sObject Collections, as the fake org's own counts name them
		if r.Method == http.MethodPatch {
			return "collections update"
		}
		return "collections create"
	case strings.Contains(p, "/composite"):
		return "composite"
	case strings.Contains(p, "/search") || strings.Contains(p, "/parameterizedSearch"):
		return "search"
	case strings.Contains(p, "/query"):
		// By object (query Campaign, query Task, ...): which lookups
		// the requests go to.
		if m := fromRE.FindStringSubmatch(r.URL.Query().Get("q")); m != nil {
			return "query " + m[1]
		}
		return "query"
	case strings.Contains(p, "/sobjects/Task"):
		if r.Method == http.MethodPost {
			return "task_create"
		}
		return "task_update"
	}
	return "other"
}

func (o *org) count(r *http.Request) {
	k := requestKind(r)
	o.mu.Lock()
	o.counts[k]++
	o.mu.Unlock()
}

// Counts returns the requests seen so far by kind.
func (o *org) Counts() map[string]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := make(map[string]int64, len(o.counts))
	for k, v := range o.counts {
		c[k] = v
	}
	return c
}

func (o *org) close() { o.srv.Close() }
