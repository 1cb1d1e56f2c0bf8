package fakeorg

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// authCode is an issued authorization code.
type authCode struct {
	userID      string
	clientID    string
	redirectURI string
	challenge   string
	expires     time.Time
}

// sessionCookie remembers who picked themselves on the authorize page.
const sessionCookie = "fakeorg_sid"

// oauthError writes the token endpoint's {error, error_description}.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// token serves POST /services/oauth2/token: the JWT bearer grant and the
// authorization-code grant with PKCE.
func (o *Org) token(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.countKind("token")
	o.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "invalid request body")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		o.jwtBearer(w, r)
	case "authorization_code":
		o.authorizationCode(w, r)
	case "client_credentials":
		o.clientCredentials(w, r)
	case "":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
	}
}

func (o *Org) jwtBearer(w http.ResponseWriter, r *http.Request) {
	assertion := r.PostForm.Get("assertion")
	opts := []jwt.ParserOption{jwt.WithTimeFunc(o.opt.Now), jwt.WithExpirationRequired(), jwt.WithValidMethods([]string{"RS256"})}
	var claims jwt.MapClaims
	var err error
	if o.opt.PublicKey != nil {
		_, err = jwt.ParseWithClaims(assertion, &claims, func(*jwt.Token) (any, error) { return o.opt.PublicKey, nil }, opts...)
	} else {
		_, _, err = jwt.NewParser(opts...).ParseUnverified(assertion, &claims)
		if err == nil {
			err = jwt.NewValidator(jwt.WithTimeFunc(o.opt.Now), jwt.WithExpirationRequired()).Validate(claims)
		}
	}
	switch {
	case err != nil && strings.Contains(err.Error(), "token is expired"):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "expired authorization code")
		return
	case err != nil:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid assertion")
		return
	}
	iss, _ := claims.GetIssuer()
	if o.opt.ClientID != "" && iss != o.opt.ClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	aud, _ := claims.GetAudience()
	base := o.baseURL(r)
	okAud := false
	for _, a := range aud {
		a = strings.TrimRight(a, "/")
		if a == "https://login.salesforce.com" || a == "https://test.salesforce.com" || a == base {
			okAud = true
		}
	}
	if !okAud {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "audience is invalid")
		return
	}
	sub, _ := claims.GetSubject()
	u, ok := o.userByUsername(sub)
	if !ok || u["unapproved"] == true {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "user hasn't approved this consumer")
		return
	}
	o.issue(w, r, u["Id"].(string))
}

func (o *Org) authorizationCode(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	if o.opt.ClientID != "" && f.Get("client_id") != o.opt.ClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	if o.opt.ClientSecret != "" && f.Get("client_secret") != o.opt.ClientSecret {
		oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return
	}
	o.mu.Lock()
	code, ok := o.codes[f.Get("code")]
	delete(o.codes, f.Get("code")) // codes are single use
	o.mu.Unlock()
	switch {
	case !ok:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid authorization code")
	case o.opt.Now().After(code.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "expired authorization code")
	case code.clientID != f.Get("client_id") && o.opt.ClientID != "":
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid authorization code")
	case code.redirectURI != f.Get("redirect_uri"):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri must match configuration")
	case code.challenge != "" && pkceChallenge(f.Get("code_verifier")) != code.challenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid code verifier")
	default:
		o.issue(w, r, code.userID)
	}
}

// clientCredentials serves the client credentials flow: the connected
// app's key and secret give a token for the app's "run as" user. Off unless
// Options.ClientCredentialsSecret is set.
func (o *Org) clientCredentials(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	if o.opt.ClientCredentialsSecret == "" {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "no client credentials user assigned")
		return
	}
	if (o.opt.ClientID != "" && f.Get("client_id") != o.opt.ClientID) || f.Get("client_secret") != o.opt.ClientCredentialsSecret {
		oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return
	}
	u, ok := o.userByUsername(o.opt.ClientCredentialsUser)
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "no client credentials user assigned")
		return
	}
	o.issue(w, r, u["Id"].(string))
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// issue mints an access token for userID and writes the token response.
func (o *Org) issue(w http.ResponseWriter, r *http.Request, userID string) {
	now := o.opt.Now()
	tok := o.opt.OrgID[:15] + "!AQ" + randomToken(40)
	o.mu.Lock()
	o.sessions[tok] = session{userID: userID, issued: now}
	o.mu.Unlock()
	base := o.baseURL(r)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": tok,
		"scope":        "api",
		"instance_url": base,
		"id":           base + "/id/" + o.opt.OrgID + "/" + userID,
		"token_type":   "Bearer",
		"issued_at":    strconv.FormatInt(now.UnixMilli(), 10),
		"signature":    base64.StdEncoding.EncodeToString([]byte(randomToken(32))),
	})
}

