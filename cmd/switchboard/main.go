// Command switchboard runs the Switchboard Open CTI adapter: the softphone
// server, the agent API and WebSocket, the switch monitor and the Salesforce
// call logger. With no Salesforce setting at all it runs in demo mode.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/flowapi"
	"github.com/switchboard-cti/switchboard/adapter/httpapi"
	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/asterisk"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/pbx/simremote"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
	"github.com/switchboard-cti/switchboard/static"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
	}
	os.Exit(exitCode(err))
}

// usage is the one-line summary of the command line, shown with a usage
// error.
const usage = "usage: switchboard [flags] | switchboard doctor [flags] | switchboard sim [flags] (-h for the flags)"

// errUsage marks a command line that names no known subcommand or has
// arguments left over after the flags: exit code 2, as flag does.
var errUsage = errors.New(usage)

// exitCode is the process's exit status for run's error: 0 for none or
// -h, 2 for a usage error, 1 for the rest.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

// run loads the configuration and runs the service until ctx ends. The
// first argument, when it is not a flag, is a subcommand (doctor, sim);
// any other word is a usage error (errUsage), so a mistyped subcommand
// never starts the server.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "doctor":
			return doctor(ctx, args[1:], getenv, stdout)
		case "sim":
			return runSim(ctx, args[1:], getenv, stdout)
		}
		return fmt.Errorf("unknown command %q: %w", clipArg(args[0]), errUsage)
	}
	m, err := NewMain(args, getenv, stdout)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}

// clipArg shortens a command-line word for an error message.
func clipArg(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Main is the whole program, wired. Tests set Clock before Start and read
// URL, Sim and Org after it.
type Main struct {
	Config Config
	Log    zerolog.Logger
	// Clock drives the simulator and the service (default real time).
	Clock sim.Clock

	// Sim and Org are made by Start unless set before (several instances
	// of one test share them); demoKey signs the demo org's JWT assertions.
	Sim *sim.Sim
	// Asterisk is the driver when SWITCHBOARD_PBX=asterisk (set by Start).
	Asterisk *asterisk.Driver
	// SimRemote is the driver of a shared simulator process when
	// SWITCHBOARD_SIM_URL is set (set by Start).
	SimRemote *simremote.Driver
	Org       *fakeorg.Org
	demoKey   *rsa.PrivateKey

	// Set by Start.
	URL     string
	Service *adapter.Service
	Server  *httpapi.Server
	Store   *redisstore.Store

	// keepAlive, when set (tests), is how often sockets are pinged and
	// their sessions checked.
	keepAlive time.Duration
	// simWait, when set (tests), replaces simLinkWait.
	simWait time.Duration
	// outboxStale, when set (tests), is how long a stopped instance's
	// outbox jobs stay idle before another instance takes them over
	// (adapter.OutboxConfig.Stale).
	outboxStale time.Duration

	listener net.Listener
	http     *http.Server
	mini     *miniredis.Miniredis
	rdb      redis.UniversalClient
	cancel   context.CancelFunc
	// stopRequests ends what is left of requests and sockets at Close.
	stopRequests context.CancelFunc
	wg           sync.WaitGroup
	closers      []func()
}

// NewMain loads the configuration.
func NewMain(args []string, getenv func(string) string, stdout io.Writer) (*Main, error) {
	cfg, err := loadConfig(args, getenv, stdout)
	if err != nil {
		return nil, err
	}
	var w io.Writer = stdout
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: stdout, TimeFormat: time.TimeOnly}
	}
	// Identical warnings and errors (an outage) are written once per
	// window, then with a count.
	w = newRepeatLimiter(w, repeatWindow, time.Now)
	lvl, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil || cfg.LogLevel == "" {
		return nil, fmt.Errorf("configuration: SWITCHBOARD_LOG_LEVEL: %q is not debug, info, warn or error", cfg.LogLevel)
	}
	log := zerolog.New(w).Level(lvl).With().Timestamp().Logger()
	// The Redis client's own lines (reconnects, pool trouble) go through
	// zerolog too, so every line is JSON. The client has one logger per
	// process: the last Main made owns it.
	redis.SetLogger(redisLogger{log})
	return &Main{Config: cfg, Log: log, Clock: sim.RealClock()}, nil
}

