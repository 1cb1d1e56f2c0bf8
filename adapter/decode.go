package adapter

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
)

// CheckJSONContentType accepts a request's Content-Type header for a JSON
// body: empty (a client that sends none), or the media type
// application/json with any parameters. Media types are case-insensitive
// (RFC 9110 8.3.1), so "Application/JSON;charset=UTF-8" is JSON too. Any
// other type, or a header that does not parse, is ErrInvalid with a
// message starting "body:".
func CheckJSONContentType(ct string) error {
	if strings.TrimSpace(ct) == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("body: send Content-Type application/json, not %q: %w", ct, ErrInvalid)
	}
	return nil
}

// DecodeJSON reads one JSON object from body into v, strictly: a missing,
// malformed or trailing body, an unknown field, a value of the wrong type
// and a body over limit bytes are errors whose text starts with "body:" and
// says what to fix. They wrap ErrInvalid, or ErrTooLarge for the size. hint,
// when not empty, is added to an unknown-field error (where the fields are
// documented).
func DecodeJSON(body io.Reader, limit int64, v any, hint string) error {
	lr := &limitReader{r: body, left: limit}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, errOverLimit):
			return fmt.Errorf("body: at most %d bytes: %w", limit, ErrTooLarge)
		case errors.Is(err, io.EOF):
			return fmt.Errorf("body: a JSON object is required: %w", ErrInvalid)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("body: malformed JSON (it ends too early): %w", ErrInvalid)
		case errors.As(err, &se):
			return fmt.Errorf("body: malformed JSON at byte %d: %w", se.Offset, ErrInvalid)
		case errors.As(err, &te):
			return typeError(te, v)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			msg := strings.TrimPrefix(err.Error(), "json: ")
			if hint != "" {
				msg += " (" + hint + ")"
			}
			return fmt.Errorf("body: %s: %w", msg, ErrInvalid)
		default:
			return fmt.Errorf("body: %v: %w", err, ErrInvalid)
		}
	}
	if dec.More() {
		return fmt.Errorf("body: one JSON object only: %w", ErrInvalid)
	}
	return nil
}

// typeError says, in JSON's words, what a field must be and what it was:
// "body: must be a JSON object, not an array", "body: popOrder must be an
// array, not a string", "body: popOrder must be an array of strings, not
// of numbers" (never a Go type name: the caller writes JSON, not Go).
func typeError(te *json.UnmarshalTypeError, v any) error {
	want := jsonKind(te.Type)
	got := jsonValue(te.Value)
	if te.Field == "" {
		if want == "an object" {
			want = "a JSON object"
		}
		return fmt.Errorf("body: must be %s, not %s: %w", want, got, ErrInvalid)
	}
	// An element of the wrong type: Field names the array, Type the
	// element's type.
	if ft := fieldType(reflect.TypeOf(v), te.Field); ft != nil {
		ft = indirect(ft)
		if (ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array) && indirect(ft.Elem()) == indirect(te.Type) {
			kind, _, _ := strings.Cut(te.Value, " ")
			want, got = "an array of "+plural(want), "an array with "+jsonValue(kind)
		}
	}
	return fmt.Errorf("body: %s must be %s, not %s: %w", te.Field, want, got, ErrInvalid)
}

// jsonKind names what JSON value decodes into t.
func jsonKind(t reflect.Type) string {
	t = indirect(t)
	if reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number from 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another JSON value"
}

// jsonValue names the JSON value json.UnmarshalTypeError.Value describes
// ("array", "bool", "number -1.5").
func jsonValue(v string) string {
	switch kind, num, _ := strings.Cut(v, " "); kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "a boolean"
	case "number":
		if num != "" {
			return num
		}
		return "a number"
	case "string":
		return "a string"
	}
	return v
}

// plural turns "a string" into "strings", "an object" into "objects".
func plural(kind string) string {
	if p, ok := plurals[kind]; ok {
		return p
	}
	return kind
}

var plurals = map[string]string{"a string": "strings", "an object": "objects", "an array": "arrays", "a boolean": "booleans",
	"an integer": "integers", "a whole number from 0": "whole numbers from 0", "a number": "numbers"}

func indirect(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldType follows a json.UnmarshalTypeError's dotted Field path
// ("record.recordId") through t by JSON names; nil when it cannot.
func fieldType(t reflect.Type, path string) reflect.Type {
	for name := range strings.SplitSeq(path, ".") {
		t = indirect(t)
		if t == nil || t.Kind() != reflect.Struct {
			return nil
		}
		if t = structField(t, name); t == nil {
			return nil
		}
	}
	return t
}

func structField(t reflect.Type, name string) reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			if et := indirect(f.Type); et.Kind() == reflect.Struct {
				if ft := structField(et, name); ft != nil {
					return ft
				}
			}
			continue
		}
		if tag == name || (tag == "" && strings.EqualFold(f.Name, name)) {
			return f.Type
		}
	}
	return nil
}

var errOverLimit = errors.New("over the size limit")

// limitReader fails with errOverLimit once more than left bytes are read.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errOverLimit
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errOverLimit
	}
	return n, err
}
