package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx/sim"
)

// SimServer is `switchboard sim`: the PBX simulator as its own process, so
// several instances share one switch (each with SWITCHBOARD_SIM_URL set to
// its URL). It serves the simulator's control API and switch protocol
// under /sim/v1/ (pbx/sim wire.go) and /healthz. Tests set Clock before
// Start and read URL and Sim after it.
type SimServer struct {
	Listen     string // host:port
	Token      string // required unless Listen is a loopback address
	Extensions int    // extra regular extensions 100000, 100001, ...
	Log        zerolog.Logger
	Clock      sim.Clock

	// Set by Start.
	Sim *sim.Sim
	URL string

	srv  *http.Server
	ln   net.Listener
	stop context.CancelFunc // ends the events links at Close
}

// NewSimServer reads the simulator's settings: flags -listen, -extensions,
// -token, or SWITCHBOARD_SIM_LISTEN, SWITCHBOARD_SIM_EXTENSIONS and
// SWITCHBOARD_SIM_API_TOKEN (or _FILE), SWITCHBOARD_LOG_LEVEL.
func NewSimServer(args []string, getenv func(string) string, stdout io.Writer) (*SimServer, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	s := &SimServer{Clock: sim.RealClock()}
	var exts, level string
	fs := flag.NewFlagSet("switchboard sim", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.StringVar(&s.Listen, "listen", env("SWITCHBOARD_SIM_LISTEN", "127.0.0.1:7070"), "listen address (env SWITCHBOARD_SIM_LISTEN); a non-loopback address needs a token")
	fs.StringVar(&exts, "extensions", env("SWITCHBOARD_SIM_EXTENSIONS", "0"), "extra regular extensions 100000, 100001, ... for load tests, 0 to 100000 (env SWITCHBOARD_SIM_EXTENSIONS)")
	fs.StringVar(&s.Token, "token", "", "bearer token every instance and test client sends, at least 32 characters (env SWITCHBOARD_SIM_API_TOKEN or SWITCHBOARD_SIM_API_TOKEN_FILE)")
	fs.StringVar(&level, "log-level", env("SWITCHBOARD_LOG_LEVEL", "info"), "debug, info, warn or error (env SWITCHBOARD_LOG_LEVEL)")
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: switchboard sim [flags]\n\nRuns the PBX simulator as its own process. Point every instance at it with\nSWITCHBOARD_SIM_URL=http://<listen address> (and the same SWITCHBOARD_SIM_API_TOKEN).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unknown command %q after sim (flags start with -): %w", clipArg(fs.Arg(0)), errUsage)
	}
	if s.Token == "" {
		s.Token = getenv("SWITCHBOARD_SIM_API_TOKEN")
	}
	if s.Token == "" {
		if path := getenv("SWITCHBOARD_SIM_API_TOKEN_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("SWITCHBOARD_SIM_API_TOKEN_FILE: %w", err)
			}
			s.Token = strings.TrimSpace(string(b))
		}
	}
	var problems []string
	n, err := strconv.Atoi(exts)
	if err != nil || n < 0 || n > 100000 {
		problems = append(problems, fmt.Sprintf("-extensions (SWITCHBOARD_SIM_EXTENSIONS): %q is not a number from 0 to 100000", exts))
	}
	s.Extensions = n
	host, _, err := net.SplitHostPort(s.Listen)
	if err != nil {
		problems = append(problems, fmt.Sprintf("-listen (SWITCHBOARD_SIM_LISTEN): %q is not host:port", s.Listen))
	} else if s.Token == "" && !isLoopback(host) {
		problems = append(problems, "SWITCHBOARD_SIM_API_TOKEN: required when listening on "+s.Listen+" (not loopback): anyone who reaches it could place and end calls (e.g. openssl rand -hex 32)")
	}
	if s.Token != "" && len(s.Token) < 32 {
		problems = append(problems, "SWITCHBOARD_SIM_API_TOKEN: at least 32 characters (e.g. openssl rand -hex 32)")
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		problems = append(problems, fmt.Sprintf("SWITCHBOARD_LOG_LEVEL: %q is not debug, info, warn or error", level))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	s.Log = zerolog.New(stdout).Level(lvl).With().Timestamp().Str("process", "sim").Logger()
	return s, nil
}

// isLoopback reports whether host (of a listen address) only accepts
// connections from this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Start builds the simulator and listens.
func (s *SimServer) Start(ctx context.Context) error {
	sw, err := sim.New(simConfig(s.Extensions), s.Clock)
	if err != nil {
		return fmt.Errorf("pbx simulator: %w", err)
	}
	s.Sim = sw
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (SWITCHBOARD_SIM_LISTEN): %w", s.Listen, err)
	}
	s.ln = ln
	s.URL = "http://" + loopbackAddr(ln.Addr())
	var api http.Handler = sw.Handler()
	if s.Token != "" {
		api = requireBearer(s.Token, "SWITCHBOARD_SIM_API_TOKEN", api)
	}
	mux := http.NewServeMux()
	mux.Handle("/sim/v1/", api)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorJSON("not_found", "the simulator serves /sim/v1/ and /healthz"))
	})
	base, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return base }}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Log.Error().Err(err).Msg("simulator server stopped")
		}
	}()
	devs, _ := sw.Devices(ctx)
	s.Log.Info().Str("url", s.URL).Int("devices", len(devs)).Bool("token", s.Token != "").
		Msg("PBX simulator running: set SWITCHBOARD_SIM_URL=" + s.URL + " on every instance")
	return nil
}

// Close stops serving; events links are cut (instances reconnect).
func (s *SimServer) Close() error {
	if s.srv == nil {
		return nil
	}
	s.stop() // WebSockets are hijacked: Shutdown would not end them
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	return s.srv.Close()
}

// runSim is `switchboard sim`: it serves until ctx ends.
func runSim(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	s, err := NewSimServer(args, getenv, stdout)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		s.Close()
		return err
	}
	<-ctx.Done()
	s.Log.Info().Msg("simulator shutting down")
	return s.Close()
}