// Run starts the program and serves until ctx ends, then shuts down
// gracefully.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Start(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	m.Log.Info().Msg("shutting down")
	return m.Close()
}

// Start listens, wires every part and starts the background work.
func (m *Main) Start(ctx context.Context) error {
	cfg := m.Config
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (SWITCHBOARD_ADDR): %w", cfg.Addr, err)
	}
	m.listener = ln
	self := "http://" + loopbackAddr(ln.Addr())
	m.URL = self
	public := strings.TrimSuffix(cfg.PublicURL, "/")
	if public == "" {
		public = defaultPublicURL(cfg.Addr, ln.Addr())
	}
	instance := randomHex(6)
	// Background work stops at Close, after requests in flight are done.
	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))

	// Redis.
	if cfg.RedisURL == "" {
		mr, err := miniredis.Run()
		if err != nil {
			return fmt.Errorf("embedded redis: %w", err)
		}
		m.mini = mr
		m.rdb = redis.NewClient(&redis.Options{Addr: mr.Addr()})
		m.goRun(func() { keepMiniredisTime(ctx, mr) })
		m.Log.Warn().Msg("using embedded in-memory Redis (demo only): state is lost on exit; set SWITCHBOARD_REDIS_URL")
	} else {
		rdb, err := redisstore.NewClient(cfg.RedisURL, cfg.RedisPassword)
		if err != nil {
			return fmt.Errorf("SWITCHBOARD_REDIS_URL: %w", err)
		}
		m.rdb = rdb
	}
	now := m.Clock.Now
	m.Store = redisstore.New(m.rdb, cfg.RedisPrefix, now)
	if cfg.RedisURL != "" {
		// Keys of release v1 move to the v2 layout (hash-tagged) once.
		if n, err := m.Store.Upgrade(ctx); err != nil {
			m.Log.Warn().Err(err).Msg("Redis keys of the v1 layout not moved yet; retried at the next start")
		} else if n > 0 {
			m.Log.Info().Int("keys", n).Msg("Redis keys moved from the v1 layout to v2 (hash-tagged for Redis Cluster)")
		}
	}

	// The switch (a test may hand in one shared by several instances).
	var sw pbx.Switch
	mounts := map[string]http.Handler{}
	var simAPI http.Handler
	switch {
	case cfg.PBX == "asterisk":
		d, err := m.asteriskDriver(ctx)
		if err != nil {
			return fmt.Errorf("pbx asterisk: %w", err)
		}
		m.Asterisk, sw = d, d
	case cfg.SimURL != "":
		d, api, err := m.remoteSim(ctx)
		if err != nil {
			return fmt.Errorf("pbx simulator at SWITCHBOARD_SIM_URL: %w", err)
		}
		m.SimRemote, sw, simAPI = d, d, api
	default:
		if m.Sim == nil {
			s, err := sim.New(simConfig(cfg.SimExtensions), m.Clock)
			if err != nil {
				return fmt.Errorf("pbx simulator: %w", err)
			}
			m.Sim = s
			if err := m.claimEmbeddedSim(ctx, instance); err != nil {
				return err
			}
		}
		sw, simAPI = m.Sim, m.Sim.Handler()
	}
	if simAPI != nil {
		switch {
		case cfg.Demo:
			mounts["/sim/v1/"] = simAPI
		case cfg.SimAPIToken != "":
			mounts["/sim/v1/"] = requireBearer(cfg.SimAPIToken, "SWITCHBOARD_SIM_API_TOKEN", simAPI)
			m.Log.Warn().Msg("simulator control API served at /sim/v1 (SWITCHBOARD_SIM_API_TOKEN is set): anyone with the token can place and end calls")
		}
	}

	// Salesforce.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sf, err := m.salesforce(self, public, mounts)
	if err != nil {
		return err
	}
	for _, c := range sf.client.Collectors() {
		reg.MustRegister(c)
	}

	// The domain and HTTP.
	svc := adapter.NewService(pbx.Switch(sw), sf.client, m.Store, m.Store, instance, m.Log)
	svc.Now = now
	svc.LeaseTTL = cfg.LeaseTTL
	svc.Outbox.Linger = cfg.OutboxLinger
	svc.Outbox.AsAgent = cfg.SFWriteAs == "agent"
	svc.Outbox.Stale = m.outboxStale
	svc.DefaultPopOrder = sf.popOrder
	svc.Numbers = adapter.Numbers{Region: cfg.Region, Dialing: cfg.Dialing()}
	svc.AfterFunc = func(d time.Duration, f func()) { m.Clock.AfterFunc(d, f) }
	m.Service = svc
	if m.Asterisk != nil {
		// Several instances share the Asterisk: only the one holding a
		// phone's lease acts on its own when the phone hangs up.
		m.Asterisk.SetActs(svc.Owns)
	}
	// Start to ready: the device leases (with a shared simulator, after
	// its first sync) and the integration user's Salesforce login (which
	// the first readiness probe would otherwise wait for) go on while the
	// rest is wired.
	claimed := make(chan error, 1)
	m.goRun(func() {
		if m.SimRemote != nil && !m.waitSimLink() {
			claimed <- nil // claimed once the link is up (the monitor waits for it)
			return
		}
		claimed <- svc.ClaimDevices(ctx)
	})
	m.goRun(func() { _, _ = sf.tokens.Token(ctx) })
	flow, err := m.flowAPI(public, svc, sf.client)
	if err != nil {
		return err
	}
	mounts[flowapi.Base+"/"] = flow
	keys, err := sessionKeys(cfg)
	if err != nil {
		return err
	}
	auth := &adapter.Auth{IdP: sf.identity, Store: m.Store, Switch: sw, SessionTTL: cfg.SessionTTL}
	persistence := func(ctx context.Context) map[string]string {
		return map[string]string{"redis_persistence": m.redisPersistence(ctx)}
	}
	srv := httpapi.New(httpapi.Config{
		AdminToken: cfg.AdminToken, DeadLetters: &adapter.DeadLetters{Store: m.Store, Wake: svc.Wake}, ReadyDetail: persistence,
		Service: svc, Auth: auth, Log: m.Log, Static: static.FS, PublicURL: cfg.PublicURL,
		CallCenter: func(u string) []byte { return callCenterXMLFor(u, cfg.Dialing()) }, Demo: cfg.Demo, FrameAncestors: frameAncestors(cfg), Mounts: mounts, Registry: reg, Now: now, KeepAlive: m.keepAlive,
		Tokens: &httpapi.TokenIssuer{Keys: keys, TTL: cfg.TokenTTL, Issuer: "switchboard", Audience: "switchboard-softphone", Now: now},
	})
	m.Server = srv
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_sockets", Help: "Agent WebSockets connected to this instance."},
		func() float64 { return float64(srv.Hub().Count()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_outbox_jobs", Help: "Call log writes waiting for Salesforce."},
		func() float64 { n, _ := m.Store.OutboxLen(context.Background()); return float64(n) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_dead_letters", Help: "Call logs Salesforce refused for good, waiting in the dead-letter list (admin API)."},
		func() float64 { n, _ := m.Store.DeadLetterCount(context.Background()); return float64(n) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_call_logs_dead_lettered_total", Help: "Call logs moved to the dead-letter list by this instance."},
		func() float64 { return float64(svc.OutboxCounts().DeadLettered) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_call_logs_written_total", Help: "Tasks created or updated by this instance."},
		func() float64 { return float64(svc.OutboxCounts().Written) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_call_logs_retried_total", Help: "Task write attempts that failed and were put back by this instance."},
		func() float64 { return float64(svc.OutboxCounts().Retried) }))

	if p, err := m.Store.Persistence(ctx); err == nil && p == "none" && !cfg.Demo {
		m.Log.Warn().Str("redis", redactURL(cfg.RedisURL)).Msg("Redis has no persistence (no AOF, no RDB): a Redis restart loses queued call logs and sessions; set appendonly yes")
	}
	busReady := make(chan struct{})
	m.goRun(func() {
		if err := srv.Run(ctx, busReady); err != nil && ctx.Err() == nil {
			m.Log.Error().Err(err).Msg("event bus stopped")
		}
	})
	redisUp := true
	if err := <-claimed; err != nil {
		redisUp = false
		// Start anyway: /readyz says Redis is not usable, and the lease
		// loop claims the devices once it is back.
		m.Log.Warn().Err(err).Str("redis", redactURL(cfg.RedisURL)).Str("reason", netReason(err)).Msg("Redis not usable at start; serving and retrying")
	}
	if redisUp {
		// Listening before the switch is monitored, so no event is missed.
		select {
		case <-busReady:
		case <-time.After(5 * time.Second):
			m.Log.Warn().Msg("event bus not listening yet (Redis pub/sub); serving and retrying")
		}
	}
	monitorDone := make(chan struct{})
	m.goRun(func() {
		defer close(monitorDone)
		if err := svc.Run(ctx); err != nil && ctx.Err() == nil {
			m.Log.Error().Err(err).Msg("switch monitor stopped")
		}
	})
	// Subscribed to the switch before serving, so a call placed once
	// Start returns is seen (the simulator does not replay what rang
	// before).
	select {
	case <-svc.Monitoring():
	case <-monitorDone:
	case <-time.After(5 * time.Second):
		m.Log.Warn().Msg("switch not monitored yet; serving anyway")
	}
	// Requests and sockets outlive ctx: Close stops accepting, tells the
	// sockets to reconnect elsewhere and lets requests in flight finish.
	reqCtx, stopRequests := context.WithCancel(context.WithoutCancel(ctx))
	m.stopRequests = stopRequests
	m.http = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		BaseContext: func(net.Listener) context.Context { return reqCtx }}
	m.goRun(func() {
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error().Err(err).Msg("http server stopped")
		}
	})
	ev := m.Log.Info().Str("url", public).Str("instance", instance)
	if cfg.Demo {
		// /sim/v1 is advertised only where it is served: with a real
		// PBX (SWITCHBOARD_PBX=asterisk) there is no simulator to drive.
		runs := "the demo org and demo users"
		if mounts["/sim/v1/"] != nil {
			runs = "the demo org, demo users and the unauthenticated simulator control API (/sim/v1)"
		}
		m.Log.Warn().Str("mode", "demo").Msg("DEMO MODE: no Salesforce setting is given, so this runs " + runs + ". Never expose it. Set SWITCHBOARD_SF_LOGIN_URL, SWITCHBOARD_SF_CLIENT_ID, SWITCHBOARD_SF_USERNAME and SWITCHBOARD_SF_PRIVATE_KEY_FILE to connect a real org")
		ev = ev.Str("demo_org", public+"/demo-org").Str("demo_agent_extension", "1001")
		ev.Msg("Switchboard demo running: open " + public + "/ (demo org REST API at " + public + "/demo-org/services/data/v" + cfg.SFAPIVersion + ")")
	} else {
		ev.Msg("Switchboard running")
	}
	return nil
}

// simConfig is the demo switch, plus extra regular extensions numbered
// from 100000 for load tests (SWITCHBOARD_SIM_EXTENSIONS).
func simConfig(extra int) sim.Config {
	c := sim.DemoConfig()
	for i := range extra {
		n := strconv.Itoa(100000 + i)
		c.Extensions = append(c.Extensions, sim.Extension{Number: n, Name: "Load " + n, Kind: pbx.KindRegular})
	}
	return c
}

func (m *Main) goRun(f func()) {
	m.wg.Add(1)
	go func() { defer m.wg.Done(); f() }()
}

// Close stops serving (letting requests in flight finish), stops the
// background work and closes connections.
//
// Graceful shutdown, in order: stop accepting connections; close every
// softphone socket with 1012 (Service Restart) so it reconnects, through
// the load balancer, to another instance; wait up to ShutdownTimeout for
// requests in flight (agent commands, sign-ins); stop the switch monitor
// and the outbox; write the call logs still held in memory.
func (m *Main) Close() error {
	if m.http != nil {
		done := make(chan struct{})
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := m.http.Shutdown(ctx); err != nil {
				m.Log.Warn().Err(err).Msg("requests still in flight at shutdown were cut")
			}
			close(done)
		}()
		if m.Server != nil {
			n := m.Server.Hub().Count()
			m.Server.Hub().CloseAll()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			m.Server.Hub().WaitEmpty(ctx)
			cancel()
			m.Log.Info().Int("sockets", n).Msg("stopped accepting; softphones told to reconnect elsewhere (close code 1012)")
		}
		<-done
	} else if m.listener != nil {
		_ = m.listener.Close()
	}
	if m.stopRequests != nil {
		m.stopRequests()
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.Service != nil && m.rdb != nil {
		// Last chance for call logs still held in memory.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if m.Store.Ping(ctx) == nil {
			m.Service.FlushOutbox(ctx)
		}
		cancel()
	}
	for i := len(m.closers) - 1; i >= 0; i-- {
		m.closers[i]()
	}
	if m.rdb != nil {
		_ = m.rdb.Close()
	}
	if m.mini != nil {
		m.mini.Close()
	}
	return nil
}

