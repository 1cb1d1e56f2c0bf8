package asterisk

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the parser: it must never panic,
// never return a message with more than MaxFields fields, and stop with an
// error (not memory growth) on a line without end.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"ast22.10-queue-answer-hold-unhold.ami", "ast16.28-queue-answer-hold.ami"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw[:min(len(raw), 4096)])
	}
	f.Add([]byte("Asterisk Call Manager/11.0.0\r\n\n\nEvent: X\nKey\r\n:v\r\n\r\n"))
	f.Add(bytes.Repeat([]byte("k: v\r\n"), 5000))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		_, _ = r.ReadBanner()
		for range 10000 {
			m, err := r.ReadMessage()
			if len(m.Fields) > MaxFields {
				t.Fatalf("%d fields", len(m.Fields))
			}
			for _, fl := range m.Fields {
				if len(fl.Key)+len(fl.Value) > MaxLineBytes+2 {
					t.Fatalf("line of %d bytes", len(fl.Key)+len(fl.Value))
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrProtocol) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			// What we parsed re-encodes unless it holds a keyless line.
			_ = m.String()
		}
	})
}

// FuzzDriverEvents applies arbitrary AMI events to the driver's mapping:
// it must never panic.
func FuzzDriverEvents(f *testing.F) {
	_, body := recording(&testing.T{}, "ast22.10-queue-answer-hold-unhold.ami")
	f.Add(body)
	f.Add([]byte("Event: Hangup\r\nUniqueid: 1\r\n\r\nEvent: DialBegin\r\nDestUniqueid: 1\r\nDialString: /\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := New(Config{AMI: ClientConfig{Addr: "x:1", Username: "u"}, Context: "c", DigitsVar: "SB_DIGITS",
			Extensions: []Extension{{Number: "1001"}, {Number: "1002", Kind: "acd"}}})
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(bytes.NewReader(data))
		for range 1000 {
			m, err := r.ReadMessage()
			if err != nil {
				return
			}
			d.Event(m)
		}
	})
}
