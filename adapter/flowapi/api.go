// Package flowapi is the REST API Salesforce Flows call (through a Named
// Credential and an External Service): click-to-dial for a user, a user's
// presence (DND, Make Busy) and current call, the switch's codes, and
// logging an external call as a Task through the durable outbox.
//
// It is an Echo sub-router mounted at /api/flow/v1, with its own small
// type (API) that holds what it needs, and its OpenAPI 3.0 document
// (openapi.json, embedded) that imports as an External Service. Every
// error is {"error":{"code":"...","message":"what to fix"}}.
package flowapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// Base is the path the API is mounted at.
const Base = "/api/flow/v1"

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3.0 document (servers[0].url is a
// placeholder; the served copy names the deployment's public URL).
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

// Users reads Salesforce users: their phone mapping (User.Extension, or
// the configured field) for users not signed in to the softphone.
// *salesforce.Client satisfies it. salesforce.ErrNotFound when none.
type Users interface {
	User(ctx context.Context, userID string) (salesforce.User, error)
}

// Config wires the Flow API.
type Config struct {
	// Service carries commands to the switch (the same command path the
	// agent API uses) and holds the store with the Task outbox.
	Service *adapter.Service
	Users   Users
	Auth    AuthConfig
	// PublicURL is the deployment's public base URL, written into the
	// served OpenAPI document's servers.
	PublicURL string
	Log       zerolog.Logger
	Now       func() time.Time
}

// API is the Flow API's HTTP handler.
type API struct {
	svc    *adapter.Service
	users  Users
	auth   *authenticator
	log    zerolog.Logger
	now    func() time.Time
	public string
	echo   *echo.Echo
}

// New builds the API and its routes.
func New(cfg Config) *API {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{svc: cfg.Service, users: cfg.Users, log: cfg.Log, now: cfg.Now,
		public: strings.TrimSuffix(cfg.PublicURL, "/"), auth: newAuthenticator(cfg.Auth, cfg.Now)}
	// Path parameters percent-decoded, as in the agent API: a Flow that
	// URL-encodes the user id names the same user.
	e := echo.NewWithConfig(echo.Config{Router: echo.NewRouter(echo.RouterConfig{UnescapePathParamValues: true})})
	e.HTTPErrorHandler = a.handleError
	e.Use(middleware.Recover())
	e.GET(Base+"/openapi.json", a.openAPI)
	e.POST(Base+"/oauth/token", a.token)
	e.POST(Base+"/users/:userId/calls", a.clickToDial, a.require(ScopeCallsWrite))
	e.GET(Base+"/users/:userId/call", a.currentCall, a.require(ScopeCallsRead))
	e.GET(Base+"/users/:userId/presence", a.presence, a.require(ScopePresenceRead))
	e.PATCH(Base+"/users/:userId/presence", a.setPresence, a.require(ScopePresenceWrite))
	e.GET(Base+"/codes", a.codes, a.require(ScopeCodesRead))
	e.POST(Base+"/users/:userId/tasks", a.logCall, a.require(ScopeTasksWrite))
	a.echo = e
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.echo.ServeHTTP(w, r) }

// Route is one method and path the API serves (path parameters as
// {name}, as in OpenAPI).
type Route struct{ Method, Path string }

// Routes lists the API's routes.
func (a *API) Routes() []Route {
	var out []Route
	for _, r := range a.echo.Router().Routes() {
		if r.Method == echo.RouteNotFound || r.Method == "" {
			continue
		}
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		out = append(out, Route{Method: r.Method, Path: strings.Join(parts, "/")})
	}
	return out
}

// openAPI serves the document with servers[0].url set to the public URL
// (the admin's Named Credential URL is the same base).
func (a *API) openAPI(c *echo.Context) error {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		return err
	}
	base := a.public
	if base == "" {
		r := c.Request()
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	doc["servers"] = []map[string]string{{"url": base}}
	return c.JSON(http.StatusOK, doc)
}
