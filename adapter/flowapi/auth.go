package flowapi

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v5"
	"golang.org/x/time/rate"

	"github.com/switchboard-cti/switchboard/adapter"
)

// Scopes, one per kind of operation. A client is granted a set of them; an
// operation needs its one scope.
const (
	ScopeCallsRead     = "calls.read"     // read a user's current call
	ScopeCallsWrite    = "calls.write"    // click-to-dial
	ScopePresenceRead  = "presence.read"  // read DND / Make Busy
	ScopePresenceWrite = "presence.write" // set DND / Make Busy
	ScopeCodesRead     = "codes.read"     // list reason, account, classification codes
	ScopeTasksWrite    = "tasks.write"    // log an external call as a Task
)

// AllScopes lists every scope.
var AllScopes = []string{ScopeCallsRead, ScopeCallsWrite, ScopePresenceRead, ScopePresenceWrite, ScopeCodesRead, ScopeTasksWrite}

// Client is an OAuth 2.0 client allowed the client-credentials grant at
// POST /api/flow/v1/oauth/token (RFC 6749 section 4.4).
type Client struct {
	ID     string
	Secret string
	// Scopes the client may be granted.
	Scopes []string
}

// NamedCredential describes the JWTs a Salesforce Named Credential mints
// (External Credential, authentication protocol JWT): signed RS256 or
// RS512 with the org's certificate; iss, aud and exp as configured in the
// External Credential's JWT claims (Salesforce Help, "Set Up JWT Claims for
// External Credentials").
type NamedCredential struct {
	// Issuer is the iss claim the External Credential sets.
	Issuer string
	// Audience is the aud claim (default: the deployment's public URL).
	Audience string
	// Key is the public key of the certificate the JWT is signed with.
	Key *rsa.PublicKey
	// Scopes granted to the Named Credential. A JWT may narrow them with a
	// custom "scope" claim (space-separated).
	Scopes []string
}

// AuthConfig is how the Flow API authenticates callers. Either or both of
// NamedCredential and Clients may be set; with neither, every call is 401.
type AuthConfig struct {
	NamedCredential *NamedCredential
	Clients         []Client
	// TokenTTL is the lifetime of the access tokens the token endpoint
	// issues (default 10m).
	TokenTTL time.Duration
	// MaxJWTLifetime bounds exp-iat of a Named Credential JWT (default 5m):
	// a long-lived JWT is refused even if it has not expired.
	MaxJWTLifetime time.Duration
	// Leeway allows for clock skew on exp, nbf and iat (default 30s).
	Leeway time.Duration
	// RatePerMinute is each client's request limit (default 120); the
	// same number may be spent in one burst.
	RatePerMinute int
}

func (c *AuthConfig) defaults() {
	if c.TokenTTL <= 0 {
		c.TokenTTL = 10 * time.Minute
	}
	if c.MaxJWTLifetime <= 0 {
		c.MaxJWTLifetime = 5 * time.Minute
	}
	if c.Leeway <= 0 {
		c.Leeway = 30 * time.Second
	}
	if c.RatePerMinute <= 0 {
		c.RatePerMinute = 120
	}
}

// tokenIssuer is the iss of the access tokens the token endpoint issues.
const tokenIssuer = "switchboard-flow"

// ParseClients parses SWITCHBOARD_FLOW_CLIENTS: clients separated by
// commas, each "id:secret" or "id:secret:scope scope ..." (no scopes means
// all). Secrets are at least 32 characters.
func ParseClients(s string) ([]Client, error) {
	var out []Client
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.SplitN(part, ":", 3)
		if len(f) < 2 || f[0] == "" || len(f[0]) > 64 {
			return nil, errors.New("each client is id:secret or id:secret:scopes (id 1-64 characters)")
		}
		if len(f[1]) < 32 {
			return nil, fmt.Errorf("client %q: the secret must have at least 32 characters", f[0])
		}
		c := Client{ID: f[0], Secret: f[1], Scopes: AllScopes}
		if len(f) == 3 && strings.TrimSpace(f[2]) != "" {
			sc, err := ParseScopes(f[2])
			if err != nil {
				return nil, fmt.Errorf("client %q: %w", f[0], err)
			}
			c.Scopes = sc
		}
		for _, o := range out {
			if o.ID == c.ID {
				return nil, fmt.Errorf("client %q is listed twice", c.ID)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// ParseScopes parses a space- (or plus-) separated scope list; every scope
// must be one of AllScopes. An empty list means all.
func ParseScopes(s string) ([]string, error) {
	fs := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '+' })
	if len(fs) == 0 {
		return AllScopes, nil
	}
	for _, sc := range fs {
		if !slices.Contains(AllScopes, sc) {
			return nil, fmt.Errorf("unknown scope %q (use %s)", sc, strings.Join(AllScopes, ", "))
		}
	}
	return fs, nil
}

// ParsePublicKey reads the PEM certificate (as Salesforce's Certificate and
// Key Management downloads it) or PEM public key the Named Credential
// signs with. Only RSA keys: Named Credentials sign RS256 or RS512.
func ParsePublicKey(b []byte) (*rsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not PEM: paste the certificate from Setup > Certificate and Key Management (-----BEGIN CERTIFICATE-----)")
	}
	var pub crypto.PublicKey
	switch blk.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		pub = cert.PublicKey
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		pub = k
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		pub = k
	default:
		return nil, fmt.Errorf("PEM block %q: give a CERTIFICATE or PUBLIC KEY (never the private key)", blk.Type)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key: Named Credentials sign JWTs with RS256 or RS512")
	}
	return rk, nil
}

