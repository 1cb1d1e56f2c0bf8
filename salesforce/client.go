// Package salesforce is Switchboard's Salesforce REST API client, in
// Salesforce's own vocabulary: OAuth (JWT bearer for the server, web-server
// flow with PKCE for agents), SOQL and SOSL with escaping, screen-pop
// lookups, call-log Tasks, and API usage metrics.
//
// Every call takes a context, returns errors matching one of the sentinel
// errors (ErrUnauthorized, ErrNotFound, ErrLimitExceeded, ErrUnavailable,
// ErrInvalid), and never logs tokens or bodies. A 401 INVALID_SESSION_ID
// re-mints the token once and retries once; REQUEST_LIMIT_EXCEEDED makes the
// client hold writes back for a while instead of hammering the org (reads
// go on).
//
// The subpackage fakeorg is a runnable fake org speaking the same wire
// format, for tests and the demo.
package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAPIVersion is the REST API version used when Config.APIVersion is
// empty.
const DefaultAPIVersion = "67.0"

const maxBody = 16 << 20

// Config configures a Client. Only Tokens is required.
type Config struct {
	// APIVersion is the REST API version, default "67.0".
	APIVersion string
	// HTTPClient is shared by all calls; default NewHTTPClient's.
	HTTPClient *http.Client
	// Tokens authenticates as the integration user.
	Tokens TokenSource
	// UserTokens, when set, gives a TokenSource acting as the named user;
	// Task.AsUsername uses it so the agent is the Task's creator.
	UserTokens func(username string) TokenSource
	// DefaultRegion is the region for numbers without a country code,
	// default "US".
	DefaultRegion string
	// Lookup configures screen pops.
	Lookup LookupConfig
	// UserExtensionField is the User field holding the PBX extension,
	// default the standard "Extension".
	UserExtensionField string
	// UserACDAgentField is the User field holding the ACD agent id the
	// user may log in with, default the standard "EmployeeNumber"; "-"
	// reads none.
	UserACDAgentField string
	// Now defaults to time.Now.
	Now func() time.Time
	// Cache, when set, keeps number lookups for CacheTTL.
	Cache Cache
	// CacheTTL defaults to 60 s.
	CacheTTL time.Duration
	// LimitBackoff is how long the client holds writes back after
	// REQUEST_LIMIT_EXCEEDED, doubling while the org keeps refusing (up to
	// 16x); default 1 minute. Reads (lookups for ringing calls) are never
	// held back: the allowance is per org and rolling over 24 hours, and
	// a screen pop is worth more than an early call log.
	LimitBackoff time.Duration
}

// Client calls one org's REST API. Safe for concurrent use.
type Client struct {
	cfg Config

	requests, lookups, cacheHits, cacheMisses atomic.Int64

	mu          sync.Mutex
	userTokens  map[string]TokenSource // by username (write-as-agent)
	used, max   int
	blockedTill time.Time
	backoff     time.Duration
}

// NewHTTPClient returns an HTTP client for the REST API: one keep-alive
// pool per host sized for the outbox's concurrent Collections requests and
// the lookups of ringing calls (64 idle connections per host; the default
// transport keeps 2, so a busy adapter reconnected for a quarter of its
// requests), and a 30 s timeout (a 200-record request can be slow).
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Timeout: 30 * time.Second, Transport: t}
}

var restHTTPClient = NewHTTPClient()

// NewClient returns a Client for cfg, filling in defaults.
func NewClient(cfg Config) *Client {
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	cfg.APIVersion = strings.TrimPrefix(cfg.APIVersion, "v")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = restHTTPClient
	}
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = "US"
	}
	if cfg.UserExtensionField == "" {
		cfg.UserExtensionField = "Extension"
	}
	if cfg.UserACDAgentField == "" {
		cfg.UserACDAgentField = "EmployeeNumber"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 60 * time.Second
	}
	if cfg.LimitBackoff == 0 {
		cfg.LimitBackoff = time.Minute
	}
	cfg.Lookup = cfg.Lookup.withDefaults()
	return &Client{cfg: cfg}
}

// Requests returns how many HTTP requests the client has sent to the REST
// API (retries included, token mints excluded).
func (c *Client) Requests() int64 { return c.requests.Load() }

// Limits returns the org's API usage from the last Sforce-Limit-Info
// header: requests used in the last 24 hours and the daily maximum (0, 0
// before the first answer).
func (c *Client) Limits() (used, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, c.max
}

// Record is one record as the REST API returns it: field name to value,
// plus "attributes" {type, url}.
type Record map[string]any

// Type returns the sObject type from attributes.type.
func (r Record) Type() string {
	if a, ok := r["attributes"].(map[string]any); ok {
		s, _ := a["type"].(string)
		return s
	}
	return ""
}

// ID returns the Id field.
func (r Record) ID() string { return r.String("Id") }

