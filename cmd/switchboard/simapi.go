package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// requireBearer serves h only to requests carrying "Authorization: Bearer
// <token>"; others get 401 and the JSON error body. The comparison takes
// the same time whatever the guess.
func requireBearer(token, setting string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if len(got) < 7 || !strings.EqualFold(got[:7], "bearer ") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard-sim"`)
			writeJSON(w, http.StatusUnauthorized, errorJSON("unauthorized", "send Authorization: Bearer <the token set in "+setting+">"))
			return
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(got[7:])))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard-sim", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, errorJSON("unauthorized", "wrong token: use the one set in "+setting))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func errorJSON(code, msg string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": msg}}
}
