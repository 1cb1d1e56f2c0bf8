package salesforce_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-cti/switchboard/salesforce"
)

func TestAConnectionFailureSaysWhichHostAndWhy(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tlsServer := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsServer.Close()
	noDNS := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.DNSError{Err: "no such host", Name: "login.example.invalid", IsNotFound: true}
	}}}
	tests := []struct {
		name, loginURL string
		client         *http.Client
		want           []string
	}{
		{"nothing listens", "http://127.0.0.1:1", http.DefaultClient, []string{"127.0.0.1:1", "connection refused"}},
		{"an untrusted certificate", tlsServer.URL, http.DefaultClient, []string{strings.TrimPrefix(tlsServer.URL, "https://"), "TLS"}},
		{"an unknown host name", "https://login.example.invalid", noDNS, []string{"login.example.invalid", "DNS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := salesforce.NewJWTSource(salesforce.JWTConfig{LoginURL: tc.loginURL, ClientID: "c", Username: "u@example.invalid", Key: key, HTTPClient: tc.client})
			_, err := src.Token(context.Background())
			if !errors.Is(err, salesforce.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
}