// shutdownTimeout bounds how long Close waits for requests in flight.
const shutdownTimeout = 10 * time.Second

// keepMiniredisTime makes the embedded Redis expire keys in real time.
func keepMiniredisTime(ctx context.Context, mr *miniredis.Miniredis) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			mr.FastForward(time.Second)
		}
	}
}

// frameAncestors is the softphone's CSP frame-ancestors: Salesforce's own
// domains unless set; nothing in demo mode (any host page may frame it).
func frameAncestors(cfg Config) string {
	if cfg.FrameAncestors != "" || cfg.Demo {
		return cfg.FrameAncestors
	}
	return "'self' https://*.force.com https://*.salesforce.com https://*.visualforce.com https://*.salesforce-setup.com"
}

func sessionKeys(cfg Config) ([]httpapi.SigningKey, error) {
	if cfg.SessionKeys == "" {
		return []httpapi.SigningKey{{ID: "demo-" + randomHex(4), Secret: []byte(randomHex(32))}}, nil
	}
	var keys []httpapi.SigningKey
	for _, part := range strings.Split(cfg.SessionKeys, ",") {
		id, secret, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" || len(secret) < 32 {
			return nil, errors.New("SWITCHBOARD_SESSION_KEYS: each key is id:secret with a secret of at least 32 characters")
		}
		keys = append(keys, httpapi.SigningKey{ID: id, Secret: []byte(secret)})
	}
	return keys, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// redisPersistence is /readyz's redis_persistence: "none" for the
