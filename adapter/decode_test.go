package adapter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-cti/switchboard/adapter"
)

func TestDecodeJSONSaysWhatToFix(t *testing.T) {
	type body struct {
		Number string   `json:"number"`
		Count  int      `json:"count"`
		Rules  []string `json:"rules"`
		Inner  *struct {
			On bool `json:"on"`
		} `json:"inner"`
		Size uint `json:"size"`
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
		{"a wrong type", `{"count":"two"}`, adapter.ErrInvalid, `count must be an integer, not a string`},
		{"a fraction for an integer", `{"count":1.5}`, adapter.ErrInvalid, `count must be an integer, not 1.5`},
		{"an array for the body", `[1,2]`, adapter.ErrInvalid, `must be a JSON object, not an array`},
		{"a string for the body", `"hi"`, adapter.ErrInvalid, `must be a JSON object, not a string`},
		{"a string for an array", `{"rules":"ani"}`, adapter.ErrInvalid, `rules must be an array, not a string`},
		{"an array of the wrong items", `{"rules":["ani",5]}`, adapter.ErrInvalid, `rules must be an array of strings, not an array with a number`},
		{"an array for an object", `{"inner":[]}`, adapter.ErrInvalid, `inner must be an object, not an array`},
		{"a nested field", `{"inner":{"on":"yes"}}`, adapter.ErrInvalid, `inner.on must be a boolean, not a string`},
		{"a negative count of a whole number", `{"size":-1}`, adapter.ErrInvalid, `size must be a whole number from 0, not -1`},
		{"an unknown field", `{"numbr":"1001"}`, adapter.ErrInvalid, `unknown field "numbr" (see the docs)`},
		{"two objects", `{} {}`, adapter.ErrInvalid, "one JSON object only"},
		{"a body over the limit", `{"number":"` + strings.Repeat("9", 200) + `"}`, adapter.ErrTooLarge, "at most 64 bytes"},
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
