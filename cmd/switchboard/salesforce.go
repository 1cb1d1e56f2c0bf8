package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// sfParts is the Salesforce side, wired.
type sfParts struct {
	client *salesforce.Client
	// tokens are the integration user's (the readiness probe's); Start
	// fetches the first in the background.
	tokens   salesforce.TokenSource
	identity adapter.IdentityProvider
	popOrder []salesforce.PopRule
}

// identity signs agents in through Salesforce (adapter.IdentityProvider).
type identity struct {
	oauth  salesforce.OAuthConfig
	client *salesforce.Client
}

func (i *identity) AuthorizeURL(state, challenge, prompt string) string {
	u := i.oauth.AuthorizeURL(state, challenge, prompt == adapter.PromptNone)
	if prompt == adapter.PromptLogin {
		u += "&prompt=login"
	}
	return u
}

func (i *identity) Login(ctx context.Context, code, verifier string) (salesforce.UserInfo, error) {
	tok, err := i.oauth.Exchange(ctx, code, verifier)
	if err != nil {
		return salesforce.UserInfo{}, err
	}
	return i.oauth.UserInfo(ctx, tok)
}

func (i *identity) User(ctx context.Context, id string) (salesforce.User, error) {
	return i.client.User(ctx, id)
}

// demoIdentity is the demo org's sign-in under whatever host name and port
// the browser reached the server by (adapter.BaseURLProvider): the browser
// goes to base/demo-org and comes back to base/auth/callback, while the
// server exchanges the code at its own address (self).
type demoIdentity struct {
	*identity
	self string
}

var _ adapter.BaseURLProvider = demoIdentity{}

func (d demoIdentity) at(base, login string) salesforce.OAuthConfig {
	o := d.oauth
	o.LoginURL, o.RedirectURL = login+"/demo-org", base+"/auth/callback"
	return o
}

func (d demoIdentity) AuthorizeURLAt(base, state, challenge, prompt string) string {
	u := d.at(base, base).AuthorizeURL(state, challenge, prompt == adapter.PromptNone)
	if prompt == adapter.PromptLogin {
		u += "&prompt=login"
	}
	return u
}

func (d demoIdentity) LoginAt(ctx context.Context, base, code, verifier string) (salesforce.UserInfo, error) {
	o := d.at(base, d.self)
	tok, err := o.Exchange(ctx, code, verifier)
	if err != nil {
		return salesforce.UserInfo{}, err
	}
	return o.UserInfo(ctx, tok)
}

const (
	demoClientID        = "switchboard-demo-connected-app"
	demoIntegrationUser = fakeorg.IntegrationUsername
	// demoClientSecret lets anyone curl the demo org (client credentials
	// flow); it is only a demo's secret.
	demoClientSecret = "demo-secret"
)

