package floor

import (
	"strings"
	"testing"
)

func TestAddr(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"", "127.0.0.1:6379"},
		{"redis://127.0.0.1:6380/0", "127.0.0.1:6380"},
		{"rediss://user:secret@redis.internal:6390/2", "redis.internal:6390"},
		{"redis://10.0.0.5:7000", "10.0.0.5:7000"},
		{"redis+cluster://127.0.0.1:7000,127.0.0.1:7001", "127.0.0.1:6379"},
		{"redis:///0", "127.0.0.1:6379"},
	} {
		t.Setenv("SWITCHBOARD_TEST_REDIS_URL", tc.url)
		if got := Addr(); got != tc.want {
			t.Errorf("Addr() with %q = %q, want %q", tc.url, got, tc.want)
		}
	}
}

func TestDialRefusedSaysWhere(t *testing.T) {
	_, err := Dial("127.0.0.1:1")
	if err == nil {
		t.Skip("something answers on 127.0.0.1:1")
	}
	if want := "127.0.0.1:1"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}

func BenchmarkRedisRoundTrip(b *testing.B) { Benchmark(b) }
