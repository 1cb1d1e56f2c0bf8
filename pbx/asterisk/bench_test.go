package asterisk

import (
	"bytes"
	"testing"

	"github.com/switchboard-cti/switchboard/internal/floor"
)

// BenchmarkParse measures AMI messages parsed per second (one core) on the
// Asterisk 22 recording.
func BenchmarkParse(b *testing.B) {
	_, body := recording(&testing.T{}, "ast22.10-queue-answer-hold-unhold.ami")
	n := bytes.Count(body, []byte("\r\n\r\n"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := NewReader(bytes.NewReader(body))
		for {
			if _, err := r.ReadMessage(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkMap measures AMI events mapped to pbx events per second (one
// core): the parsed Asterisk 22 recording applied to a driver with a
// subscriber on the agent's extension.
func BenchmarkMap(b *testing.B) {
	_, body := recording(&testing.T{}, "ast22.10-queue-answer-hold-unhold.ami")
	var msgs []Message
	r := NewReader(bytes.NewReader(body))
	for {
		m, err := r.ReadMessage()
		if err != nil {
			break
		}
		msgs = append(msgs, m)
	}
	d, err := New(Config{AMI: ClientConfig{Addr: "x:1", Username: "u"}, Context: "c", Extensions: []Extension{{Number: "1001"}, {Number: "1002"}}})
	if err != nil {
		b.Fatal(err)
	}
	// A subscriber that never reads: events are dropped, as for a slow one.
	if _, _, err := d.Subscribe(b.Context(), "1001"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, m := range msgs {
			d.Event(m)
		}
	}
	b.ReportMetric(float64(len(msgs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkFloorScan is the floor for BenchmarkParse in the same run: only
// finding the message boundaries of the same bytes (no fields, no strings).
func BenchmarkFloorScan(b *testing.B) {
	_, body := recording(&testing.T{}, "ast22.10-queue-answer-hold-unhold.ami")
	n := bytes.Count(body, []byte("\r\n\r\n"))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rest, k := body, 0
		for {
			i := bytes.Index(rest, []byte("\r\n\r\n"))
			if i < 0 {
				break
			}
			k++
			rest = rest[i+4:]
		}
		if k != n {
			b.Fatal(k)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRedisRoundTrip is the house floor for speed figures, measured
// in the same run (internal/floor). Skipped without a Redis.
func BenchmarkRedisRoundTrip(b *testing.B) { floor.Benchmark(b) }