// String returns a field as a string ("" when absent or null). Dotted names
// follow relationships ("Account.Name"); numbers and booleans are
// formatted.
func (r Record) String(field string) string {
	var v any = map[string]any(r)
	for _, part := range strings.Split(field, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			if rm, ok := v.(Record); ok {
				m = rm
			} else {
				return ""
			}
		}
		v = m[part]
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	}
	return ""
}

// Query runs a SOQL query and returns every record, following
// nextRecordsUrl. Build soql with QuoteSOQL / QuoteSOQLLike.
func (c *Client) Query(ctx context.Context, soql string) ([]Record, error) {
	return c.query(ctx, c.cfg.Tokens, soql)
}

func (c *Client) query(ctx context.Context, ts TokenSource, soql string) ([]Record, error) {
	var out []Record
	path := "/query?" + url.Values{"q": {soql}}.Encode()
	for page := 0; ; page++ {
		var res struct {
			Done           bool     `json:"done"`
			NextRecordsURL string   `json:"nextRecordsUrl"`
			Records        []Record `json:"records"`
		}
		if err := c.do(ctx, ts, http.MethodGet, path, nil, &res); err != nil {
			return nil, fmt.Errorf("salesforce: query: %w", err)
		}
		out = append(out, res.Records...)
		if res.Done || res.NextRecordsURL == "" {
			return out, nil
		}
		if page > 10000 {
			return nil, fmt.Errorf("salesforce: query: %w", &Error{StatusCode: http.StatusBadRequest, ErrorCode: "QUERY_TOO_LONG", Message: "too many pages"})
		}
		path = res.NextRecordsURL
	}
}

// Search runs a SOSL search and returns searchRecords. Build sosl with
// EscapeSOSL.
func (c *Client) Search(ctx context.Context, sosl string) ([]Record, error) {
	var res struct {
		SearchRecords []Record `json:"searchRecords"`
	}
	if err := c.do(ctx, c.cfg.Tokens, http.MethodGet, "/search/?"+url.Values{"q": {sosl}}.Encode(), nil, &res); err != nil {
		return nil, fmt.Errorf("salesforce: search: %w", err)
	}
	return res.SearchRecords, nil
}

// Create creates one record and returns its id.
func (c *Client) Create(ctx context.Context, sobject string, fields map[string]any) (string, error) {
	return c.create(ctx, c.cfg.Tokens, sobject, fields)
}

func (c *Client) create(ctx context.Context, ts TokenSource, sobject string, fields map[string]any) (string, error) {
	if !isAPIName(sobject) {
		return "", fmt.Errorf("salesforce: create: %w", &Error{StatusCode: http.StatusBadRequest, ErrorCode: "NOT_FOUND", Message: "bad sObject name"})
	}
	var res SaveResult
	if err := c.do(ctx, ts, http.MethodPost, "/sobjects/"+sobject+"/", fields, &res); err != nil {
		return "", fmt.Errorf("salesforce: create %s: %w", sobject, err)
	}
	if !res.Success || res.ID == "" {
		if len(res.Errors) > 0 {
			e := res.Errors[0]
			e.StatusCode = http.StatusBadRequest
			return "", fmt.Errorf("salesforce: create %s: %w", sobject, &e)
		}
		return "", fmt.Errorf("salesforce: create %s: %w", sobject, &Error{StatusCode: http.StatusBadGateway, ErrorCode: "NO_ID", Message: "create answered without an id"})
	}
	return res.ID, nil
}

// Get reads one record by id, with the given fields (all when none).
func (c *Client) Get(ctx context.Context, sobject, id string, fields ...string) (Record, error) {
	if !isAPIName(sobject) || !IsID(id) {
		return nil, fmt.Errorf("salesforce: get %s: %w", sobject, &Error{StatusCode: http.StatusBadRequest, ErrorCode: "MALFORMED_ID", Message: "bad sObject name or id"})
	}
	path := "/sobjects/" + sobject + "/" + id
	if len(fields) > 0 {
		path += "?" + url.Values{"fields": {strings.Join(fields, ",")}}.Encode()
	}
	var r Record
	if err := c.do(ctx, c.cfg.Tokens, http.MethodGet, path, nil, &r); err != nil {
		return nil, fmt.Errorf("salesforce: get %s %s: %w", sobject, id, err)
	}
	return r, nil
}

// Update sets fields on one record (PATCH; 204 on success).
func (c *Client) Update(ctx context.Context, sobject, id string, fields map[string]any) error {
	return c.update(ctx, c.cfg.Tokens, sobject, id, fields)
}

