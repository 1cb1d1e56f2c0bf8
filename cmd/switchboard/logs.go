package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// repeatWindow is how long identical warn and error lines are held back
// after the first: an outage logs each distinct failure once per window,
// then once more with "repeated" counting the lines held back.
const repeatWindow = 30 * time.Second

// maxRepeatKeys bounds the memory of the repeat limiter.
const maxRepeatKeys = 1024

// repeatLimiter is an io.Writer between zerolog and the output that drops
// warn and error lines identical (all but "time") to one written less than
// Window ago. The next identical line after the window carries
// "repeated": N, the number of lines dropped since. Lines below warn, and
// lines that are not one JSON object, pass untouched. Safe for concurrent
// use (zerolog writes one event per Write).
type repeatLimiter struct {
	next   io.Writer
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]*repeatState
}

type repeatState struct {
	last    time.Time
	dropped int
}

func newRepeatLimiter(next io.Writer, window time.Duration, now func() time.Time) *repeatLimiter {
	if now == nil {
		now = time.Now
	}
	return &repeatLimiter{next: next, window: window, now: now, seen: map[string]*repeatState{}}
}

// Write implements io.Writer.
func (l *repeatLimiter) Write(p []byte) (int, error) {
	if !bytes.Contains(p, []byte(`"level":"warn"`)) && !bytes.Contains(p, []byte(`"level":"error"`)) {
		return l.next.Write(p)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(p, &fields); err != nil {
		return l.next.Write(p)
	}
	delete(fields, "time")
	delete(fields, "request_id")
	key, _ := json.Marshal(fields) // map keys come out sorted
	now := l.now()

	l.mu.Lock()
	st := l.seen[string(key)]
	if st != nil && now.Sub(st.last) < l.window {
		st.dropped++
		l.mu.Unlock()
		return len(p), nil
	}
	dropped := 0
	if st != nil {
		dropped = st.dropped
		st.last, st.dropped = now, 0
	} else {
		if len(l.seen) >= maxRepeatKeys {
			for k, s := range l.seen {
				if now.Sub(s.last) >= l.window {
					delete(l.seen, k)
				}
			}
			if len(l.seen) >= maxRepeatKeys {
				l.seen = map[string]*repeatState{}
			}
		}
		l.seen[string(key)] = &repeatState{last: now}
	}
	l.mu.Unlock()

	if dropped > 0 {
		if i := bytes.IndexByte(p, '{'); i >= 0 {
			q := make([]byte, 0, len(p)+24)
			q = append(q, p[:i+1]...)
			q = append(q, `"repeated":`+strconv.Itoa(dropped)+`,`...)
			q = append(q, p[i+1:]...)
			if _, err := l.next.Write(q); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return l.next.Write(p)
}

// redisLogger routes the Redis client's own log lines (reconnects, pool
// and pub/sub trouble) through zerolog, so the log stays JSON.
type redisLogger struct{ log zerolog.Logger }

// Printf implements the go-redis logging interface.
func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	r.log.Warn().Str("component", "redis_client").Str("reason", redisReason(msg)).Msg(msg)
}

// redisReason names the kind of trouble in a go-redis log line.
func redisReason(msg string) string {
	switch {
	case strings.Contains(msg, "connection refused"):
		return "connection_refused"
	case strings.Contains(msg, "no such host") || strings.Contains(msg, "lookup "):
		return "dns"
	case strings.Contains(msg, "tls") || strings.Contains(msg, "x509"):
		return "tls"
	case strings.Contains(msg, "timeout") || strings.Contains(msg, "i/o timeout"):
		return "timeout"
	case strings.Contains(msg, "EOF") || strings.Contains(msg, "reset by peer") || strings.Contains(msg, "broken pipe"):
		return "connection_lost"
	}
	return "redis_client"
}

// netReason names why a connection failed: dns, connection_refused, tls,
// timeout, or other.
func netReason(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var unk x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &unk), errors.As(err, &host):
		return "tls"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return redisReason(err.Error())
}