// salesforce wires the REST client and agent sign-in: against the demo org
// (mounted at /demo-org on this server) in demo mode, else the real org.
func (m *Main) salesforce(self, public string, mounts map[string]http.Handler) (*sfParts, error) {
	cfg := m.Config
	httpClient := salesforce.NewHTTPClient()
	loginURL, browserLogin := cfg.SFLoginURL, cfg.SFLoginURL
	clientID, username, audience := cfg.SFClientID, cfg.SFUsername, cfg.SFAudience
	var key *rsa.PrivateKey
	if cfg.Demo {
		if m.Org == nil || m.demoKey == nil {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				return nil, fmt.Errorf("demo key: %w", err)
			}
			m.demoKey = k
			m.Org = fakeorg.Demo(fakeorg.Options{Now: m.Clock.Now, ClientID: demoClientID, PublicKey: &k.PublicKey,
				ClientCredentialsSecret: demoClientSecret, ClientCredentialsUser: demoIntegrationUser})
		}
		key = m.demoKey
		org := m.Org
		mounts["/demo-org/"] = http.StripPrefix("/demo-org", org.Handler())
		mounts["/demo/api/"] = demoAPI(org, cfg.SFAPIVersion)
		loginURL, browserLogin = self+"/demo-org", public+"/demo-org"
		clientID, username, audience = demoClientID, demoIntegrationUser, "https://login.salesforce.com"
	} else {
		k, err := salesforce.LoadPrivateKey([]byte(cfg.SFPrivateKey))
		if err != nil {
			return nil, fmt.Errorf("SWITCHBOARD_SF_PRIVATE_KEY_FILE: %w", err)
		}
		key = k
		if audience == "" {
			audience = "https://login.salesforce.com"
			if strings.Contains(loginURL, "test.salesforce.com") || strings.Contains(loginURL, "sandbox") {
				audience = "https://test.salesforce.com"
			}
		}
	}
	jwtFor := func(user string) salesforce.TokenSource {
		return salesforce.NewJWTSource(salesforce.JWTConfig{
			LoginURL: loginURL, ClientID: clientID, Username: user, Audience: audience,
			Key: key, HTTPClient: httpClient, Now: m.Clock.Now,
		})
	}
	order, err := salesforce.ParsePopOrder(cfg.SFPopOrder)
	if err != nil {
		return nil, fmt.Errorf("SWITCHBOARD_SF_POP_ORDER: %w", err)
	}
	tokens := jwtFor(username)
	scfg := salesforce.Config{
		APIVersion: cfg.SFAPIVersion, HTTPClient: httpClient, Tokens: tokens,
		DefaultRegion: cfg.Region, Now: m.Clock.Now,
		Lookup:             salesforce.LookupConfig{Order: order, CampaignDNISField: cfg.SFCampaignDNIS, CaseDigitsField: cfg.SFCaseDigits},
		Cache:              storeCache{m},
		UserExtensionField: cfg.SFUserExtField,
		UserACDAgentField:  cfg.SFUserACDField,
	}
	if cfg.SFWriteAs == "agent" {
		scfg.UserTokens = jwtFor
	}
	client := salesforce.NewClient(scfg)
	oauth := salesforce.OAuthConfig{
		LoginURL: browserLogin, ClientID: clientID, ClientSecret: cfg.SFClientSecret,
		RedirectURL: public + "/auth/callback", HTTPClient: httpClient,
	}
	var idp adapter.IdentityProvider = &identity{oauth: oauth, client: client}
	if cfg.Demo {
		idp = demoIdentity{identity: idp.(*identity), self: self}
	}
	return &sfParts{client: client, tokens: tokens, identity: idp, popOrder: order}, nil
}

// storeCache lends the Redis store to the Salesforce client as its lookup
// cache (salesforce.Cache).
type storeCache struct{ m *Main }

func (c storeCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return c.m.Store.Cache(ctx, "sf:"+key)
}

func (c storeCache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return c.m.Store.SetCache(ctx, "sf:"+key, val, ttl)
}

// demoAPI serves what the demo page shows: the org's Tasks and the demo
// numbers.
func demoAPI(org *fakeorg.Org, apiVersion string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo/api/tasks", func(w http.ResponseWriter, r *http.Request) {
		tasks := org.Records("Task")
		if tasks == nil {
			tasks = []map[string]any{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"tasks": tasks})
	})
	mux.HandleFunc("GET /demo/api/info", func(w http.ResponseWriter, r *http.Request) {
		public := requestBase(r) // the demo answers under any host name
		writeJSON(w, http.StatusOK, map[string]any{
			"agentExtension": "1001",
			"orgBaseUrl":     public + "/demo-org",
			"restBaseUrl":    public + "/demo-org/services/data/v" + apiVersion,
			"records":        demoRecords(org),
			"numbers": map[string]string{
				"knownContact": fakeorg.KnownCaller, "unknown": fakeorg.UnknownCaller,
				"multiMatch": fakeorg.SharedNumber, "lead": fakeorg.LeadNumber,
				"personAccount": fakeorg.PersonAccountNumber,
				"campaignDnis":  fakeorg.CampaignDNIS, "queueDnis": "+18005550100",
			},
		})
	})
	mux.HandleFunc("/demo/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "not_found", "message": "no such demo endpoint: " + r.URL.Path}})
	})
	return mux
}

// demoRecords lists the demo org's Contacts, Leads and Accounts with their
// ids, names and phone numbers, for the demo page's click-to-dial list and
// to show names instead of ids.
func demoRecords(org *fakeorg.Org) []map[string]any {
	out := []map[string]any{}
	for _, typ := range []string{"Contact", "Lead", "Account"} {
		for _, r := range org.Records(typ) {
			var phones []string
			for _, f := range []string{"Phone", "MobilePhone", "HomePhone", "PersonMobilePhone"} {
				if p, _ := r[f].(string); p != "" {
					phones = append(phones, p)
				}
			}
			name, _ := r["Name"].(string)
			if name == "" {
				name = strings.TrimSpace(fmt.Sprint(r["FirstName"], " ", r["LastName"]))
			}
			out = append(out, map[string]any{"id": r["Id"], "name": name, "type": typ, "phones": phones})
		}
	}
	return out
}

// requestBase is scheme://host as the browser reached this server.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
