// Package httpapi is Switchboard's HTTP and WebSocket layer (Echo v5,
// coder/websocket): the agent API, agent sign-in, the softphone's event
// socket, health and readiness, the call center definition, and the
// static softphone. It maps the adapter's errors to HTTP in one table
// (errors.go) and knows nothing of Redis.
package httpapi

import (
	"context"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
)

// Config wires the HTTP layer.
type Config struct {
	Service *adapter.Service
	Auth    *adapter.Auth
	Tokens  *TokenIssuer
	Log     zerolog.Logger
	// Static holds softphone/, demo/ and opencti/ (static.FS).
	Static fs.FS
	// PublicURL is this deployment's public base URL (for the call center
	// definition), e.g. https://cti.example.com.
	PublicURL string
	// CallCenter renders the call center definition for a public URL.
	CallCenter func(publicURL string) []byte
	// Demo serves the demo page at / and the Open CTI stand-ins.
	Demo bool
	// FrameAncestors, when set, limits who may frame the pages (CSP).
	FrameAncestors string
	// Mounts are extra handlers by path prefix (e.g. "/sim/v1/").
	Mounts map[string]http.Handler
	// AdminToken turns the admin API (/admin/v1/, deadletters.go) on;
	// DeadLetters serves it.
	AdminToken  string
	DeadLetters *adapter.DeadLetters
	// ReadyDetail, when set, adds facts to /readyz, in the 200 and the
	// 503 answer alike (e.g. redis_persistence: whether Redis persists).
	ReadyDetail func(ctx context.Context) map[string]string
	// Registry collects metrics (served at /metrics when set).
	Registry *prometheus.Registry
	Now      func() time.Time
	// KeepAlive is how often a socket is pinged and its session checked
	// (a session ended on another instance, expired or revoked ends the
	// socket within it); default 25 s.
	KeepAlive time.Duration
}

