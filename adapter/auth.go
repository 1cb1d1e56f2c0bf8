package adapter

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// IdentityProvider signs agents in: Salesforce's OAuth 2.0 web-server flow
// with PKCE. The salesforce package provides it.
type IdentityProvider interface {
	// AuthorizeURL is where the browser goes to sign in. prompt is
	// PromptNone (show no page: silent), PromptLogin (always show the
	// login page, to switch user) or "" (a page only if needed).
	AuthorizeURL(state, codeChallenge, prompt string) string
	// Login exchanges an authorization code and returns who signed in.
	Login(ctx context.Context, code, verifier string) (salesforce.UserInfo, error)
	// User reads a user's record (the Extension field maps it to a phone).
	User(ctx context.Context, userID string) (salesforce.User, error)
}

// BaseURLProvider is an IdentityProvider that can send the browser back to
// another base URL than the configured one: in demo mode, the host name and
// port the browser used (so the demo works however it is reached).
// AuthorizeURLAt and LoginAt are AuthorizeURL and Login with the callback
// at base + "/auth/callback".
type BaseURLProvider interface {
	AuthorizeURLAt(base, state, codeChallenge, prompt string) string
	LoginAt(ctx context.Context, base, code, verifier string) (salesforce.UserInfo, error)
}

type baseURLKey struct{}

// WithBaseURL returns ctx carrying the browser's base URL for Begin (used
// when the IdentityProvider is a BaseURLProvider).
func WithBaseURL(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, baseURLKey{}, base)
}

func baseURLOf(ctx context.Context) string {
	b, _ := ctx.Value(baseURLKey{}).(string)
	return b
}

// Auth signs agents in and out and keeps their sessions.
type Auth struct {
	IdP        IdentityProvider
	Store      Store
	Switch     pbx.Switch
	SessionTTL time.Duration
	LoginTTL   time.Duration
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewSessionID returns a fresh random session id.
func NewSessionID() string { return randomString(24) }

// safeReturn keeps a return path on this site: a path, no scheme or host.
func safeReturn(p string) string {
	if p == "" || len(p) > 2048 || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/softphone/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/softphone/"
	}
	return p
}

// OAuth prompt values for Begin.
const (
	PromptNone  = "none"
	PromptLogin = "login"
)

// Begin starts a sign-in and returns the URL to send the browser to and
// the OAuth state, which the caller binds to the browser (a cookie) so the
// callback can refuse a state started elsewhere (login CSRF, RFC 6749
// section 10.12).
func (a *Auth) Begin(ctx context.Context, returnPath, prompt string) (authorizeURL, state string, err error) {
	state = randomString(24)
	verifier, challenge := salesforce.NewPKCE()
	pl := PendingLogin{Verifier: verifier, Return: safeReturn(returnPath)}
	bp, ok := a.IdP.(BaseURLProvider)
	if ok {
		pl.Base = baseURLOf(ctx)
	}
	if err := a.Store.PutLogin(ctx, state, pl, a.LoginLifetime()); err != nil {
		return "", "", err
	}
	if pl.Base != "" {
		return bp.AuthorizeURLAt(pl.Base, state, challenge, prompt), state, nil
	}
	return a.IdP.AuthorizeURL(state, challenge, prompt), state, nil
}

// LoginLifetime is how long a sign-in may take between Begin and Complete.
func (a *Auth) LoginLifetime() time.Duration {
	if a.LoginTTL > 0 {
		return a.LoginTTL
	}
	return 10 * time.Minute
}

// Complete finishes a sign-in: it checks state, exchanges the code, maps
// the user to a phone and opens a session.
func (a *Auth) Complete(ctx context.Context, state, code string) (Agent, string, string, error) {
	if state == "" || code == "" || len(state) > 200 || len(code) > 2000 {
		return Agent{}, "", "", refused("missing_state_or_code", fmt.Errorf("sign-in: state and code are required: %w", ErrInvalid))
	}
	pl, err := a.Store.TakeLogin(ctx, state)
	if errors.Is(err, ErrNotFound) {
		return Agent{}, "", "", refused("unknown_state", fmt.Errorf("sign-in: unknown or expired state; start again: %w", ErrUnauthorized))
	}
	if err != nil {
		return Agent{}, "", "", refused("store_unavailable", err)
	}
	var info salesforce.UserInfo
	if bp, ok := a.IdP.(BaseURLProvider); ok && pl.Base != "" {
		info, err = bp.LoginAt(ctx, pl.Base, code, pl.Verifier)
	} else {
		info, err = a.IdP.Login(ctx, code, pl.Verifier)
	}
	if err != nil {
		return Agent{}, "", "", refused("code_exchange_failed", fmt.Errorf("sign-in: %w: %w", ErrUnauthorized, err))
	}
	agent, err := a.agentFor(ctx, info)
	if err != nil {
		return Agent{}, "", "", err
	}
	sid := NewSessionID()
	if err := a.Store.PutSession(ctx, sid, agent.UserID, a.SessionTTL); err != nil {
		return Agent{}, "", "", refused("store_unavailable", err)
	}
	return agent, sid, pl.Return, nil
}

