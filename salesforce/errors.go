package salesforce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Sentinel errors. Every error this package returns for a failed call wraps
// an *Error (or a context error), and *Error matches exactly one of these
// with errors.Is.
var (
	// ErrUnauthorized: 401 (INVALID_SESSION_ID after one re-mint), 403 other
	// than REQUEST_LIMIT_EXCEEDED, and OAuth token-endpoint rejections
	// (invalid_grant, invalid_client_id, ...). The operator must fix the
	// connected app, the user or the key.
	ErrUnauthorized = errors.New("salesforce: unauthorized")
	// ErrNotFound: 404 NOT_FOUND, or a lookup by id that found no record.
	ErrNotFound = errors.New("salesforce: not found")
	// ErrLimitExceeded: REQUEST_LIMIT_EXCEEDED from the org, or the client
	// is still backing off after one.
	ErrLimitExceeded = errors.New("salesforce: API request limit exceeded")
	// ErrUnavailable: 5xx, a non-JSON answer (maintenance HTML page), or a
	// dropped connection. Worth retrying later.
	ErrUnavailable = errors.New("salesforce: unavailable")
	// ErrInvalid: any other 4xx (MALFORMED_QUERY, INVALID_FIELD,
	// STRING_TOO_LONG, ...), including the checks this package makes before
	// sending (field lengths, id formats).
	ErrInvalid = errors.New("salesforce: invalid request")
)

// Error is one error reported by Salesforce: an element of the REST API's
// JSON error array, an OAuth {error, error_description} body, or a synthetic
// one for answers that carry no JSON (HTML pages, dropped connections;
// StatusCode 0 for the latter). Messages never contain tokens or request
// bodies.
type Error struct {
	// StatusCode is the HTTP status, or 0 when no response arrived.
	StatusCode int
	// ErrorCode is Salesforce's errorCode (e.g. "INVALID_SESSION_ID") or the
	// OAuth error (e.g. "invalid_grant").
	ErrorCode string
	// Message is Salesforce's message; for OAuth errors it is followed by
	// what the operator should do.
	Message string
	// Fields lists the fields the error concerns, when Salesforce says.
	Fields []string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("salesforce: ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteString(" ")
	}
	b.WriteString(e.ErrorCode)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		fmt.Fprintf(&b, " (fields %s)", strings.Join(e.Fields, ", "))
	}
	return b.String()
}

// Is maps e onto the package's sentinel errors.
func (e *Error) Is(target error) bool {
	return target == e.kind()
}

func (e *Error) kind() error {
	switch {
	case e.ErrorCode == "REQUEST_LIMIT_EXCEEDED":
		return ErrLimitExceeded
	case e.StatusCode == 0 || e.StatusCode >= 500 || e.ErrorCode == codeNotJSON:
		return ErrUnavailable
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return ErrUnauthorized
	case isOAuthCode(e.ErrorCode):
		return ErrUnauthorized
	case e.StatusCode == http.StatusNotFound:
		return ErrNotFound
	default:
		return ErrInvalid
	}
}

// isOAuthCode reports whether code is an OAuth 2.0 error (lower case, as
// the token endpoint sends them) that means the credentials were refused.
func isOAuthCode(code string) bool {
	switch code {
	case "invalid_grant", "invalid_client_id", "invalid_client", "invalid_app_access",
		"unauthorized_client", "access_denied", "login_required", "inactive_user", "inactive_org":
		return true
	}
	return false
}

// Synthetic error codes for answers Salesforce did not describe.
const (
	codeNotJSON    = "NOT_JSON"
	codeConnection = "CONNECTION_ERROR"
)

// wireError is an element of the REST error array. sObject Collections use
// statusCode instead of errorCode.
type wireError struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
}

// UnmarshalJSON reads both error shapes Salesforce uses: {errorCode,
// message, fields} and, in sObject Collections results, {statusCode,
// message, fields}.
func (e *Error) UnmarshalJSON(b []byte) error {
	var w wireError
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	e.ErrorCode = w.ErrorCode
	if e.ErrorCode == "" {
		e.ErrorCode = w.StatusCode
	}
	e.Message, e.Fields = w.Message, w.Fields
	return nil
}

// MarshalJSON writes {errorCode, message, fields}.
func (e Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireError{Message: e.Message, ErrorCode: e.ErrorCode, Fields: e.Fields})
}

// parseError turns an unsuccessful response into an *Error. It never
// includes the body itself in the message: bodies may echo call notes.
func parseError(status int, header http.Header, body []byte) *Error {
	if !isJSON(header) {
		return &Error{StatusCode: status, ErrorCode: codeNotJSON,
			Message: fmt.Sprintf("non-JSON answer (%s, %d bytes)", mediaType(header), len(body))}
	}
	trimmed := bytes.TrimSpace(body)
	var list []Error
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &list); err == nil && len(list) > 0 {
			e := list[0]
			e.StatusCode = status
			return &e
		}
	}
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(trimmed, &oauth); err == nil && oauth.Error != "" {
		return &Error{StatusCode: status, ErrorCode: oauth.Error, Message: operatorMessage(oauth.Error, oauth.Description)}
	}
	return &Error{StatusCode: status, ErrorCode: http.StatusText(status), Message: "unrecognized error body"}
}

func isJSON(h http.Header) bool {
	mt := mediaType(h)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return "no content type"
	}
	return mt
}

// oauthHints maps OAuth error descriptions Salesforce sends to what the
// operator should do about them.
var oauthHints = []struct{ code, contains, hint string }{
	{"invalid_grant", "hasn't approved this consumer", "pre-authorize the user: connected app > Manage > Permitted Users = Admin approved users are pre-authorized, and add the user's profile or permission set"},
	{"invalid_app_access", "", "pre-authorize the user: connected app > Manage > Permitted Users = Admin approved users are pre-authorized, and add the user's profile or permission set"},
	{"invalid_grant", "audience is invalid", "set the audience to https://login.salesforce.com (production), https://test.salesforce.com (sandbox) or the Experience Cloud site URL"},
	{"invalid_grant", "invalid assertion", "the signature did not verify or the assertion is malformed: upload the certificate matching the private key to the connected app (Use digital signatures)"},
	{"invalid_grant", "expired", "the assertion or code has expired: check the server clock (NTP) or sign in again"},
	{"invalid_grant", "user", "check the username: it must be an active Salesforce user in this org"},
	{"invalid_client_id", "", "set the client id to the connected app's consumer key"},
	{"invalid_client", "", "check the connected app's consumer key and secret"},
	{"unsupported_grant_type", "", "enable the OAuth flow on the connected app"},
}

// operatorMessage appends a hint for the operator to an OAuth error
// description.
func operatorMessage(code, desc string) string {
	for _, h := range oauthHints {
		if h.code == code && strings.Contains(strings.ToLower(desc), h.contains) {
			if desc == "" {
				return h.hint
			}
			return desc + ": " + h.hint
		}
	}
	return desc
}