// RevokeAll ends every session, as if they had timed out.
func (o *Org) RevokeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, s := range o.sessions {
		s.revoked = true
		o.sessions[k] = s
	}
}

// Mints returns how many access tokens the org has issued.
func (o *Org) Mints() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sessions)
}

func (o *Org) userByUsername(username string) (map[string]any, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.store["User"]
	if t == nil {
		return nil, false
	}
	for _, id := range t.ids {
		if u := t.recs[id]; strings.EqualFold(u["Username"].(string), username) {
			return u, true
		}
	}
	return nil, false
}

func (o *Org) userByID(id string) (map[string]any, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t := o.store["User"]; t != nil && t.recs[id] != nil {
		return t.recs[id], true
	}
	return nil, false
}

// authorize serves GET /services/oauth2/authorize: a signed-in browser (the
// picker's cookie, else DefaultUser) is sent back with a code; prompt=none
// without one gets error=login_required; otherwise the user picker.
func (o *Org) authorize(w http.ResponseWriter, r *http.Request) { o.authorizeAs(w, r, "") }

// authorizeAs runs the authorization; picked, when set, is the user the
// picker just signed in.
func (o *Org) authorizeAs(w http.ResponseWriter, r *http.Request, picked string) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("redirect_uri") == "" || !redirect.IsAbs() {
		http.Error(w, "OAUTH_ERROR: redirect_uri missing or not absolute", http.StatusBadRequest)
		return
	}
	if o.opt.ClientID != "" && q.Get("client_id") != o.opt.ClientID {
		http.Error(w, "OAUTH_EC_APP_NOT_FOUND: client_id does not match a connected app", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		if s := q.Get("state"); s != "" {
			params.Set("state", s)
		}
		u := *redirect
		uq := u.Query()
		for k, v := range params {
			uq[k] = v
		}
		u.RawQuery = uq.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}, "error_description": {"response type not supported"}})
		return
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "" && m != "S256" {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"code_challenge_method must be S256"}})
		return
	}
	prompt := q.Get("prompt")
	userID := picked
	if userID == "" && prompt != "login" {
		userID = o.signedIn(r)
	}
	if userID != "" {
		back(url.Values{"code": {o.newCode(userID, q)}})
		return
	}
	if prompt == "none" {
		back(url.Values{"error": {"login_required"}, "error_description": {"user is not signed in"}})
		return
	}
	o.picker(w, r)
}

// signedIn returns the browser's user: the cookie, else DefaultUser.
func (o *Org) signedIn(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if u, ok := o.userByUsername(c.Value); ok {
			return u["Id"].(string)
		}
	}
	if o.opt.DefaultUser != "" {
		if u, ok := o.userByUsername(o.opt.DefaultUser); ok {
			return u["Id"].(string)
		}
	}
	return ""
}

func (o *Org) newCode(userID string, q url.Values) string {
	code := "aPrx" + randomToken(40)
	o.mu.Lock()
	o.codes[code] = authCode{userID: userID, clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), expires: o.opt.Now().Add(15 * time.Minute)}
	o.mu.Unlock()
	return code
}

