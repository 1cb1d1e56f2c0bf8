// Package floor measures the house floor that speed figures are quoted
// against: one Redis round trip, a PING and its +PONG over plain TCP (no
// client library, RESP inline command), to the Redis the tests use.
// Benchmarks measure it in the same run and report their times as
// multiples of it (README, "Load testing"). Standard library only.
package floor

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// Addr is the host:port of the Redis the tests use: the host of
// SWITCHBOARD_TEST_REDIS_URL (redis:// or rediss://, user info dropped)
// when set, else 127.0.0.1:6379.
func Addr() string {
	u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL")
	if u == "" {
		return "127.0.0.1:6379"
	}
	rest := u
	for _, scheme := range []string{"redis://", "rediss://"} {
		rest = strings.TrimPrefix(rest, scheme)
	}
	if rest == u { // another form (cluster, sentinel, unix): the default
		return "127.0.0.1:6379"
	}
	host, _, _ := strings.Cut(rest, "/")
	host = host[strings.LastIndex(host, "@")+1:]
	if host == "" {
		return "127.0.0.1:6379"
	}
	return host
}

// Redis is a bare connection to a Redis server for timing PINGs.
type Redis struct {
	conn net.Conn
	r    *bufio.Reader
}

// Dial connects to the Redis at addr within a second.
func Dial(addr string) (*Redis, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, fmt.Errorf("floor: no Redis at %s: %w", addr, err)
	}
	return &Redis{conn: c, r: bufio.NewReader(c)}, nil
}

// Ping sends one PING and waits for its +PONG; it returns the time taken.
func (f *Redis) Ping() (time.Duration, error) {
	t0 := time.Now()
	if _, err := f.conn.Write([]byte("PING\r\n")); err != nil {
		return 0, fmt.Errorf("floor: PING: %w", err)
	}
	line, err := f.r.ReadString('\n')
	if err != nil || line != "+PONG\r\n" {
		return 0, fmt.Errorf("floor: PING answered %q: %v", line, err)
	}
	return time.Since(t0), nil
}

// Close closes the connection.
func (f *Redis) Close() error { return f.conn.Close() }

// Benchmark is a benchmark body that times round trips to Addr(): call it
// from a package's BenchmarkRedisRoundTrip so the floor is measured in the
// same run as that package's figures. It skips without a Redis.
func Benchmark(b *testing.B) {
	f, err := Dial(Addr())
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	for b.Loop() {
		if _, err := f.Ping(); err != nil {
			b.Fatal(err)
		}
	}
}