// Server is the HTTP handler of the whole service.
type Server struct {
	cfg  Config
	echo *echo.Echo
	hub  *Hub
	// mismatches: origins already logged as not SWITCHBOARD_PUBLIC_URL.
	mismatches mismatchLog
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 25 * time.Second
	}
	e := echo.NewWithConfig(echo.Config{Router: echo.NewRouter(routerConfig)})
	s := &Server{cfg: cfg, echo: e, hub: NewHub(cfg.Log)}
	e.HTTPErrorHandler = s.handleError
	e.Use(s.requestID)
	e.Use(middleware.Recover())
	e.Use(s.securityHeaders)
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{
		// Sockets and the simulator/demo-org mounts are not compressed;
		// /metrics compresses itself (promhttp), so it is gzipped once.
		Skipper: func(c *echo.Context) bool {
			r := c.Request()
			return r.Header.Get("Upgrade") != "" || strings.HasPrefix(r.URL.Path, "/demo-org/") || strings.HasPrefix(r.URL.Path, "/sim/") || r.URL.Path == "/metrics"
		},
	}))

	e.GET("/healthz", func(c *echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/callcenter-definition.xml", s.callCenter)
	if cfg.Registry != nil {
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	}

	e.GET("/auth/login", s.login)
	e.GET("/auth/callback", s.callback)
	e.POST("/auth/refresh", s.refresh)
	e.POST("/auth/logout", s.logout)

	// Agent routes are authenticated one by one (a group middleware would
	// turn "wrong method" into "not found").
	s.agentRoutes(e.Group("/api/v1"))
	s.adminRoutes(e.Group("/admin/v1"))
	e.GET("/api/v1/ws", s.websocket)

	s.staticRoutes()
	for prefix, h := range cfg.Mounts {
		e.Any(strings.TrimSuffix(prefix, "/")+"/*", echo.WrapHandler(h))
		e.Any(strings.TrimSuffix(prefix, "/"), echo.WrapHandler(h))
	}
	return s
}

// routerConfig is how every route is matched. Path parameters are
// percent-decoded (UnescapePathParamValues): Echo matches on the raw path
// when the request escapes more than the default (RawPath set, e.g. the
// softphone's encodeURIComponent("+14155550123") = "%2B14155550123") and
// would otherwise hand the escaped text to the handler. A raw "+" and
// "%2B" name the same favorite, call or dead letter.
//
// HEAD is answered wherever GET is (AutoHandleHEAD: the GET handler runs,
// its body is dropped, Content-Length kept): load balancers health-check
// /healthz, /readyz and the static pages with HEAD (RFC 9110 9.3.2). A
// HEAD does what its GET does (/auth/login keeps a pending login for its
// TTL), nothing a caller could not already do with the GET.
var routerConfig = echo.RouterConfig{UnescapePathParamValues: true, AutoHandleHEAD: true}

// Hub returns the server's socket hub.
func (s *Server) Hub() *Hub { return s.hub }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Run delivers bus events to this instance's sockets until ctx ends. ready
// is closed once the bus listens. While the bus cannot be reached (Redis
// down) it keeps trying; sockets are told to resync when it is back.
func (s *Server) Run(ctx context.Context, ready chan<- struct{}) error {
	wait := 100 * time.Millisecond
	var readyOnce sync.Once
	for round := 0; ; round++ {
		listening := make(chan struct{})
		var up atomic.Bool
		go func(round int) {
			select {
			case <-listening:
				up.Store(true)
				readyOnce.Do(func() { close(ready) })
				if round > 0 {
					s.hub.Deliver("", adapter.AgentEvent{Type: adapter.EventResync})
				}
			case <-ctx.Done():
			}
		}(round)
		err := s.cfg.Service.Bus.Listen(ctx, listening, s.hub.Deliver)
		if ctx.Err() != nil {
			return nil
		}
		if up.Load() {
			wait = 100 * time.Millisecond
		}
		if err != nil {
			s.cfg.Log.Warn().Err(err).Msg("event bus unavailable; retrying")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if s.cfg.FrameAncestors != "" {
			h.Set("Content-Security-Policy", "frame-ancestors "+s.cfg.FrameAncestors)
		}
		if s.https(c.Request()) {
			// RFC 6797: browsers that saw this reach us only over https.
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		return next(c)
	}
}

func (s *Server) ready(c *echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	dep, err := s.cfg.Service.Ready(ctx)
	out := map[string]any{}
	// The detail (e.g. redis_persistence) goes in both answers: an operator
	// looking at a failing instance needs it as much as at a ready one.
	if s.cfg.ReadyDetail != nil {
		for k, v := range s.cfg.ReadyDetail(ctx) {
			out[k] = v
		}
	}
	if err != nil {
		// The reason goes to the log; the answer names only the
		// dependency (no addresses or internal error text).
		s.cfg.Log.Warn().Err(err).Str("failing", dep).Msg("not ready")
		out["status"] = "unavailable"
		out["error"] = errorBody{Code: "unavailable", Message: dep + " is not usable; see the service's log"}
		out["failing"] = dep
		return c.JSON(http.StatusServiceUnavailable, out)
	}
	out["status"] = "ready"
	return c.JSON(http.StatusOK, out)
}

func (s *Server) callCenter(c *echo.Context) error {
	return c.Blob(http.StatusOK, "application/xml; charset=utf-8", s.cfg.CallCenter(s.publicBase(c.Request())))
}

// requestID gives every request an id: the caller's X-Request-Id when it
// is short and plain, else a random one. It is echoed in the response and
// logged with the request's errors.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !plainID(id) {
			id = adapter.NewSessionID()[:16]
		}
		c.Set("request_id", id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func requestID(c *echo.Context) string {
	id, _ := c.Get("request_id").(string)
	return id
}

func plainID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Tokens returns the session token issuer.
func (s *Server) Tokens() *TokenIssuer { return s.cfg.Tokens }
