package adapter

import (
	"errors"
	"net/http"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// statusTable maps the error vocabulary of every layer (adapter, pbx,
// salesforce) to an HTTP status and a JSON error code, first match wins.
// Outages are 503 (the caller may retry); what the caller can fix is a 4xx;
// what this PBX or phone cannot do is 501.
var statusTable = []struct {
	err    error
	status int
	code   string
}{
	{ErrInvalid, http.StatusBadRequest, "invalid_input"},
	{pbx.ErrInvalid, http.StatusBadRequest, "invalid_input"},
	{ErrUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{pbx.ErrAuth, http.StatusForbidden, "login_refused"},
	{ErrForbidden, http.StatusForbidden, "forbidden"},
	{ErrNotFound, http.StatusNotFound, "not_found"},
	{pbx.ErrUnknownCall, http.StatusNotFound, "not_found"},
	{pbx.ErrUnknownDevice, http.StatusNotFound, "not_found"},
	{salesforce.ErrNotFound, http.StatusNotFound, "not_found"},
	{ErrLimit, http.StatusConflict, "limit_reached"},
	{pbx.ErrLimit, http.StatusConflict, "limit_reached"},
	{ErrConflict, http.StatusConflict, "conflict"},
	{pbx.ErrNotAllowed, http.StatusConflict, "not_allowed"},
	{pbx.ErrBusy, http.StatusConflict, "busy"},
	{pbx.ErrDND, http.StatusConflict, "do_not_disturb"},
	{pbx.ErrNotLoggedIn, http.StatusConflict, "not_logged_in"},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{pbx.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{pbx.ErrNotSupported, http.StatusNotImplemented, "not_supported"},
	{salesforce.ErrLimitExceeded, http.StatusServiceUnavailable, "salesforce_limit"},
	{salesforce.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{salesforce.ErrUnauthorized, http.StatusServiceUnavailable, "salesforce_auth"},
	{salesforce.ErrInvalid, http.StatusBadGateway, "salesforce_rejected"},
}

// HTTPStatus returns the HTTP status and JSON error code for an error that
// wraps a sentinel of the adapter, pbx or salesforce vocabulary; ok is false
// when it wraps none (an internal error). Every HTTP front end (the agent
// API, the Flow API) answers through it, so one error means one status.
func HTTPStatus(err error) (status int, code string, ok bool) {
	for _, row := range statusTable {
		if errors.Is(err, row.err) {
			return row.status, row.code, true
		}
	}
	return 0, "", false
}
