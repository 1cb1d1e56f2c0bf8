package flowapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-cti/switchboard/adapter/flowapi"
)

func TestBadTokensAre401WithWhatToFix(t *testing.T) {
	e := newEnv(t, nil)
	forged := func() string {
		e2 := *e
		e2.key = otherKey
		return e2.jwtFor(t, nil)
	}()
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": ncIssuer, "aud": ncAudience, "exp": e.clock.Now().Add(time.Minute).Unix()}).SignedString([]byte("x"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": ncIssuer, "aud": ncAudience, "exp": e.clock.Now().Add(time.Minute).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	cases := []struct {
		name, header, msg string
	}{
		{"no Authorization header", "", "no Authorization header"},
		{"a Basic header", "Basic Zm9vOmJhcg==", "not a Bearer token"},
		{"a token that is not a JWT", "Bearer not-a-jwt", "not a JWT"},
		{"a JWT signed with another key", "Bearer " + forged, "SWITCHBOARD_FLOW_JWT_CERT"},
		{"an expired JWT", "Bearer " + e.jwtFor(t, func(c jwt.MapClaims) {
			c["iat"] = e.clock.Now().Add(-5 * time.Minute).Unix()
			c["exp"] = e.clock.Now().Add(-4 * time.Minute).Unix()
		}), "token expired"},
		{"a JWT without exp", "Bearer " + e.jwtFor(t, func(c jwt.MapClaims) { delete(c, "exp") }), "no exp claim"},
		{"a JWT living an hour", "Bearer " + e.jwtFor(t, func(c jwt.MapClaims) { c["exp"] = e.clock.Now().Add(time.Hour).Unix() }), "validity period"},
		{"a JWT living an hour without iat", "Bearer " + e.jwtFor(t, func(c jwt.MapClaims) {
			delete(c, "iat")
			c["exp"] = e.clock.Now().Add(time.Hour).Unix()
		}), "validity period"},
		{"a JWT for another audience", "Bearer " + e.jwtFor(t, func(c jwt.MapClaims) { c["aud"] = "https://elsewhere.example.com" }), "JWT audience"},
		{"a JWT from an unknown issuer", "Bearer " + e.jwtFor(t, func(c jwt.MapClaims) { c["iss"] = "someone-else" }), "unknown issuer"},
		{"a JWT issued in the future", "Bearer " + e.jwtFor(t, func(c jwt.MapClaims) { c["iat"] = e.clock.Now().Add(time.Hour).Unix() }), "not valid yet"},
		{"an HS256 JWT claiming the Named Credential's issuer", "Bearer " + hs, "RS256 or RS512"},
		{"an unsigned JWT", "Bearer " + none, "signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+flowapi.Base+"/codes", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			r := send(t, req)
			wantError(t, r, http.StatusUnauthorized, "invalid_token", tc.msg)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("a good JWT is accepted", func(t *testing.T) {
		if r := e.do(t, "GET", flowapi.Base+"/codes", e.jwtFor(t, nil), nil); r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
	})
	t.Run("an RS512 JWT is accepted", func(t *testing.T) {
		now := e.clock.Now()
		s, _ := jwt.NewWithClaims(jwt.SigningMethodRS512, jwt.MapClaims{"iss": ncIssuer, "aud": ncAudience, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}).SignedString(testKey)
		if r := e.do(t, "GET", flowapi.Base+"/codes", s, nil); r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
	})
}

func TestNoClientsConfiguredSaysWhatToSet(t *testing.T) {
	e := newEnv(t, func(c *flowapi.AuthConfig) { c.NamedCredential, c.Clients = nil, nil })
	r := e.do(t, "GET", flowapi.Base+"/codes", e.jwtFor(t, nil), nil)
	wantError(t, r, http.StatusUnauthorized, "invalid_token", "SWITCHBOARD_FLOW_CLIENTS")
}

func token(t testing.TB, e *env, form url.Values, basicID, basicSecret string) resp {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+flowapi.Base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(basicID, basicSecret)
	}
	return send(t, req)
}

func mustToken(t testing.TB, e *env, id, sec, scope string) string {
	t.Helper()
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}}
	if scope != "" {
		f.Set("scope", scope)
	}
	r := token(t, e, f, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	s, _ := r.body["access_token"].(string)
	return s
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, nil)
	t.Run("a client gets a token with form fields and uses it", func(t *testing.T) {
		r := token(t, e, url.Values{"grant_type": {"client_credentials"}, "client_id": {"flows"}, "client_secret": {secret}}, "", "")
		if r.status != 200 || r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(600) || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("token: %d %v %v", r.status, r.body, r.header)
		}
		if r2 := e.do(t, "GET", flowapi.Base+"/codes", r.body["access_token"].(string), nil); r2.status != 200 {
			t.Fatalf("codes: %d %s", r2.status, r2.raw)
		}
	})
	t.Run("a client gets a token with HTTP Basic", func(t *testing.T) {
		r := token(t, e, url.Values{"grant_type": {"client_credentials"}}, "flows", secret)
		if r.status != 200 {
			t.Fatalf("token: %d %s", r.status, r.raw)
		}
	})
	t.Run("a token expires after its TTL", func(t *testing.T) {
		tok := mustToken(t, e, "flows", secret, "")
		e.clock.Advance(11 * time.Minute)
		wantError(t, e.do(t, "GET", flowapi.Base+"/codes", tok, nil), 401, "invalid_token", "token expired")
	})
	t.Run("a token made with a guessed key is refused", func(t *testing.T) {
		now := e.clock.Now()
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "switchboard-flow", "aud": "switchboard-flow", "sub": "flows", "scope": "codes.read", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}).SignedString([]byte(secret))
		wantError(t, e.do(t, "GET", flowapi.Base+"/codes", s, nil), 401, "invalid_token", "signature")
	})
	bad := []struct {
		name     string
		form     url.Values
		ctype    string
		status   int
		code, in string
	}{
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {"flows"}, "client_secret": {"nope"}}, "", 401, "invalid_token", "wrong client_secret"},
		{"unknown client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"who"}, "client_secret": {secret}}, "", 401, "invalid_token", "unknown client_id"},
		{"no credentials", url.Values{"grant_type": {"client_credentials"}}, "", 401, "invalid_token", "client_id and client_secret"},
		{"another grant type", url.Values{"grant_type": {"password"}, "client_id": {"flows"}, "client_secret": {secret}}, "", 400, "invalid_input", "only client_credentials"},
		{"an unknown scope", url.Values{"grant_type": {"client_credentials"}, "client_id": {"flows"}, "client_secret": {secret}, "scope": {"root"}}, "", 400, "invalid_input", "unknown scope"},
		{"a scope not granted", url.Values{"grant_type": {"client_credentials"}, "client_id": {"reader"}, "client_secret": {secret + "-reader"}, "scope": {"calls.write"}}, "", 403, "insufficient_scope", "not granted"},
		{"a JSON body", nil, "application/json", 400, "invalid_input", "x-www-form-urlencoded"},
	}
	for _, tc := range bad {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			var r resp
			if tc.ctype != "" {
				r = e.do(t, "POST", flowapi.Base+"/oauth/token", "", `{"grant_type":"client_credentials"}`)
			} else {
				r = token(t, e, tc.form, "", "")
			}
			wantError(t, r, tc.status, tc.code, tc.in)
		})
	}
}

