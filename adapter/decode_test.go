package adapter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-cti/switchboard/adapter"
)

func TestDecodeJSONSaysWhatToFix(t *testing.T) {
	type body struct {
		Number string `json:"number"`
		Count  int    `json:"count"`
	}
	tests := []struct {
		name, in string
		wantErr  error
		wantText string
	}{
		{"a good body", `{"number":"1001","count":2}`, nil, ""},
		{"an empty body", ``, adapter.ErrInvalid, "a JSON object is required"},
		{"a body that ends too early", `{"number":`, adapter.ErrInvalid, "ends too early"},
		{"malformed JSON", `{"number" 1}`, adapter.ErrInvalid, "malformed JSON at byte"},
		{"a wrong type", `{"count":"two"}`, adapter.ErrInvalid, `field "count" must be int`},
		{"an unknown field", `{"numbr":"1001"}`, adapter.ErrInvalid, `unknown field "numbr" (see the docs)`},
		{"two objects", `{} {}`, adapter.ErrInvalid, "one JSON object only"},
		{"a body over the limit", `{"number":"` + strings.Repeat("9", 100) + `"}`, adapter.ErrTooLarge, "at most 64 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b body
			err := adapter.DecodeJSON(strings.NewReader(tc.in), 64, &b, "see the docs")
			if !errors.Is(err, tc.wantErr) || (err != nil && !strings.Contains(err.Error(), tc.wantText)) || (err != nil && !strings.HasPrefix(err.Error(), "body: ")) {
				t.Errorf("DecodeJSON(%q) = %v, want %v saying %q", tc.in, err, tc.wantErr, tc.wantText)
			}
		})
	}
}

func TestCheckJSONContentTypeReadsTheMediaTypeCaseInsensitively(t *testing.T) {
	for _, tc := range []struct {
		ct string
		ok bool
	}{
		{"", true},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON;charset=UTF-8", true},
		{"APPLICATION/JSON", true},
		{"text/plain", false},
		{"application/jsonp", false},
		{"application/json-seq", false},
		{"application/x-www-form-urlencoded", false},
		{"application/json; charset", false}, // a parameter without a value does not parse
	} {
		err := adapter.CheckJSONContentType(tc.ct)
		if (err == nil) != tc.ok || (err != nil && (!errors.Is(err, adapter.ErrInvalid) || !strings.HasPrefix(err.Error(), "body: send Content-Type application/json"))) {
			t.Errorf("CheckJSONContentType(%q) = %v, want ok %v", tc.ct, err, tc.ok)
		}
	}
}