// embedded in-memory Redis of demo mode (it keeps nothing on exit and
// cannot say so: miniredis has no INFO persistence), else what the server
// says (redisstore.Store.Persistence; "unknown" when it cannot be asked).
func (m *Main) redisPersistence(ctx context.Context) string {
	if m.mini != nil {
		return "none"
	}
	p, _ := m.Store.Persistence(ctx)
	return p
}

// defaultPublicURL is the base URL users reach this process at when
// SWITCHBOARD_PUBLIC_URL is unset: http://localhost:PORT for the default
// listen address (:8080 or 0.0.0.0:8080), else http:// and the loopback
// address of the listener (loopbackAddr). Start and doctor both use it.
func defaultPublicURL(cfgAddr string, a net.Addr) string {
	if cfgAddr == ":8080" || cfgAddr == "0.0.0.0:8080" {
		return "http://localhost:" + portOf(a)
	}
	return "http://" + loopbackAddr(a)
}

// configAddr is a listen address as configured, before a listener has it
// (doctor reports the URL a server would use without listening).
type configAddr string

func (a configAddr) Network() string { return "tcp" }
func (a configAddr) String() string  { return string(a) }

// loopbackAddr is how this process reaches its own listener.
func loopbackAddr(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func redactURL(u string) string {
	if u == "" {
		return "embedded"
	}
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			u = u[:j+3] + "***" + u[i:]
		}
	}
	// A Sentinel URL carries the data nodes' password as a parameter.
	if i := strings.Index(u, "password="); i >= 0 {
		end := strings.IndexByte(u[i:], '&')
		if end < 0 {
			end = len(u) - i
		}
		u = u[:i] + "password=***" + u[i+end:]
	}
	return u
}
