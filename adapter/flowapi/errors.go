package flowapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-cti/switchboard/adapter"
)

// The Flow API's own errors, besides the adapter's vocabulary.
var (
	// ErrScope: the token is valid but lacks the operation's scope (403).
	ErrScope = errors.New("insufficient scope")
	// ErrRateLimited: the client sent more requests than its limit (429).
	ErrRateLimited = errors.New("rate limited")
)

// ErrorBody is the JSON error every endpoint answers:
// {"error":{"code":"...","message":"what to fix"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func classify(err error) (int, string, string) {
	switch {
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited", err.Error()
	case errors.Is(err, ErrScope):
		return http.StatusForbidden, "insufficient_scope", err.Error()
	}
	if status, code, ok := adapter.HTTPStatus(err); ok {
		if code == "unauthorized" {
			code = "invalid_token" // RFC 6750's name, for the Named Credential
		}
		return status, code, err.Error()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body: at most %d bytes", mbe.Limit)
	}
	if sc := echo.StatusCode(err); sc != 0 {
		switch sc {
		case http.StatusNotFound:
			return sc, "not_found", ""
		case http.StatusMethodNotAllowed:
			return sc, "method_not_allowed", ""
		}
		return sc, "error", strings.ToLower(http.StatusText(sc))
	}
	return http.StatusInternalServerError, "internal", "internal error"
}

// handleError is the one place errors become responses. Only 5xx are
// logged; 4xx are the caller's to fix.
func (a *API) handleError(c *echo.Context, err error) {
	if resp, _ := echo.UnwrapResponse(c.Response()); resp != nil && resp.Committed {
		return
	}
	r := c.Request()
	status, code, msg := classify(err)
	switch {
	case code == "not_found" && msg == "":
		msg = "no such endpoint: " + r.Method + " " + r.URL.Path + " (see " + Base + "/openapi.json)"
	case code == "method_not_allowed":
		msg = "method " + r.Method + " not allowed on " + r.URL.Path + " (see " + Base + "/openapi.json)"
	case status == http.StatusUnauthorized:
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="switchboard-flow", error="invalid_token"`)
	case status == http.StatusForbidden && code == "insufficient_scope":
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="switchboard-flow", error="insufficient_scope"`)
	}
	if status >= 500 && status != http.StatusNotImplemented { // a 501 names what this PBX cannot do
		ev := a.log.Error()
		if status == http.StatusServiceUnavailable || status == http.StatusBadGateway {
			ev = a.log.Warn()
		}
		ev.Err(err).Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).Msg("flow api request failed")
		if status == http.StatusInternalServerError {
			msg = "internal error"
		}
	}
	_ = c.JSON(status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

// maxBody bounds every request body. It is sized from the documented field
// limits so that every valid body fits: the largest field, notes, may hold
// 32,000 UTF-16 code units (Task.Description), which JSON may send as up to
// 6 bytes each (a \uXXXX escape; encoding/json escapes <, > and & that way)
// or 3 bytes of UTF-8: 192,000 bytes; subject, disposition and
// externalCallId add at most ~5 KB more. 256 KiB admits all of that with
// room for whitespace, and still bounds what one request can make the
// server read. Over-long fields are refused by the per-field checks (400
// invalid_input naming the field), not by this cap.
const maxBody = 256 << 10

// decode reads a JSON body strictly (adapter.DecodeJSON).
func decode(c *echo.Context, v any) error {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("body: send Content-Type application/json: %w", adapter.ErrInvalid)
	}
	return adapter.DecodeJSON(c.Request().Body, maxBody, v, "see "+Base+"/openapi.json")
}