// agentFor maps a Salesforce user to an agent: the User.Extension field
// names the phone; the switch says what kind of phone it is.
func (a *Auth) agentFor(ctx context.Context, info salesforce.UserInfo) (Agent, error) {
	u, err := a.IdP.User(ctx, info.UserID)
	if err != nil {
		return Agent{}, refused("user_not_readable", fmt.Errorf("sign-in: read user %s: %w", info.UserID, err))
	}
	ag := Agent{UserID: info.UserID, Username: info.Username, Name: info.Name, HomeExtension: u.Extension, ACDAgentID: u.ACDAgentID}
	if ag.Name == "" {
		ag.Name = u.Name
	}
	if u.Extension == "" {
		return Agent{}, refused("no_extension", fmt.Errorf("sign-in: user %s has no phone: an admin must set the Extension field on the Salesforce user: %w", info.Username, ErrForbidden))
	}
	devices, err := a.Switch.Devices(ctx)
	if err != nil {
		return Agent{}, refused("pbx_unavailable", fmt.Errorf("sign-in: %w", err))
	}
	found := false
	for _, d := range devices {
		if d.Extension == u.Extension {
			ag.Kind, found = d.Kind, true
		}
	}
	if !found {
		return Agent{}, refused("extension_not_on_pbx", fmt.Errorf("sign-in: extension %s of user %s is not on the phone system: %w", u.Extension, info.Username, ErrForbidden))
	}
	prev, err := a.Store.Agent(ctx, ag.UserID)
	switch {
	case err == nil && prev.Extension != "" && ag.Kind != pbx.KindRegular:
		ag.Extension = prev.Extension // still logged in to a hot desk / ACD set
	case ag.Kind == pbx.KindRegular:
		ag.Extension = u.Extension
	}
	if ag.Extension != "" {
		if err := a.Store.SetDeviceUser(ctx, ag.Extension, ag.UserID); err != nil {
			return Agent{}, refused("store_unavailable", err)
		}
	}
	if err := a.Store.PutAgent(ctx, ag); err != nil {
		return Agent{}, refused("store_unavailable", err)
	}
	return ag, nil
}

// Resolve returns the agent of a live session (ErrUnauthorized).
func (a *Auth) Resolve(ctx context.Context, sid, userID string) (Agent, error) {
	uid, err := a.Store.Session(ctx, sid)
	if errors.Is(err, ErrNotFound) || (err == nil && uid != userID) {
		return Agent{}, fmt.Errorf("session ended; sign in again: %w", ErrUnauthorized)
	}
	if err != nil {
		return Agent{}, err
	}
	ag, err := a.Store.Agent(ctx, uid)
	if errors.Is(err, ErrNotFound) {
		return Agent{}, fmt.Errorf("session ended; sign in again: %w", ErrUnauthorized)
	}
	return ag, err
}

// Logout ends a session.
func (a *Auth) Logout(ctx context.Context, sid string) error {
	return a.Store.DeleteSession(ctx, sid)
}

// SignInRefusal is why a sign-in was refused: Reason is a short
// snake_case code for logs (no personal data), Err the error to answer.
type SignInRefusal struct {
	Reason string
	Err    error
}

func refused(reason string, err error) error { return &SignInRefusal{Reason: reason, Err: err} }

// Error implements error.
func (r *SignInRefusal) Error() string { return r.Err.Error() }

// Unwrap returns the underlying error.
func (r *SignInRefusal) Unwrap() error { return r.Err }

// RefusalReason returns the log reason of a sign-in error ("other" when
// it carries none).
func RefusalReason(err error) string {
	var r *SignInRefusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return "other"
}
