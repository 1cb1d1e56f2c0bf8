// Command switchboard-load is Switchboard's load generator. It starts the
// switchboard binary as a child process (so its memory is measured alone),
// signs in N agents with one WebSocket each, places R calls per second
// through the PBX simulator, answers and clears every call from the agent
// API, and reports what an operator needs to size a deployment: push
// latency for ringing, answer and clear (also as a multiple of a Redis round
// trip measured in the same run), Salesforce requests per 1,000 calls by
// kind, Tasks written per second and outbox depth, RSS and bytes per
// connected agent, and errors. A JSON summary is written with -json.
//
// Salesforce is an in-process fake org (salesforce/fakeorg) with an optional
// delay on every REST request (-org-latency), or a real org (-org-url and
// the SWITCHBOARD_SF_* settings in the environment).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "switchboard-load:", err)
		os.Exit(1)
	}
}

// options are the load generator's settings (flags).
type options struct {
	Agents     int
	Rate       float64 // calls per second
	Duration   time.Duration
	Talk       time.Duration // how long an answered call lasts
	Repeat     float64       // share of calls from a caller who called before
	Lines      int           // inbound numbers (DNIS) the calls come in on; 0: the agent's extension
	OrgLatency time.Duration // added to every fake-org REST request
	OrgURL     string        // a real org instead of the fake
	Bin        string        // the switchboard binary
	RedisURL   string
	JSON       string // where to write the JSON summary ("-" stdout)
	Progress   time.Duration
	KeepLog    bool
	// SimURL is a shared simulator (switchboard sim) to use instead of the
	// child's embedded one; SimToken its SWITCHBOARD_SIM_API_TOKEN.
	SimURL, SimToken string
}

func parseOptions(args []string, getenv func(string) string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("switchboard-load", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&o.Agents, "agents", 1000, "agents signed in, each with one WebSocket (1 to 100000)")
	fs.Float64Var(&o.Rate, "rate", 200, "calls placed per second")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long calls are placed")
	fs.DurationVar(&o.Talk, "talk", time.Second, "how long each answered call lasts before the agent clears it")
	fs.Float64Var(&o.Repeat, "repeat", 0.3, "share of calls from a caller who called before (0 to 1)")
	fs.IntVar(&o.Lines, "lines", 3, "inbound numbers (DNIS) the calls come in on, in turn (0: each call's DNIS is the agent's extension, a direct line per agent)")
	fs.DurationVar(&o.OrgLatency, "org-latency", 0, "delay the fake org adds to every REST request")
	fs.StringVar(&o.OrgURL, "org-url", "", "a real org's login URL instead of the fake (SWITCHBOARD_SF_* settings from the environment; Call Notes are turned off so no Task is written)")
	fs.StringVar(&o.Bin, "bin", "", "the switchboard binary (default bin/switchboard, else switchboard on PATH)")
	fs.StringVar(&o.RedisURL, "redis-url", "", "Redis URL (default SWITCHBOARD_REDIS_URL, else redis://127.0.0.1:6379/0); keys use a fresh prefix and are deleted at the end")
	fs.StringVar(&o.JSON, "json", "", "write the summary as JSON to this file (- for stdout)")
	fs.DurationVar(&o.Progress, "progress", time.Second, "how often the progress line is printed (0: never)")
	fs.BoolVar(&o.KeepLog, "keep-log", false, "keep the switchboard log file")
	fs.StringVar(&o.SimURL, "sim-url", "", "a shared simulator (switchboard sim, with at least -agents extensions: SWITCHBOARD_SIM_EXTENSIONS) instead of the child's own; its token from SWITCHBOARD_SIM_API_TOKEN")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: switchboard-load [flags]\n\nStarts switchboard, signs in agents, places calls and reports push latency, Salesforce requests, Tasks, memory and errors.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.RedisURL == "" {
		o.RedisURL = getenv("SWITCHBOARD_REDIS_URL")
	}
	if o.RedisURL == "" {
		o.RedisURL = "redis://127.0.0.1:6379/0"
	}
	o.SimToken = getenv("SWITCHBOARD_SIM_API_TOKEN")
	switch {
	case o.Agents < 1 || o.Agents > 100000:
		return o, errors.New("-agents: from 1 to 100000")
	case o.Rate <= 0 || o.Rate > 10000:
		return o, errors.New("-rate: more than 0 and at most 10000 calls per second")
	case o.Duration <= 0:
		return o, errors.New("-duration: more than 0, like 30s")
	case o.Repeat < 0 || o.Repeat > 1:
		return o, errors.New("-repeat: from 0 to 1, like 0.3")
	case o.OrgLatency < 0 || o.OrgLatency > time.Minute:
		return o, errors.New("-org-latency: from 0 to 1m")
	case o.Lines < 0 || o.Lines > 1000:
		return o, errors.New("-lines: from 0 to 1000")
	case o.Talk < 0:
		return o, errors.New("-talk: 0 or more")
	case o.OrgURL != "" && o.OrgLatency != 0:
		return o, errors.New("-org-latency applies to the fake org only; leave it out with -org-url")
	case o.SimURL != "" && !strings.HasPrefix(o.SimURL, "http://") && !strings.HasPrefix(o.SimURL, "https://"):
		return o, errors.New("-sim-url: the simulator's base URL, like http://127.0.0.1:7070")
	case o.SimURL != "" && len(o.SimToken) < 32:
		return o, errors.New("-sim-url: set SWITCHBOARD_SIM_API_TOKEN to the simulator's token (at least 32 characters)")
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	r, err := newRun(o, getenv, stderr)
	if err != nil {
		return err
	}
	defer r.close()
	sum, err := r.execute(ctx)
	if err != nil {
		return err
	}
	sum.print(stdout)
	if o.JSON != "" {
		if err := sum.writeJSON(o.JSON, stdout); err != nil {
			return err
		}
	}
	return nil
}
