package salesforce_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

func TestJWTBearerErrors(t *testing.T) {
	e := newEnv(t, nil)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e.org.AddUser(fakeorg.User{Username: "unapproved@demo.switchboard", LastName: "Nobody", Unapproved: true})
	base := salesforce.JWTConfig{LoginURL: e.srv.URL, ClientID: testClientID, Username: fakeorg.IntegrationUsername,
		Key: mustKey(t), HTTPClient: e.srv.Client(), Now: e.clock.Now}
	tests := []struct {
		name     string
		tweak    func(*salesforce.JWTConfig)
		wantCode string
		wantHint string
	}{
		{"an assertion that has expired is refused", func(c *salesforce.JWTConfig) {
			c.Now = func() time.Time { return e.clock.Now().Add(-10 * time.Minute) }
		}, "invalid_grant", "clock"},
		{"the wrong audience is refused", func(c *salesforce.JWTConfig) { c.Audience = "https://example.com" }, "invalid_grant", "audience"},
		{"a signature by another key is refused", func(c *salesforce.JWTConfig) { c.Key = other }, "invalid_grant", "certificate"},
		{"an unknown username is refused", func(c *salesforce.JWTConfig) { c.Username = "nobody@demo.switchboard" }, "invalid_grant", "pre-authorize"},
		{"a user the app does not pre-authorize is refused", func(c *salesforce.JWTConfig) { c.Username = "unapproved@demo.switchboard" }, "invalid_grant", "Admin approved users are pre-authorized"},
		{"the wrong client id is refused", func(c *salesforce.JWTConfig) { c.ClientID = "someone-else" }, "invalid_client_id", "consumer key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.tweak(&cfg)
			_, err := salesforce.NewJWTSource(cfg).Token(context.Background())
			if !errors.Is(err, salesforce.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
			var se *salesforce.Error
			if !errors.As(err, &se) || se.ErrorCode != tc.wantCode || se.StatusCode != http.StatusBadRequest {
				t.Fatalf("err = %#v, want a 400 %s", se, tc.wantCode)
			}
			if !strings.Contains(se.Message, tc.wantHint) {
				t.Errorf("message %q does not tell the operator about %q", se.Message, tc.wantHint)
			}
		})
	}
}

func TestJWTSourceCachesAndRemintsAfterInvalidate(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	t1, err := e.tokens.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := e.tokens.Token(ctx)
	if t1 != t2 || e.tokens.Mints() != 1 {
		t.Fatalf("second Token minted again (mints %d)", e.tokens.Mints())
	}
	if t1.InstanceURL != e.srv.URL || t1.OrgID() != e.org.OrgID() || !strings.HasPrefix(t1.UserID(), "005") {
		t.Errorf("token = instance %q org %q user %q", t1.InstanceURL, t1.OrgID(), t1.UserID())
	}
	e.tokens.Invalidate(salesforce.Token{AccessToken: "some older token"})
	if t3, _ := e.tokens.Token(ctx); t3 != t1 {
		t.Error("invalidating an older token dropped the current one")
	}
	e.tokens.Invalidate(t1)
	t4, err := e.tokens.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if t4.AccessToken == t1.AccessToken || e.tokens.Mints() != 2 {
		t.Errorf("Invalidate then Token did not re-mint (mints %d)", e.tokens.Mints())
	}
}

func TestConcurrentCallersShareOneMint(t *testing.T) {
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	tokens := make([]salesforce.Token, 50)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := e.tokens.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		}()
	}
	wg.Wait()
	if got := e.tokens.Mints(); got != 1 {
		t.Errorf("Mints() = %d for 50 concurrent callers, want 1", got)
	}
	for _, tok := range tokens[1:] {
		if tok != tokens[0] {
			t.Fatal("callers got different tokens")
		}
	}
}

func TestATokenCallerThatGivesUpDoesNotCancelTheMint(t *testing.T) {
	e := newEnv(t, nil)
	e.org.Inject(fakeorg.Fault{Kind: fakeorg.Latency, Latency: 200 * time.Millisecond, Count: 1, PathPrefix: "/services/oauth2/token"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.tokens.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := e.tokens.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.tokens.Mints(); got != 1 {
		t.Errorf("Mints() = %d, want the first mint to be shared", got)
	}
}

func TestLoadPrivateKey(t *testing.T) {
	key := mustKey(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pem     []byte
		wantErr string
	}{
		{"a PKCS #1 key loads", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), ""},
		{"a PKCS #8 key loads", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), ""},
		{"a certificate is not a key", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), "want RSA PRIVATE KEY"},
		{"garbage is refused", []byte("not a key"), "no PEM block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := salesforce.LoadPrivateKey(tc.pem)
			if tc.wantErr == "" {
				if err != nil || !k.Equal(key) {
					t.Fatalf("LoadPrivateKey: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