// principal is an authenticated caller.
type principal struct {
	// client names the caller for rate limits and logs: the client id, or
	// "jwt:" + the Named Credential's issuer.
	client string
	scopes []string
}

// authenticator checks bearer tokens, issues access tokens and limits
// rates.
type authenticator struct {
	cfg AuthConfig
	now func() time.Time

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func newAuthenticator(cfg AuthConfig, now func() time.Time) *authenticator {
	cfg.defaults()
	return &authenticator{cfg: cfg, now: now, limiters: map[string]*rate.Limiter{}}
}

func (a *authenticator) client(id string) (Client, bool) {
	for _, c := range a.cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

// tokenKey derives a client's access-token signing key from its secret:
// every instance can verify any instance's tokens, and changing the secret
// revokes them.
func tokenKey(c Client) []byte {
	m := hmac.New(sha256.New, []byte(c.Secret))
	m.Write([]byte("switchboard flow access token v1\x00" + c.ID))
	return m.Sum(nil)
}

func unauthorized(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, adapter.ErrUnauthorized)...)
}

const bearerHelp = "send Authorization: Bearer <token>, a JWT from the Salesforce Named Credential or an access token from POST " + Base + "/oauth/token"

// authenticate checks the request's bearer token (ErrUnauthorized with
// what to fix).
func (a *authenticator) authenticate(r *http.Request) (principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return principal{}, unauthorized("no Authorization header: %s", bearerHelp)
	}
	scheme, raw, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return principal{}, unauthorized("Authorization: not a Bearer token: %s", bearerHelp)
	}
	raw = strings.TrimSpace(raw)
	if len(raw) > 8192 {
		return principal{}, unauthorized("bearer token: longer than 8192 bytes")
	}
	claims := jwt.MapClaims{}
	var kind string // "client" or "jwt"
	var cl Client
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256", "RS512", "HS256"}), jwt.WithTimeFunc(a.now),
		jwt.WithLeeway(a.cfg.Leeway), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	_, err := p.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		iss, _ := claims["iss"].(string)
		alg, _ := t.Header["alg"].(string)
		nc := a.cfg.NamedCredential
		switch {
		case iss == tokenIssuer && alg == "HS256":
			sub, _ := claims["sub"].(string)
			c, ok := a.client(sub)
			if !ok {
				return nil, keyErrorf("access token of unknown client %q: ask for a new token", clip(sub, 64))
			}
			kind, cl = "client", c
			return tokenKey(c), nil
		case nc != nil && iss == nc.Issuer && (alg == "RS256" || alg == "RS512"):
			kind = "jwt"
			return nc.Key, nil
		case nc != nil && iss == nc.Issuer:
			return nil, keyErrorf("alg %q: the Named Credential must sign with RS256 or RS512", clip(alg, 10))
		case nc == nil && len(a.cfg.Clients) == 0:
			return nil, keyErrorf("the Flow API has no clients configured: an admin sets SWITCHBOARD_FLOW_JWT_ISSUER and SWITCHBOARD_FLOW_JWT_CERT, or SWITCHBOARD_FLOW_CLIENTS")
		default:
			return nil, keyErrorf("unknown issuer %q: set the Named Credential's JWT issuer to the one configured in SWITCHBOARD_FLOW_JWT_ISSUER", clip(iss, 80))
		}
	})
	if err != nil {
		return principal{}, explainJWT(err)
	}
	if kind == "client" {
		if aud, _ := claims.GetAudience(); !slices.Contains(aud, tokenIssuer) {
			return principal{}, unauthorized("access token: wrong audience")
		}
		sc, _ := claims["scope"].(string)
		return principal{client: cl.ID, scopes: intersect(strings.Fields(sc), cl.Scopes)}, nil
	}
	nc := a.cfg.NamedCredential
	aud, _ := claims.GetAudience()
	if !slices.Contains(aud, nc.Audience) {
		return principal{}, unauthorized("JWT aud %q: set the Named Credential's JWT audience to %q", clip(strings.Join(aud, " "), 200), nc.Audience)
	}
	exp, _ := claims.GetExpirationTime()
	start := a.now()
	if iat, _ := claims.GetIssuedAt(); iat != nil {
		start = iat.Time
	}
	if life := exp.Sub(start); life > a.cfg.MaxJWTLifetime+a.cfg.Leeway {
		return principal{}, unauthorized("JWT lifetime %s is longer than %s: set the External Credential's JWT validity period to at most %d seconds",
			life.Round(time.Second), a.cfg.MaxJWTLifetime, int(a.cfg.MaxJWTLifetime/time.Second))
	}
	scopes := nc.Scopes
	if sc, ok := claims["scope"].(string); ok && strings.TrimSpace(sc) != "" {
		scopes = intersect(strings.Fields(sc), nc.Scopes)
	}
	return principal{client: "jwt:" + nc.Issuer, scopes: scopes}, nil
}