func TestWrongScopeIs403(t *testing.T) {
	e := newEnv(t, nil)
	reader := mustToken(t, e, "reader", secret+"-reader", "")
	narrowed := mustToken(t, e, "flows", secret, "codes.read")
	jwtCodes := e.jwtFor(t, func(c jwt.MapClaims) { c["scope"] = "codes.read" })
	cases := []struct {
		name, method, path, tok, scope string
		body                           any
	}{
		{"a reader dials", "POST", "/users/" + alexID + "/calls", reader, "calls.write", map[string]string{"number": "1002"}},
		{"a reader sets presence", "PATCH", "/users/" + alexID + "/presence", reader, "presence.write", map[string]bool{"dnd": true}},
		{"a reader reads a call", "GET", "/users/" + alexID + "/call", reader, "calls.read", nil},
		{"a reader logs a call", "POST", "/users/" + alexID + "/tasks", reader, "tasks.write", map[string]string{"number": "+15551234567", "direction": "Inbound"}},
		{"a token narrowed to codes reads presence", "GET", "/users/" + alexID + "/presence", narrowed, "presence.read", nil},
		{"a JWT whose scope claim says codes dials", "POST", "/users/" + alexID + "/calls", jwtCodes, "calls.write", map[string]string{"number": "1002"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, flowapi.Base+tc.path, tc.tok, tc.body)
			wantError(t, r, http.StatusForbidden, "insufficient_scope", `needs scope "`+tc.scope+`"`)
		})
	}
	t.Run("the reader reads codes", func(t *testing.T) {
		if r := e.do(t, "GET", flowapi.Base+"/codes", reader, nil); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}

func TestRateLimitPerClient(t *testing.T) {
	e := newEnv(t, func(c *flowapi.AuthConfig) { c.RatePerMinute = 3 })
	flows := mustToken(t, e, "flows", secret, "") // spends one of flows' 3
	for i := 0; i < 2; i++ {
		if r := e.do(t, "GET", flowapi.Base+"/codes", flows, nil); r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.raw)
		}
	}
	r := e.do(t, "GET", flowapi.Base+"/codes", flows, nil)
	wantError(t, r, http.StatusTooManyRequests, "rate_limited", "more than 3 requests per minute")
	if r.header.Get("Retry-After") != "20" {
		t.Errorf("Retry-After = %q, want 20", r.header.Get("Retry-After"))
	}
	t.Run("another client has its own limit", func(t *testing.T) {
		if r := e.do(t, "GET", flowapi.Base+"/codes", e.jwtFor(t, nil), nil); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("the limit refills with time", func(t *testing.T) {
		e.clock.Advance(20 * time.Second)
		if r := e.do(t, "GET", flowapi.Base+"/codes", flows, nil); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("the token endpoint counts too", func(t *testing.T) {
		r := token(t, e, url.Values{"grant_type": {"client_credentials"}, "client_id": {"flows"}, "client_secret": {secret}}, "", "")
		wantError(t, r, http.StatusTooManyRequests, "rate_limited", "wait")
	})
}

func TestParseClients(t *testing.T) {
	good, err := flowapi.ParseClients("a:" + secret + ", b:" + secret + ":codes.read presence.read")
	if err != nil || len(good) != 2 || len(good[0].Scopes) != len(flowapi.AllScopes) || len(good[1].Scopes) != 2 {
		t.Fatalf("got %+v, %v", good, err)
	}
	for _, bad := range []string{"nosecret", "a:short", "a:" + secret + ":root", "a:" + secret + ",a:" + secret, ":" + secret} {
		if _, err := flowapi.ParseClients(bad); err == nil {
			t.Errorf("ParseClients(%q): no error", bad)
		}
	}
}
