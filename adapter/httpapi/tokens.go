package httpapi

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-cti/switchboard/adapter"
)

// TokenIssuer mints and checks the adapter's own short-lived session tokens
// (JWT, HS256 pinned). Keys rotate: the first key signs, every key verifies,
// each named by its "kid".
type TokenIssuer struct {
	Keys     []SigningKey
	TTL      time.Duration
	Issuer   string
	Audience string
	Now      func() time.Time
}

// SigningKey is one HMAC key of the ring.
type SigningKey struct {
	ID     string
	Secret []byte
}

// sessionClaims are the token's claims: sub = Salesforce user id, sid =
// the session in the store.
type sessionClaims struct {
	SID string `json:"sid"`
	jwt.RegisteredClaims
}

// Issue returns a token for a session and when it expires.
func (t *TokenIssuer) Issue(userID, sid string) (string, time.Time, error) {
	if len(t.Keys) == 0 {
		return "", time.Time{}, errors.New("session tokens: no signing key")
	}
	now := t.Now()
	exp := now.Add(t.TTL)
	claims := sessionClaims{SID: sid, RegisteredClaims: jwt.RegisteredClaims{
		Subject: userID, Issuer: t.Issuer, Audience: jwt.ClaimStrings{t.Audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(exp),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = t.Keys[0].ID
	s, err := tok.SignedString(t.Keys[0].Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("session tokens: sign: %w", err)
	}
	return s, exp, nil
}

// Verify checks a token (signature with a known key, alg HS256 only, issuer,
// audience, expiry) and returns the user id and session id.
func (t *TokenIssuer) Verify(raw string) (userID, sid string, err error) {
	if raw == "" || len(raw) > 4096 {
		return "", "", fmt.Errorf("session token missing: sign in: %w", adapter.ErrUnauthorized)
	}
	var claims sessionClaims
	_, err = jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		for _, k := range t.Keys {
			if k.ID == kid {
				return k.Secret, nil
			}
		}
		return nil, errors.New("unknown key")
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.Issuer), jwt.WithAudience(t.Audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(t.Now), jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		reason := "invalid"
		if errors.Is(err, jwt.ErrTokenExpired) {
			reason = "expired"
		}
		return "", "", fmt.Errorf("session token %s: sign in again: %w", reason, adapter.ErrUnauthorized)
	}
	if claims.Subject == "" || claims.SID == "" {
		return "", "", fmt.Errorf("session token incomplete: %w", adapter.ErrUnauthorized)
	}
	return claims.Subject, claims.SID, nil
}
