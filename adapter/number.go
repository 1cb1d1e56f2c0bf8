package adapter

import (
	"fmt"
	"strings"
)

// NormalizeDial cleans a number typed by an agent for dialing: it drops the
// spaces, dashes, dots and parentheses people write and checks what is left
// is an optional + and 2 to 20 digits (or * and # for feature codes).
func NormalizeDial(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0 && i == strings.IndexRune(strings.TrimSpace(s), '+'):
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("number: %q has a character that cannot be dialed (use digits, optionally starting with +): %w", clip(s, 40), ErrInvalid)
		}
	}
	n := b.String()
	digits := strings.TrimPrefix(n, "+")
	if len(digits) < 2 || len(digits) > 20 {
		return "", fmt.Errorf("number: must have 2 to 20 digits: %w", ErrInvalid)
	}
	return n, nil
}

// ValidateNumber reports whether s can be dialed.
func ValidateNumber(s string) error {
	_, err := NormalizeDial(s)
	return err
}

// ValidateDigits checks DTMF digits: 0-9, * and #, 1 to 32 of them.
func ValidateDigits(s string) error {
	if s == "" || len(s) > 32 {
		return fmt.Errorf("digits: 1 to 32 of 0-9 * #: %w", ErrInvalid)
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '*' && r != '#' {
			return fmt.Errorf("digits: %q is not a DTMF digit (use 0-9 * #): %w", r, ErrInvalid)
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// maskNumber shortens a phone number for logs: only the last 4 digits.
func maskNumber(n string) string {
	if len(n) <= 4 {
		return "****"
	}
	return "***" + n[len(n)-4:]
}
