package salesforce

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token is an OAuth access token with the instance it is good for.
type Token struct {
	// AccessToken is the bearer token. Never log it.
	AccessToken string
	// InstanceURL is the org's base URL, e.g. https://acme.my.salesforce.com.
	InstanceURL string
	// ID is the identity URL, https://login.salesforce.com/id/<org>/<user>.
	ID string
	// Issued is when Salesforce issued the token.
	Issued time.Time
}

// OrgID returns the organization id from the identity URL, or "".
func (t Token) OrgID() string { o, _ := t.idParts(); return o }

// UserID returns the user id from the identity URL, or "".
func (t Token) UserID() string { _, u := t.idParts(); return u }

func (t Token) idParts() (org, user string) {
	parts := strings.Split(strings.TrimRight(t.ID, "/"), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "id" {
		return "", ""
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// TokenSource hands out access tokens.
//
// Token returns the cached token or mints one; concurrent callers share one
// mint. It returns an *Error matching ErrUnauthorized when Salesforce
// refuses the credentials and ErrUnavailable when it cannot be reached.
// Invalidate drops stale (the token a call was refused with) so that the
// next Token mints anew; a stale token that has already been replaced is
// ignored, so many callers refused at once cause one mint.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
	Invalidate(stale Token)
}

// JWTConfig configures the OAuth 2.0 JWT bearer flow (server to server, no
// client secret, no refresh token).
type JWTConfig struct {
	// LoginURL is where tokens are minted: https://login.salesforce.com,
	// https://test.salesforce.com or the org's My Domain URL.
	LoginURL string
	// ClientID is the connected app's consumer key (claim iss).
	ClientID string
	// Username is the Salesforce user to act as (claim sub).
	Username string
	// Audience is claim aud; default LoginURL for the two login hosts, else
	// https://login.salesforce.com.
	Audience string
	// Key signs assertions (RS256); its certificate is uploaded to the
	// connected app.
	Key *rsa.PrivateKey
	// HTTPClient defaults to a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now defaults to time.Now.
	Now func() time.Time
}

// JWTSource is a TokenSource minting tokens with the JWT bearer flow. Safe
// for concurrent use.
type JWTSource struct {
	cfg JWTConfig

	mu     sync.Mutex
	tok    Token
	valid  bool
	flight *flight
	mints  int
}

type flight struct {
	done chan struct{}
	tok  Token
	err  error
}

var _ TokenSource = (*JWTSource)(nil)

// NewJWTSource returns a JWTSource for cfg. It does not contact Salesforce.
func NewJWTSource(cfg JWTConfig) *JWTSource {
	cfg.LoginURL = strings.TrimRight(cfg.LoginURL, "/")
	if cfg.LoginURL == "" {
		cfg.LoginURL = "https://login.salesforce.com"
	}
	if cfg.Audience == "" {
		cfg.Audience = defaultAudience(cfg.LoginURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &JWTSource{cfg: cfg}
}

func defaultAudience(loginURL string) string {
	switch loginURL {
	case "https://login.salesforce.com", "https://test.salesforce.com":
		return loginURL
	}
	if strings.Contains(loginURL, ".sandbox.my.salesforce.com") {
		return "https://test.salesforce.com"
	}
	if strings.Contains(loginURL, ".salesforce.com") || strings.Contains(loginURL, ".force.com") {
		return "https://login.salesforce.com"
	}
	return loginURL // a fake org or an Experience Cloud site
}

var defaultHTTPClient = &http.Client{Timeout: 10 * time.Second}

// Token returns the cached token, minting one if there is none.
func (s *JWTSource) Token(ctx context.Context) (Token, error) {
	s.mu.Lock()
	if s.valid {
		t := s.tok
		s.mu.Unlock()
		return t, nil
	}
	f := s.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.flight = f
		s.mints++
		// The mint outlives a caller that gives up: others may be waiting.
		go s.mint(context.WithoutCancel(ctx), f)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return Token{}, fmt.Errorf("salesforce: waiting for token: %w", ctx.Err())
	}
}

func (s *JWTSource) mint(ctx context.Context, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := s.exchange(ctx)
	s.mu.Lock()
	f.tok, f.err = tok, err
	if err == nil {
		s.tok, s.valid = tok, true
	}
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// Invalidate drops stale if it is still the cached token.
func (s *JWTSource) Invalidate(stale Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.valid && s.tok.AccessToken == stale.AccessToken {
		s.valid = false
	}
}

// Mints reports how many token requests this source has started (for tests
// and metrics).
func (s *JWTSource) Mints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mints
}

// Assertion returns a signed JWT bearer assertion for the configured user.
func (s *JWTSource) Assertion() (string, error) {
	if s.cfg.Key == nil {
		return "", &Error{ErrorCode: "invalid_client", StatusCode: http.StatusBadRequest, Message: "no private key configured"}
	}
	now := s.cfg.Now()
	claims := jwt.MapClaims{
		"iss": s.cfg.ClientID,
		"sub": s.cfg.Username,
		"aud": s.cfg.Audience,
		"exp": now.Add(3 * time.Minute).Unix(),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.cfg.Key)
}

func (s *JWTSource) exchange(ctx context.Context) (Token, error) {
	assertion, err := s.Assertion()
	if err != nil {
		return Token{}, fmt.Errorf("salesforce: sign assertion for %s: %w", s.cfg.Username, err)
	}
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	}
	tok, err := postToken(ctx, s.cfg.HTTPClient, s.cfg.LoginURL, form, s.cfg.Now)
	if err != nil {
		return Token{}, fmt.Errorf("salesforce: JWT bearer token for %s: %w", s.cfg.Username, err)
	}
	return tok, nil
}

// postToken posts form to {loginURL}/services/oauth2/token and reads the
// token response.
func postToken(ctx context.Context, hc *http.Client, loginURL string, form url.Values, now func() time.Time) (Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, loginURL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, &Error{StatusCode: http.StatusBadRequest, ErrorCode: "invalid_request", Message: "bad login URL"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Token{}, connError(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return Token{}, connError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Token{}, parseError(resp.StatusCode, resp.Header, body)
	}
	if !isJSON(resp.Header) {
		return Token{}, parseError(resp.StatusCode, resp.Header, body)
	}
	var w struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
		ID          string `json:"id"`
		IssuedAt    string `json:"issued_at"`
	}
	if err := json.Unmarshal(body, &w); err != nil || w.AccessToken == "" || w.InstanceURL == "" {
		return Token{}, &Error{StatusCode: resp.StatusCode, ErrorCode: codeNotJSON, Message: "token response without access_token/instance_url"}
	}
	issued := now()
	if ms, err := strconv.ParseInt(w.IssuedAt, 10, 64); err == nil {
		issued = time.UnixMilli(ms)
	}
	return Token{AccessToken: w.AccessToken, InstanceURL: strings.TrimRight(w.InstanceURL, "/"), ID: w.ID, Issued: issued}, nil
}

// connError describes a request that got no response. Context errors are
// returned as they are, so callers can tell cancellation from an outage.
func connError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue *url.Error
	host := ""
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
	}
	msg := "connection failed: " + netReason(err)
	if host != "" {
		msg = "cannot reach " + host + ": " + netReason(err)
	}
	return &Error{ErrorCode: codeConnection, Message: msg}
}

