package httpapi

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-cti/switchboard/adapter"
)

const agentKey = "agent"
const sidKey = "sid"

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate resolves the session token into the agent.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		ag, sid, err := s.resolve(c.Request(), bearer(c.Request()))
		if err != nil {
			return err
		}
		c.Set(agentKey, ag)
		c.Set(sidKey, sid)
		return next(c)
	}
}

func (s *Server) resolve(r *http.Request, token string) (adapter.Agent, string, error) {
	uid, sid, err := s.cfg.Tokens.Verify(token)
	if err != nil {
		return adapter.Agent{}, "", err
	}
	ag, err := s.cfg.Auth.Resolve(r.Context(), sid, uid)
	return ag, sid, err
}

func agentOf(c *echo.Context) adapter.Agent {
	ag, _ := c.Get(agentKey).(adapter.Agent)
	return ag
}

// login starts the Salesforce sign-in (GET /auth/login?return=/softphone/...):
// silent by default (the softphone's frame); prompt=interactive shows the
// org's login page if needed (a popup), prompt=login always (switch user).
func (s *Server) login(c *echo.Context) error {
	var prompt string
	switch c.QueryParam("prompt") {
	case "":
		prompt = adapter.PromptNone
	case "interactive":
		prompt = ""
	case adapter.PromptLogin:
		prompt = adapter.PromptLogin
	default:
		return fmt.Errorf("prompt: use interactive or login, or leave it out for a silent sign-in: %w", adapter.ErrInvalid)
	}
	ctx := c.Request().Context()
	if s.cfg.Demo {
		ctx = adapter.WithBaseURL(ctx, s.publicBase(c.Request()))
	}
	u, state, err := s.cfg.Auth.Begin(ctx, c.QueryParam("return"), prompt)
	if err != nil {
		return err
	}
	s.bindState(c, state)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, u)
}

// callbackPage hands the session token to the softphone without a URL:
// opened as the sign-in popup (window.opener set) it posts
// {type: "switchboard.session", token | error} to the opener with this
// origin as the exact target origin and closes, storing nothing; loaded in
// the softphone's own frame (the redirect sign-in) it puts the token in
// sessionStorage where the browser allows it, then goes back. With storage
// blocked the softphone finds no token and offers its Sign in button.
var callbackPage = template.Must(template.New("cb").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Switchboard</title></head>
<body><p id="m"></p><script>
(function () {
  var token = {{.Token}}, ret = {{.Return}}, err = {{.Error}};
  if (window.opener && window.opener !== window) {
    try { window.opener.postMessage({type: "switchboard.session", token: token, error: err}, location.origin); } catch (e) {}
    window.close();
    document.getElementById("m").textContent = err || "Signed in: you can close this window.";
    return;
  }
  try {
    if (token) { sessionStorage.setItem("switchboard.session", token); sessionStorage.removeItem("switchboard.loginFailed"); }
    else { sessionStorage.setItem("switchboard.loginFailed", err || "sign-in failed"); }
  } catch (e) { /* storage blocked: the softphone offers its Sign in button */ }
  location.replace(ret);
})();
</script><noscript>Sign-in needs JavaScript.</noscript></body></html>`))

type callbackData struct {
	Token, Return, Error string
}

// callback finishes the sign-in: the token goes into the tab's
// sessionStorage, never into a URL.
func (s *Server) callback(c *echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	data := callbackData{Return: "/softphone/"}
	state := c.QueryParam("state")
	if reason, msg := s.checkState(c, state); reason != "" {
		return s.refuseSignIn(c, data, http.StatusForbidden, "login_csrf", reason, msg)
	}
	if e := c.QueryParam("error"); e != "" {
		if l, err := s.cfg.Auth.Store.TakeLogin(c.Request().Context(), state); err == nil {
			data.Return = l.Return
		}
		return s.refuseSignIn(c, data, http.StatusUnauthorized, "unauthorized", "idp_"+oauthErrorCode(e), "Salesforce sign-in: "+clipText(e, 100))
	}
	ag, sid, ret, err := s.cfg.Auth.Complete(c.Request().Context(), state, c.QueryParam("code"))
	if err != nil {
		status, code, msg := classify(err)
		if status >= 500 {
			msg = "sign-in failed: a service is unavailable; try again"
		}
		return s.refuseSignIn(c, data, status, code, adapter.RefusalReason(err), msg)
	}
	tok, _, err := s.cfg.Tokens.Issue(ag.UserID, sid)
	if err != nil {
		return err
	}
	data.Token, data.Return = tok, ret
	s.cfg.Log.Info().Str("user", ag.UserID).Str("extension", ag.Extension).Msg("agent signed in")
	return callbackPage.Execute(c.Response(), data)
}

type tokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// refresh issues a fresh token for a live session.
func (s *Server) refresh(c *echo.Context) error {
	ag, sid, err := s.resolve(c.Request(), bearer(c.Request()))
	if err != nil {
		return err
	}
	tok, exp, err := s.cfg.Tokens.Issue(ag.UserID, sid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tokenResponse{Token: tok, ExpiresAt: exp})
}

// logout ends the session (the Salesforce session is not touched).
func (s *Server) logout(c *echo.Context) error {
	_, sid, err := s.resolve(c.Request(), bearer(c.Request()))
	if err != nil {
		return err
	}
	if err := s.cfg.Auth.Logout(c.Request().Context(), sid); err != nil {
		return err
	}
	s.hub.EndSession(sid) // this instance's sockets now; others' at their next check
	return c.NoContent(http.StatusNoContent)
}