func (c *Client) update(ctx context.Context, ts TokenSource, sobject, id string, fields map[string]any) error {
	if !isAPIName(sobject) || !IsID(id) {
		return fmt.Errorf("salesforce: update %s: %w", sobject, &Error{StatusCode: http.StatusBadRequest, ErrorCode: "MALFORMED_ID", Message: "bad sObject name or id"})
	}
	if err := c.do(ctx, ts, http.MethodPatch, "/sobjects/"+sobject+"/"+id, fields, nil); err != nil {
		return fmt.Errorf("salesforce: update %s %s: %w", sobject, id, err)
	}
	return nil
}

// Ping makes one cheap call (GET /limits) to check that the org answers
// and the credentials work. It also refreshes Limits.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.do(ctx, c.cfg.Tokens, http.MethodGet, "/limits", nil, nil); err != nil {
		return fmt.Errorf("salesforce: ping: %w", err)
	}
	return nil
}

// do sends one REST call. path is relative to /services/data/vNN.0 or, when
// it starts with /services/, to the instance. body is JSON-encoded; out,
// when not nil, receives the decoded answer.
func (c *Client) do(ctx context.Context, ts TokenSource, method, path string, body, out any) error {
	if ts == nil {
		return &Error{StatusCode: http.StatusUnauthorized, ErrorCode: "NO_CREDENTIALS", Message: "no token source configured"}
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return &Error{StatusCode: http.StatusBadRequest, ErrorCode: "JSON_PARSER_ERROR", Message: err.Error()}
		}
	}
	refreshed, retried := false, false
	for {
		if method != http.MethodGet {
			if err := c.checkBackoff(); err != nil {
				return err
			}
		}
		tok, err := ts.Token(ctx)
		if err != nil {
			return err
		}
		status, header, data, err := c.send(ctx, tok, method, path, payload)
		if err != nil {
			// A dropped connection: retry reads once; writes may have
			// happened, so they are not repeated.
			if ctx.Err() == nil && method == http.MethodGet && !retried {
				retried = true
				continue
			}
			return err
		}
		if status >= 200 && status < 300 && (status == http.StatusNoContent || len(data) == 0 || isJSON(header)) {
			c.noteSuccess()
			if out == nil || len(bytes.TrimSpace(data)) == 0 {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return &Error{StatusCode: status, ErrorCode: codeNotJSON, Message: "undecodable answer"}
			}
			return nil
		}
		e := parseError(status, header, data)
		switch {
		case status == http.StatusUnauthorized && !refreshed:
			refreshed = true
			ts.Invalidate(tok)
			continue
		case e.ErrorCode == "REQUEST_LIMIT_EXCEEDED" && method != http.MethodGet:
			c.noteLimitExceeded()
		case e.kind() == ErrUnavailable && method == http.MethodGet && !retried:
			retried = true
			continue
		}
		return e
	}
}

func (c *Client) send(ctx context.Context, tok Token, method, path string, payload []byte) (int, http.Header, []byte, error) {
	u := tok.InstanceURL
	if strings.HasPrefix(path, "/services/") {
		u += path
	} else {
		u += "/services/data/v" + c.cfg.APIVersion + path
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, &Error{StatusCode: http.StatusBadRequest, ErrorCode: "BAD_URL", Message: "cannot build request URL"}
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.requests.Add(1)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, nil, connError(ctx, err)
	}
	defer resp.Body.Close()
	c.noteLimitInfo(resp.Header.Get("Sforce-Limit-Info"))
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, connError(ctx, err)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// noteLimitInfo parses "api-usage=USED/MAX" (other entries may follow).
func (c *Client) noteLimitInfo(h string) {
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k != "api-usage" {
			continue
		}
		us, ms, ok := strings.Cut(v, "/")
		used, err1 := strconv.Atoi(us)
		max, err2 := strconv.Atoi(ms)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		c.mu.Lock()
		c.used, c.max = used, max
		c.mu.Unlock()
	}
}

func (c *Client) checkBackoff() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.cfg.Now(); now.Before(c.blockedTill) {
		return &Error{StatusCode: http.StatusForbidden, ErrorCode: "REQUEST_LIMIT_EXCEEDED",
			Message: fmt.Sprintf("backing off until %s after the org refused for its API limit", c.blockedTill.UTC().Format(time.RFC3339))}
	}
	return nil
}

func (c *Client) noteLimitExceeded() {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.backoff == 0:
		c.backoff = c.cfg.LimitBackoff
	case c.backoff < 16*c.cfg.LimitBackoff:
		c.backoff *= 2
	}
	c.blockedTill = c.cfg.Now().Add(c.backoff)
}

func (c *Client) noteSuccess() {
	c.mu.Lock()
	c.backoff = 0
	c.mu.Unlock()
}

// isAPIName reports whether s is a plausible sObject or field API name
// (letters, digits, underscores; starts with a letter).
func isAPIName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_'):
		default:
			return false
		}
	}
	return true
}

// IsID reports whether s looks like a Salesforce record id: 15 or 18
// letters and digits.
func IsID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