// netReason says why a request got no response, in the operator's terms
// (no addresses beyond the host, no tokens).
func netReason(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var unk x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var inv x509.CertificateInvalidError
	var ne net.Error
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "DNS: no such host"
		}
		return "DNS lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &unk):
		return "TLS: certificate signed by an unknown authority"
	case errors.As(err, &hostErr):
		return "TLS: certificate is not valid for this host"
	case errors.As(err, &inv):
		return "TLS: certificate invalid or expired"
	case errors.As(err, &certErr):
		return "TLS: certificate not trusted"
	case errors.As(err, &recErr):
		return "TLS: the server does not speak TLS"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	}
	return "connection failed"
}

// LoadPrivateKey parses an RSA private key in PEM form (PKCS #1 "RSA
// PRIVATE KEY" or PKCS #8 "PRIVATE KEY").
func LoadPrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("salesforce: private key: no PEM block found")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("salesforce: private key: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("salesforce: private key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("salesforce: private key: %T is not RSA (JWT bearer needs RS256)", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("salesforce: private key: PEM block %q, want RSA PRIVATE KEY or PRIVATE KEY", block.Type)
}

// NewJWTUserSources returns a func giving one JWTSource per username, all
// sharing cfg except Username. Use it as Config.UserTokens so Tasks are
// created as the agent (the agent must be pre-authorized for the connected
// app).
func NewJWTUserSources(cfg JWTConfig) func(username string) TokenSource {
	var mu sync.Mutex
	sources := map[string]*JWTSource{}
	return func(username string) TokenSource {
		mu.Lock()
		defer mu.Unlock()
		s, ok := sources[username]
		if !ok {
			c := cfg
			c.Username = username
			s = NewJWTSource(c)
			sources[username] = s
		}
		return s
	}
}
