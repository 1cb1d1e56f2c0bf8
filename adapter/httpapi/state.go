package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"
)

// The OAuth state is bound to the browser that started the sign-in (RFC
// 6749 section 10.12, login CSRF): /auth/login sets a cookie named after
// the state and holding it, and /auth/callback refuses a state whose
// cookie this browser does not send. The cookie is HttpOnly, scoped to
// /auth, SameSite=Lax (sent on the top-level redirect back from
// Salesforce, in a popup too), Secure over https, and lives as long as a
// pending login.
const stateCookiePrefix = "sb_login_"

func stateCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return stateCookiePrefix + hex.EncodeToString(sum[:8])
}

// https reports whether the browser reaches this service over https.
func (s *Server) https(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://") || r.Header.Get("X-Forwarded-Proto") == "https"
}

func (s *Server) bindState(c *echo.Context, state string) {
	maxAge := int(s.cfg.Auth.LoginLifetime().Seconds())
	https := s.https(c.Request())
	http.SetCookie(c.Response(), &http.Cookie{
		Name: stateCookieName(state), Value: state, Path: "/auth",
		MaxAge: maxAge, HttpOnly: true, Secure: https, SameSite: http.SameSiteLaxMode,
	})
	if https {
		// The softphone's silent sign-in runs inside Salesforce's page, a
		// cross-site frame, where browsers refuse to set a Lax cookie. A
		// partitioned cookie (CHIPS) is kept for that frame's partition
		// only, so the silent sign-in works there and nowhere else.
		http.SetCookie(c.Response(), &http.Cookie{
			Name: stateCookieName(state) + partitionedSuffix, Value: state, Path: "/auth",
			MaxAge: maxAge, HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true,
		})
	}
}

const partitionedSuffix = "_p"

// checkState returns a log reason and a message when the callback's state
// was not started by this browser, and clears the state's cookie.
func (s *Server) checkState(c *echo.Context, state string) (reason, msg string) {
	if state == "" || len(state) > 200 {
		return "missing_state", "sign-in: the state parameter is missing; start again"
	}
	name := stateCookieName(state)
	ck, err := c.Request().Cookie(name)
	if err != nil {
		ck, err = c.Request().Cookie(name + partitionedSuffix)
	}
	if err != nil {
		return "state_not_bound_to_browser", "sign-in was not started in this browser: start again"
	}
	// The state is used once: forget both cookies.
	https := s.https(c.Request())
	http.SetCookie(c.Response(), &http.Cookie{Name: name, Value: "", Path: "/auth", MaxAge: -1, HttpOnly: true,
		Secure: https, SameSite: http.SameSiteLaxMode})
	if https {
		http.SetCookie(c.Response(), &http.Cookie{Name: name + partitionedSuffix, Value: "", Path: "/auth", MaxAge: -1, HttpOnly: true,
			Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true})
	}
	if subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		return "state_cookie_mismatch", "sign-in was not started in this browser: start again"
	}
	return "", ""
}

// refuseSignIn answers a refused callback and logs why (a reason code,
// never who). Browsers (Accept: text/html) get the callback page, which
// hands the error to the softphone; other clients the JSON error body.
func (s *Server) refuseSignIn(c *echo.Context, data callbackData, status int, code, reason, msg string) error {
	s.cfg.Log.Info().Int("status", status).Str("reason", reason).Str("request_id", requestID(c)).Msg("sign-in refused")
	if !strings.Contains(c.Request().Header.Get("Accept"), "text/html") {
		c.Response().Header().Set("Content-Type", "application/json")
		return c.JSON(status, map[string]errorBody{"error": {Code: code, Message: msg}})
	}
	data.Error = msg
	c.Response().WriteHeader(status)
	return callbackPage.Execute(c.Response(), data)
}

// oauthErrorCode keeps an OAuth error code for the log only when it looks
// like one (RFC 6749 section 4.1.2.1 codes are lowercase with _).
func oauthErrorCode(e string) string {
	if len(e) > 40 {
		return "other"
	}
	for _, r := range e {
		if (r < 'a' || r > 'z') && r != '_' {
			return "other"
		}
	}
	return e
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
