package salesforce

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestErrorsMapOntoSentinels(t *testing.T) {
	jsonH := http.Header{"Content-Type": {"application/json;charset=UTF-8"}}
	htmlH := http.Header{"Content-Type": {"text/html"}}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   error
		code   string
	}{
		{"401 INVALID_SESSION_ID is unauthorized", 401, jsonH, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, ErrUnauthorized, "INVALID_SESSION_ID"},
		{"404 NOT_FOUND is not found", 404, jsonH, `[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]`, ErrNotFound, "NOT_FOUND"},
		{"403 REQUEST_LIMIT_EXCEEDED is the limit", 403, jsonH, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, ErrLimitExceeded, "REQUEST_LIMIT_EXCEEDED"},
		{"403 for anything else is unauthorized", 403, jsonH, `[{"message":"no","errorCode":"INSUFFICIENT_ACCESS"}]`, ErrUnauthorized, "INSUFFICIENT_ACCESS"},
		{"503 is unavailable", 503, jsonH, `[{"message":"down","errorCode":"SERVER_UNAVAILABLE"}]`, ErrUnavailable, "SERVER_UNAVAILABLE"},
		{"an HTML page is unavailable", 200, htmlH, `<html>maintenance</html>`, ErrUnavailable, codeNotJSON},
		{"a 500 without a body is unavailable", 500, http.Header{}, ``, ErrUnavailable, codeNotJSON},
		{"400 MALFORMED_QUERY is invalid", 400, jsonH, `[{"message":"unexpected token","errorCode":"MALFORMED_QUERY"}]`, ErrInvalid, "MALFORMED_QUERY"},
		{"an empty error array is still an error", 400, jsonH, `[]`, ErrInvalid, "Bad Request"},
		{"an OAuth invalid_grant is unauthorized", 400, jsonH, `{"error":"invalid_grant","error_description":"audience is invalid"}`, ErrUnauthorized, "invalid_grant"},
		{"an OAuth unsupported_grant_type is invalid", 400, jsonH, `{"error":"unsupported_grant_type","error_description":"grant type not supported"}`, ErrInvalid, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := parseError(tc.status, tc.header, []byte(tc.body))
			if !errors.Is(e, tc.want) || e.ErrorCode != tc.code {
				t.Errorf("got %v (code %s), want %v (code %s)", e, e.ErrorCode, tc.want, tc.code)
			}
			for _, other := range []error{ErrUnauthorized, ErrNotFound, ErrLimitExceeded, ErrUnavailable, ErrInvalid} {
				if other != tc.want && errors.Is(e, other) {
					t.Errorf("also matches %v", other)
				}
			}
			if strings.Contains(e.Error(), "maintenance") {
				t.Errorf("message %q echoes the body", e.Error())
			}
		})
	}
}

func TestADroppedConnectionIsUnavailable(t *testing.T) {
	e := &Error{ErrorCode: codeConnection, Message: "connection failed"}
	if !errors.Is(e, ErrUnavailable) {
		t.Error("dropped connection is not ErrUnavailable")
	}
}

func TestOAuthErrorsTellTheOperatorWhatToDo(t *testing.T) {
	e := parseError(400, http.Header{"Content-Type": {"application/json"}}, []byte(`{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}`))
	want := "user hasn't approved this consumer: pre-authorize the user: connected app > Manage > Permitted Users = Admin approved users are pre-authorized, and add the user's profile or permission set"
	if e.Message != want {
		t.Errorf("Message = %q\nwant %q", e.Message, want)
	}
}
