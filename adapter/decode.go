package adapter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
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
			return fmt.Errorf("body: field %q must be %s: %w", te.Field, te.Type, ErrInvalid)
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
