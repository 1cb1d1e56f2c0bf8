package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-cti/switchboard/adapter"
)

// errorBody is the JSON error every endpoint answers:
// {"error":{"code":"...","message":"..."}}.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// classify returns the status and code for err.
func classify(err error) (int, string, string) {
	if status, code, ok := adapter.HTTPStatus(err); ok {
		return status, code, err.Error()
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code, codeForStatus(he.Code), he.Message
	}
	if sc := echo.StatusCode(err); sc != 0 {
		return sc, codeForStatus(sc), strings.ToLower(http.StatusText(sc))
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body: at most %d bytes", mbe.Limit)
	}
	return http.StatusInternalServerError, "internal", "internal error"
}

func codeForStatus(st int) string {
	switch st {
	case http.StatusBadRequest:
		return "invalid_input"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusUpgradeRequired:
		return "upgrade_required"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "error"
}

// handleError is the one place errors become responses. Only 5xx are logged
// as errors; 4xx are the caller's to fix.
func (s *Server) handleError(c *echo.Context, err error) {
	if resp, _ := echo.UnwrapResponse(c.Response()); resp != nil && resp.Committed {
		return
	}
	status, code, msg := classify(err)
	if status == http.StatusNotFound && code == "not_found" && msg == "not found" {
		msg = "no such endpoint: " + c.Request().Method + " " + c.Request().URL.Path
	}
	if status == http.StatusMethodNotAllowed {
		msg = "method " + c.Request().Method + " not allowed on " + c.Request().URL.Path
	}
	// A 501 says what this PBX or phone cannot do: the caller's answer,
	// not a server fault, so it is neither logged as an error nor hidden.
	if status >= 500 && status != http.StatusNotImplemented {
		ev := s.cfg.Log.Error()
		if status == http.StatusServiceUnavailable || status == http.StatusBadGateway {
			ev = s.cfg.Log.Warn()
		}
		ev.Err(err).Str("method", c.Request().Method).Str("path", c.Request().URL.Path).Int("status", status).Str("request_id", requestID(c)).Msg("request failed")
		// The log has the cause; the caller gets no hosts or internal text.
		switch {
		case status == http.StatusInternalServerError:
			msg = "internal error"
		case code == "unavailable":
			msg = "a service Switchboard needs is unavailable; try again shortly"
		case code == "salesforce_auth":
			msg = "Switchboard cannot sign in to Salesforce; tell your admin"
		}
	}
	_ = c.JSON(status, map[string]errorBody{"error": {Code: code, Message: msg}})
}

// maxBody bounds every JSON request body: room for the largest valid one,
// call notes of 32,000 UTF-16 units (Salesforce's Description) sent as
// \uXXXX escapes (192,000 bytes) or as 3-byte UTF-8 (96,000 bytes), with
// the other fields; the same cap as the Flow API's.
const maxBody = 256 << 10

// decode reads a JSON body strictly (adapter.DecodeJSON).
func decode(c *echo.Context, v any) error {
	if err := adapter.CheckJSONContentType(c.Request().Header.Get("Content-Type")); err != nil {
		return err
	}
	return adapter.DecodeJSON(c.Request().Body, maxBody, v, "")
}

func errMissing(field string) error {
	return fmt.Errorf("%s: required: %w", field, adapter.ErrInvalid)
}