// keyError is why no key was found for a token (it names the setting).
type keyError struct{ msg string }

func (e *keyError) Error() string { return e.msg }

func keyErrorf(format string, args ...any) error { return &keyError{msg: fmt.Sprintf(format, args...)} }

// explainJWT turns a JWT parse failure into a 401 that says what to fix.
func explainJWT(err error) error {
	var ke *keyError
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthorized("bearer token is not a JWT: %s", bearerHelp)
	case errors.As(err, &ke):
		return unauthorized("bearer token: %s", ke.msg)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthorized("JWT signature does not match: SWITCHBOARD_FLOW_JWT_CERT must be the certificate the Named Credential signs with (or the access token was issued for an old client secret)")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return unauthorized("JWT has no exp claim: tokens must expire")
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthorized("token expired: get a new one (Named Credentials mint one per callout; check the server clock)")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauthorized("token not valid yet (nbf/iat in the future): check the clocks")
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return unauthorized("JWT claims: %v", err)
	}
	return unauthorized("bearer token refused: %v", err)
}

func intersect(want, allowed []string) []string {
	var out []string
	for _, s := range want {
		if slices.Contains(allowed, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// allow spends one request of the client's rate; when none is left it
// returns ErrRateLimited and how long to wait.
func (a *authenticator) allow(client string) (time.Duration, error) {
	a.mu.Lock()
	l := a.limiters[client]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(float64(a.cfg.RatePerMinute)/60), a.cfg.RatePerMinute)
		a.limiters[client] = l
	}
	a.mu.Unlock()
	now := a.now()
	if l.AllowN(now, 1) {
		return 0, nil
	}
	wait := time.Duration(math.Ceil(60/float64(a.cfg.RatePerMinute))) * time.Second
	return wait, fmt.Errorf("client %q sent more than %d requests per minute: wait %s and retry, or ask the admin to raise SWITCHBOARD_FLOW_RATE_LIMIT: %w",
		client, a.cfg.RatePerMinute, wait, ErrRateLimited)
}

// require authenticates the request, spends one request of the caller's
// rate, and checks the operation's scope: 401, then 429, then 403.
func (a *API) require(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			p, err := a.auth.authenticate(c.Request())
			if err != nil {
				return err
			}
			if wait, err := a.auth.allow(p.client); err != nil {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
				return err
			}
			if !slices.Contains(p.scopes, scope) {
				return fmt.Errorf("this operation needs scope %q; the token has %q: grant it to the client (SWITCHBOARD_FLOW_CLIENTS or SWITCHBOARD_FLOW_JWT_SCOPES) or the JWT's scope claim: %w",
					scope, strings.Join(p.scopes, " "), ErrScope)
			}
			c.Set("client", p.client)
			return next(c)
		}
	}
}

// TokenResponse is the token endpoint's answer (RFC 6749 section 5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// token is POST /oauth/token: the client-credentials grant. The client
// authenticates with HTTP Basic or client_id/client_secret form fields
// (RFC 6749 section 2.3.1), as a Salesforce Named Credential does.
func (a *API) token(c *echo.Context) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return fmt.Errorf("body: send Content-Type application/x-www-form-urlencoded with grant_type=client_credentials: %w", adapter.ErrInvalid)
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("body: not a form: %w", adapter.ErrInvalid)
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		return fmt.Errorf("grant_type %q: only client_credentials is supported: %w", clip(gt, 40), adapter.ErrInvalid)
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" || secret == "" {
		return unauthorized("client authentication: send client_id and client_secret (form fields or HTTP Basic)")
	}
	cl, ok := a.auth.client(id)
	if !ok {
		return unauthorized("unknown client_id %q: an admin adds it to SWITCHBOARD_FLOW_CLIENTS", clip(id, 64))
	}
	if wait, err := a.auth.allow(cl.ID); err != nil {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		return err
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(cl.Secret)) != 1 {
		return unauthorized("client %q: wrong client_secret", cl.ID)
	}
	scopes := cl.Scopes
	if s := r.PostForm.Get("scope"); strings.TrimSpace(s) != "" {
		want, err := ParseScopes(s)
		if err != nil {
			return fmt.Errorf("scope: %v: %w", err, adapter.ErrInvalid)
		}
		for _, w := range want {
			if !slices.Contains(cl.Scopes, w) {
				return fmt.Errorf("scope %q is not granted to client %q (it has %q): %w", w, cl.ID, strings.Join(cl.Scopes, " "), ErrScope)
			}
		}
		scopes = want
	}
	now := a.auth.now()
	ttl := a.auth.cfg.TokenTTL
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": tokenIssuer, "aud": tokenIssuer, "sub": cl.ID, "scope": strings.Join(scopes, " "),
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	})
	s, err := tok.SignedString(tokenKey(cl))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, TokenResponse{AccessToken: s, TokenType: "Bearer", ExpiresIn: int(ttl / time.Second), Scope: strings.Join(scopes, " ")})
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
