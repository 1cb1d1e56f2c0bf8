package salesforce

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// OAuthConfig configures the OAuth 2.0 web-server flow (authorization code
// with PKCE) agents use to sign in from the browser.
type OAuthConfig struct {
	// LoginURL is https://login.salesforce.com, https://test.salesforce.com
	// or the org's My Domain URL.
	LoginURL string
	// ClientID is the connected app's consumer key.
	ClientID string
	// ClientSecret is optional: connected apps may require it in addition
	// to PKCE.
	ClientSecret string
	// RedirectURL is the callback registered on the connected app.
	RedirectURL string
	// HTTPClient defaults to a client with a 10 s timeout.
	HTTPClient *http.Client
}

// UserInfo is who signed in, from /services/oauth2/userinfo.
type UserInfo struct {
	// UserID is the 18-character user id.
	UserID string `json:"user_id"`
	// OrgID is the organization id.
	OrgID string `json:"organization_id"`
	// Username is preferred_username, the Salesforce username.
	Username string `json:"preferred_username"`
	// Name is the display name.
	Name string `json:"name"`
	// Email is the user's email.
	Email string `json:"email"`
}

func (o OAuthConfig) loginURL() string {
	if o.LoginURL == "" {
		return "https://login.salesforce.com"
	}
	return strings.TrimRight(o.LoginURL, "/")
}

func (o OAuthConfig) httpClient() *http.Client {
	if o.HTTPClient == nil {
		return defaultHTTPClient
	}
	return o.HTTPClient
}

// AuthorizeURL returns where to send the browser:
// /services/oauth2/authorize with response_type=code, the client id,
// redirect URL, state and the S256 code challenge; silent adds prompt=none
// (answering error=login_required instead of showing a login page).
func (o OAuthConfig) AuthorizeURL(state, codeChallenge string, silent bool) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {o.ClientID},
		"redirect_uri":          {o.RedirectURL},
		"state":                 {state},
		"code_challenge":        {codeChallenge},
		"code_challenge_method": {"S256"},
	}
	if silent {
		q.Set("prompt", "none")
	}
	return o.loginURL() + "/services/oauth2/authorize?" + q.Encode()
}

// Exchange trades an authorization code and its PKCE verifier for a token.
// A refused code is an *Error matching ErrUnauthorized.
func (o OAuthConfig) Exchange(ctx context.Context, code, codeVerifier string) (Token, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"client_id":     {o.ClientID},
		"redirect_uri":  {o.RedirectURL},
		"code_verifier": {codeVerifier},
	}
	if o.ClientSecret != "" {
		form.Set("client_secret", o.ClientSecret)
	}
	tok, err := postToken(ctx, o.httpClient(), o.loginURL(), form, time.Now)
	if err != nil {
		return Token{}, fmt.Errorf("salesforce: exchange authorization code: %w", err)
	}
	return tok, nil
}

// UserInfo asks the instance who tok belongs to.
func (o OAuthConfig) UserInfo(ctx context.Context, tok Token) (UserInfo, error) {
	base := tok.InstanceURL
	if base == "" {
		base = o.loginURL()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/services/oauth2/userinfo", nil)
	if err != nil {
		return UserInfo{}, fmt.Errorf("salesforce: userinfo: %w", &Error{StatusCode: http.StatusBadRequest, ErrorCode: "BAD_URL", Message: "bad instance URL"})
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := o.httpClient().Do(req)
	if err != nil {
		return UserInfo{}, fmt.Errorf("salesforce: userinfo: %w", connError(ctx, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return UserInfo{}, fmt.Errorf("salesforce: userinfo: %w", connError(ctx, err))
	}
	if resp.StatusCode != http.StatusOK || !isJSON(resp.Header) {
		return UserInfo{}, fmt.Errorf("salesforce: userinfo: %w", parseError(resp.StatusCode, resp.Header, body))
	}
	var ui UserInfo
	if err := json.Unmarshal(body, &ui); err != nil || ui.UserID == "" {
		return UserInfo{}, fmt.Errorf("salesforce: userinfo: %w", &Error{StatusCode: resp.StatusCode, ErrorCode: codeNotJSON, Message: "userinfo without user_id"})
	}
	return ui, nil
}

// NewPKCE returns a fresh PKCE code verifier (43 URL-safe characters) and
// its S256 challenge.
func NewPKCE() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	verifier = base64.RawURLEncoding.EncodeToString(b)
	return verifier, PKCEChallenge(verifier)
}

// PKCEChallenge returns the S256 challenge for verifier:
// base64url(sha256(verifier)), unpadded.
func PKCEChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
