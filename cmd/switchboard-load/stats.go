package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// samples collects durations.
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *samples) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

// quantiles returns the p50 and p99 of what was collected.
func (s *samples) quantiles() (p50, p99 time.Duration, n int) {
	s.mu.Lock()
	d := slices.Clone(s.d)
	s.mu.Unlock()
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)], len(d)
}

// Latency is one push's latency figures in the summary.
type Latency struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	// P50RTT and P99RTT are the same as multiples of the Redis round
	// trip's p50 measured in the run.
	P50RTT float64 `json:"p50_rtt"`
	P99RTT float64 `json:"p99_rtt"`
}

func latencyOf(s *samples, rtt time.Duration) Latency {
	p50, p99, n := s.quantiles()
	l := Latency{Count: n, P50Ms: ms(p50), P99Ms: ms(p99)}
	if rtt > 0 {
		l.P50RTT = round1(float64(p50) / float64(rtt))
		l.P99RTT = round1(float64(p99) / float64(rtt))
	}
	return l
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// Summary is the run's result (the JSON summary).
type Summary struct {
	Agents       int     `json:"agents"`
	RateTarget   float64 `json:"rate_target_calls_per_s"`
	DurationS    float64 `json:"duration_s"`
	OrgLatencyMs float64 `json:"org_latency_ms"`
	Org          string  `json:"org"`
	Repeat       float64 `json:"repeat_share"`
	Lines        int     `json:"lines"` // inbound numbers (DNIS); 0: each agent's extension

	CallsPlaced   int64   `json:"calls_placed"`
	CallsEnded    int64   `json:"calls_ended"`
	CallsPerS     float64 `json:"calls_per_s"`
	StartToReadyS float64 `json:"start_to_ready_s"`

	RedisRTT Latency `json:"redis_rtt"`
	Ringing  Latency `json:"ringing"`
	// Matches is the push that carries the Salesforce matches, when it is
	// not the ringing push itself.
	Matches Latency `json:"matches"`
	Answer  Latency `json:"answer"`
	Clear   Latency `json:"clear"`

	// SFPer1000Calls is Salesforce requests per 1,000 calls placed, by
	// kind (search, query <object>, collections create, collections
	// update, task_create, task_update, composite, token, other).
	SFPer1000Calls map[string]float64 `json:"sf_requests_per_1000_calls"`
	SFRequests     map[string]int64   `json:"sf_requests"`
	TasksPerS      float64            `json:"tasks_per_s"`
	OutboxMax      int64              `json:"outbox_depth_max"`
	OutboxEnd      int64              `json:"outbox_depth_end"`

	RSSStartMB     float64 `json:"rss_start_mb"`
	RSSIdleMB      float64 `json:"rss_idle_mb"`
	RSSPeakMB      float64 `json:"rss_peak_mb"`
	BytesPerAgent  float64 `json:"rss_bytes_per_agent"`
	HeapPerAgent   float64 `json:"heap_stack_bytes_per_agent"`
	HeapIdleMB     float64 `json:"heap_stack_idle_mb"`
	SocketsEnd     int64   `json:"sockets_connected_end"`
	Errors         Errors  `json:"errors"`
	ServerLogLines int64   `json:"server_error_log_lines"`
}

// Errors counts what went wrong in a run.
type Errors struct {
	Place        int64 `json:"place"`         // the simulator refused a call
	NoIdleAgent  int64 `json:"no_idle_agent"` // every agent was busy
	Answer       int64 `json:"answer"`        // POST answer failed
	Clear        int64 `json:"clear"`         // POST clear failed
	NoRinging    int64 `json:"no_ringing"`    // placed, but no ringing push
	NoEnd        int64 `json:"no_end"`        // answered, but no call_ended push
	SocketClosed int64 `json:"socket_closed"`
	Total        int64 `json:"total"`
}

func (s *Summary) print(w io.Writer) {
	lines := fmt.Sprintf("%d lines", s.Lines)
	if s.Lines == 0 {
		lines = "a line per agent"
	}
	fmt.Fprintf(w, "\nswitchboard-load: %d agents, %.0f calls/s for %.0fs, org %s (latency %.0f ms), %.0f%% repeat callers, %s\n",
		s.Agents, s.RateTarget, s.DurationS, s.Org, s.OrgLatencyMs, s.Repeat*100, lines)
	fmt.Fprintf(w, "  calls placed %d, ended %d (%.1f/s); start to ready %.3f s\n", s.CallsPlaced, s.CallsEnded, s.CallsPerS, s.StartToReadyS)
	fmt.Fprintf(w, "  %-22s %10s %10s %10s %10s %8s\n", "push latency", "p50 ms", "p99 ms", "p50 ×RTT", "p99 ×RTT", "count")
	for _, l := range []struct {
		name string
		l    Latency
	}{{"redis round trip", s.RedisRTT}, {"ringing", s.Ringing}, {"matches (2nd push)", s.Matches}, {"answer", s.Answer}, {"clear", s.Clear}} {
		fmt.Fprintf(w, "  %-22s %10.3f %10.3f %10.1f %10.1f %8d\n", l.name, l.l.P50Ms, l.l.P99Ms, l.l.P50RTT, l.l.P99RTT, l.l.Count)
	}
	kinds := make([]string, 0, len(s.SFPer1000Calls))
	for k := range s.SFPer1000Calls {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, s.SFPer1000Calls[k]))
	}
	fmt.Fprintf(w, "  Salesforce requests per 1,000 calls: %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "  Tasks written %.1f/s; outbox depth max %d, at the end %d\n", s.TasksPerS, s.OutboxMax, s.OutboxEnd)
	fmt.Fprintf(w, "  RSS: %.1f MB before sockets, %.1f MB idle with %d agents (%.0f bytes/agent), %.1f MB peak under calls\n",
		s.RSSStartMB, s.RSSIdleMB, s.Agents, s.BytesPerAgent, s.RSSPeakMB)
	fmt.Fprintf(w, "  Go heap+stacks: %.1f MB idle (%.0f bytes/agent)\n", s.HeapIdleMB, s.HeapPerAgent)
	e := s.Errors
	fmt.Fprintf(w, "  errors %d: place %d, no idle agent %d, answer %d, clear %d, no ringing push %d, no end push %d, socket closed %d; server error log lines %d\n",
		e.Total, e.Place, e.NoIdleAgent, e.Answer, e.Clear, e.NoRinging, e.NoEnd, e.SocketClosed, s.ServerLogLines)
}

func (s *Summary) writeJSON(path string, stdout io.Writer) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	return nil
}