var pickerPage = template.Must(template.New("picker").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo org: choose a user</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#181818}
h1{font-size:1.3rem}p{color:#444}button{display:block;width:100%;text-align:left;margin:.4rem 0;padding:.7rem 1rem;
border:1px solid #c9c9c9;border-radius:.4rem;background:#fff;font-size:1rem;cursor:pointer}
button:hover,button:focus{border-color:#0176d3;background:#f3f9ff}small{color:#666}
</style></head><body>
<h1>Demo org: sign in as</h1>
<p>This is Switchboard's fake Salesforce org. Pick a demo user; no password needed.</p>
<form method="post" action="{{.Action}}">
{{range .Users}}<button type="submit" name="username" value="{{.Username}}"{{if .Hint}} autofocus{{end}}>{{.Name}} <small>ext. {{.Extension}} &middot; {{.Username}}</small></button>
{{end}}</form></body></html>`))

type pickerUser struct {
	Username, Name, Extension string
	Hint                      bool
}

func (o *Org) picker(w http.ResponseWriter, r *http.Request) {
	hint := r.URL.Query().Get("login_hint")
	var users []pickerUser
	o.mu.Lock()
	if t := o.store["User"]; t != nil {
		for _, id := range t.ids {
			u := t.recs[id]
			name, _ := u["Name"].(string)
			ext, _ := u["Extension"].(string)
			un, _ := u["Username"].(string)
			if ext == "" {
				continue // integration users do not answer phones
			}
			users = append(users, pickerUser{Username: un, Name: name, Extension: ext, Hint: strings.EqualFold(un, hint)})
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = pickerPage.Execute(w, map[string]any{"Action": "authorize?" + r.URL.RawQuery, "Users": users})
}

// authorizePick serves the picker's POST: sign the browser in as the chosen
// user and continue the authorization.
func (o *Org) authorizePick(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	u, ok := o.userByUsername(r.PostForm.Get("username"))
	if !ok {
		http.Error(w, "unknown user", http.StatusBadRequest)
		return
	}
	base := o.baseURL(r)
	path := "/"
	if bu, err := url.Parse(base); err == nil && bu.Path != "" {
		path = bu.Path
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: u["Username"].(string), Path: path, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	o.authorizeAs(w, r, u["Id"].(string))
}

// bearerUser authenticates an OAuth endpoint call.
func (o *Org) bearerUser(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	uid, ok := o.authenticate(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, []apiError{{Message: "Session expired or invalid", ErrorCode: "INVALID_SESSION_ID"}})
		return nil, false
	}
	u, ok := o.userByID(uid)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, []apiError{{Message: "Session expired or invalid", ErrorCode: "INVALID_SESSION_ID"}})
		return nil, false
	}
	return u, true
}

// userinfo serves GET /services/oauth2/userinfo (OpenID Connect claims).
func (o *Org) userinfo(w http.ResponseWriter, r *http.Request) {
	u, ok := o.bearerUser(w, r)
	if !ok {
		return
	}
	base := o.baseURL(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"sub":                base + "/id/" + o.opt.OrgID + "/" + u["Id"].(string),
		"user_id":            u["Id"],
		"organization_id":    o.opt.OrgID,
		"preferred_username": u["Username"],
		"nickname":           strings.SplitN(u["Username"].(string), "@", 2)[0],
		"name":               u["Name"],
		"given_name":         u["FirstName"],
		"family_name":        u["LastName"],
		"email":              u["Email"],
		"email_verified":     true,
		"zoneinfo":           "America/Los_Angeles",
		"locale":             "en_US",
		"language":           "en_US",
		"active":             true,
		"user_type":          "STANDARD",
		"updated_at":         o.opt.Now().UTC().Format(time.RFC3339),
	})
}

// identity serves GET /id/{org}/{user} (the identity URL).
func (o *Org) identity(w http.ResponseWriter, r *http.Request) {
	u, ok := o.bearerUser(w, r)
	if !ok {
		return
	}
	if r.PathValue("org") != o.opt.OrgID || !slices.Contains([]string{u["Id"].(string), u["Id"].(string)[:15]}, r.PathValue("user")) {
		writeJSON(w, http.StatusForbidden, []apiError{{Message: "Bad_Id", ErrorCode: "FORBIDDEN"}})
		return
	}
	base := o.baseURL(r)
	v := o.opt.APIVersion
	data := func(p string) string { return fmt.Sprintf("%s/services/data/v{version}/%s", base, p) }
	writeJSON(w, http.StatusOK, map[string]any{
		"id":              base + "/id/" + o.opt.OrgID + "/" + u["Id"].(string),
		"asserted_user":   true,
		"user_id":         u["Id"],
		"organization_id": o.opt.OrgID,
		"username":        u["Username"],
		"nick_name":       strings.SplitN(u["Username"].(string), "@", 2)[0],
		"display_name":    u["Name"],
		"email":           u["Email"],
		"first_name":      u["FirstName"],
		"last_name":       u["LastName"],
		"active":          true,
		"user_type":       "STANDARD",
		"language":        "en_US",
		"locale":          "en_US",
		"utcOffset":       -28800000,
		"timezone":        "America/Los_Angeles",
		"urls": map[string]string{
			"rest":          data(""),
			"sobjects":      data("sobjects/"),
			"search":        data("search/"),
			"query":         data("query/"),
			"recent":        data("recent/"),
			"profile":       base + "/" + u["Id"].(string),
			"custom_domain": base,
		},
		"api_version":        v,
		"is_app_installed":   true,
		"last_modified_date": o.opt.Now().UTC().Format("2006-01-02T15:04:05.000+0000"),
	})
}
