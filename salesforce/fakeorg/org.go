// Package fakeorg is a fake Salesforce org: a real HTTP server speaking the
// documented wire format of the OAuth endpoints (JWT bearer and web-server
// flow with PKCE), the REST API (SOQL subset, SOSL subset, sObject create,
// read and update, sObject Collections, limits) with Salesforce's error
// bodies, per-org API usage with Sforce-Limit-Info, and injectable faults.
//
// It does not import the client package: its behaviour follows the
// documentation (see contract_test.go), so the client cannot bend it.
//
// Mount it anywhere, also under a path prefix with http.StripPrefix:
// instance_url and identity URLs are derived from each request (scheme,
// Host, X-Forwarded-Proto/-Host/-Prefix, or the prefix StripPrefix
// removed), or from Options.BaseURL.
package fakeorg

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// User is a user of the fake org.
type User struct {
	// ID is assigned (005...) when empty.
	ID string
	// Username is the login name.
	Username string
	// FirstName and LastName make up Name.
	FirstName, LastName string
	// Email defaults to Username.
	Email string
	// Extension is the standard User.Extension field.
	Extension string
	// EmployeeNumber is the standard User.EmployeeNumber field (the demo
	// keeps ACD agent ids there).
	EmployeeNumber string
	// Unapproved users are refused by the JWT bearer flow with "user
	// hasn't approved this consumer", as when the connected app does not
	// pre-authorize them.
	Unapproved bool
}

// Options configures an Org.
type Options struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// ClientID is the connected app's consumer key; empty accepts any.
	ClientID string
	// ClientSecret, when set, is required by the authorization-code grant.
	ClientSecret string
	// PublicKey verifies JWT bearer assertions. When nil, signatures are
	// not checked (demo only).
	PublicKey *rsa.PublicKey
	// Users are the org's users.
	Users []User
	// DefaultUser is the username the browser is "already signed in" as
	// on the authorize page, so the demo login is silent. Empty: the
	// picker is shown (and prompt=none answers login_required).
	DefaultUser string
	// DailyLimit is the API request limit per day, default 15000.
	DailyLimit int
	// APIVersion is the newest version served, default "67.0".
	APIVersion string
	// BaseURL, when set, returns the org's URL for a request (instead of
	// deriving it from the request).
	BaseURL func(r *http.Request) string
	// SessionTimeout expires access tokens, default 2 hours.
	SessionTimeout time.Duration
	// QueryBatchSize is the number of records per query page, default
	// 2000 (a Sforce-Query-Options: batchSize=N header lowers it).
	QueryBatchSize int
	// OrgID is assigned (00D...) when empty.
	OrgID string
	// ClientCredentialsSecret, when set, enables the client credentials
	// flow (client_id + this secret) for ClientCredentialsUser.
	ClientCredentialsSecret string
	ClientCredentialsUser   string
}

// Org is a fake Salesforce org. Safe for concurrent use.
type Org struct {
	opt Options

	mu       sync.Mutex
	store    map[string]*table // sObject -> records
	seq      int
	caseSeq  int
	sessions map[string]session
	codes    map[string]authCode
	cursors  map[string][]map[string]any
	usage    int
	usageDay string
	requests int
	byKind   map[string]int // requests by kind (RequestsByKind)
	faults   []*Fault
}

type table struct {
	ids  []string
	recs map[string]map[string]any
}

type session struct {
	userID  string
	issued  time.Time
	revoked bool
}

// New returns an empty org with opt's users.
func New(opt Options) *Org {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.DailyLimit == 0 {
		opt.DailyLimit = 15000
	}
	if opt.APIVersion == "" {
		opt.APIVersion = "67.0"
	}
	if opt.SessionTimeout == 0 {
		opt.SessionTimeout = 2 * time.Hour
	}
	if opt.QueryBatchSize <= 0 {
		opt.QueryBatchSize = 2000
	}
	o := &Org{
		opt:      opt,
		store:    map[string]*table{},
		sessions: map[string]session{},
		codes:    map[string]authCode{},
		cursors:  map[string][]map[string]any{},
	}
	if o.opt.OrgID == "" {
		o.opt.OrgID = o.newID("00D")
	}
	for _, u := range opt.Users {
		o.AddUser(u)
	}
	return o
}

// AddUser adds a user and returns its id.
func (o *Org) AddUser(u User) string {
	if u.ID == "" {
		u.ID = o.nextID("005")
	}
	if u.Email == "" {
		u.Email = u.Username
	}
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.put("User", map[string]any{
		"Id": u.ID, "Username": u.Username, "FirstName": u.FirstName, "LastName": u.LastName,
		"Name": name, "Email": u.Email, "Extension": u.Extension, "EmployeeNumber": u.EmployeeNumber, "IsActive": true,
		"unapproved": u.Unapproved,
	})
	return u.ID
}

// OrgID returns the organization id.
func (o *Org) OrgID() string { return o.opt.OrgID }

// Handler serves the org. Paths are relative to the org's root.
func (o *Org) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/oauth2/token", o.token)
	mux.HandleFunc("GET /services/oauth2/authorize", o.authorize)
	mux.HandleFunc("POST /services/oauth2/authorize", o.authorizePick)
	mux.HandleFunc("GET /services/oauth2/userinfo", o.userinfo)
	mux.HandleFunc("GET /id/{org}/{user}", o.identity)
	mux.HandleFunc("GET /services/data", o.versions)
	mux.HandleFunc("GET /services/data/{$}", o.versions)
	mux.HandleFunc("/services/data/{version}/{rest...}", o.rest)
	return o.withFaults(mux)
}

var versionRE = regexp.MustCompile(`^v[1-9][0-9]\.0$`)

// rest authenticates, counts and routes a REST API call.
func (o *Org) rest(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.requests++
	o.countKind(requestKind(r))
	o.mu.Unlock()
	version := r.PathValue("version")
	if !versionRE.MatchString(version) || version[1:] > o.opt.APIVersion && len(version[1:]) == len(o.opt.APIVersion) {
		o.writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	uid, ok := o.authenticate(r)
	if !ok {
		o.writeErrors(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	if !o.countUsage() {
		o.writeErrors(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	ctx := &call{org: o, w: w, r: r, version: version, userID: uid}
	rest := r.PathValue("rest")
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case rest == "limits" || rest == "limits/":
		ctx.limits()
	case parts[0] == "query":
		ctx.query(parts[1:])
	case parts[0] == "search":
		ctx.search()
	case parts[0] == "sobjects" && len(parts) >= 2:
		ctx.sobjects(parts[1:])
	case rest == "composite/sobjects" || rest == "composite/sobjects/":
		ctx.collection()
	default:
		o.writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

// call is one authenticated REST request.
type call struct {
	org     *Org
	w       http.ResponseWriter
	r       *http.Request
	version string
	userID  string
}

func (c *call) fail(status int, code, msg string, fields ...string) {
	c.org.writeErrors(c.w, status, code, msg, fields...)
}

// authenticate returns the user of the bearer token.
func (o *Org) authenticate(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	}
	if !ok {
		return "", false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.sessions[tok]
	if !ok || s.revoked || o.opt.Now().Sub(s.issued) > o.opt.SessionTimeout {
		return "", false
	}
	return s.userID, true
}

// countUsage counts one API request against the daily limit.
func (o *Org) countUsage() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rollDay()
	if o.usage >= o.opt.DailyLimit {
		return false
	}
	o.usage++
	return true
}

func (o *Org) rollDay() {
	if day := o.opt.Now().UTC().Format(time.DateOnly); day != o.usageDay {
		o.usageDay, o.usage = day, 0
	}
}

// Usage returns the API requests counted today and the daily limit.
func (o *Org) Usage() (used, limit int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rollDay()
	return o.usage, o.opt.DailyLimit
}

// SetUsage sets today's API usage (to test the limit without 15,000
// requests).
func (o *Org) SetUsage(used int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rollDay()
	o.usage = used
}

// Requests returns how many REST API requests (under /services/data) the
// org has received, including refused and faulted ones.
func (o *Org) Requests() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests
}

func (o *Org) limitInfo(h http.Header) {
	used, limit := o.Usage()
	h.Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", used, limit))
}

// writeJSON writes v with status; REST answers carry Sforce-Limit-Info.
func (o *Org) writeJSON(w http.ResponseWriter, status int, v any) {
	o.limitInfo(w.Header())
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// apiError is one element of a REST error array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func (o *Org) writeErrors(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	o.writeJSON(w, status, []apiError{{Message: msg, ErrorCode: code, Fields: fields}})
}

// baseURL is the org's URL as the client reaches it.
func (o *Org) baseURL(r *http.Request) string {
	if o.opt.BaseURL != nil {
		return strings.TrimRight(o.opt.BaseURL(r), "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	prefix := r.Header.Get("X-Forwarded-Prefix")
	if prefix == "" {
		// http.StripPrefix leaves RequestURI alone: what it removed is the
		// mount point.
		reqPath, _, _ := strings.Cut(r.RequestURI, "?")
		if strings.HasSuffix(reqPath, r.URL.EscapedPath()) {
			prefix = strings.TrimSuffix(reqPath, r.URL.EscapedPath())
		}
	}
	return scheme + "://" + host + strings.TrimRight(prefix, "/")
}

// newID returns a fresh 18-character id with the key prefix (no lock).
func (o *Org) newID(prefix string) string {
	o.seq++
	return makeID(prefix, o.seq)
}

func (o *Org) nextID(prefix string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.newID(prefix)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// makeID builds prefix + pod "Dm" + 10 base-62 digits of n + the 3-char
// case-safe suffix Salesforce computes.
func makeID(prefix string, n int) string {
	digits := make([]byte, 10)
	for i := 9; i >= 0; i-- {
		digits[i] = base62[n%62]
		n /= 62
	}
	id := prefix + "Dm" + string(digits)
	return id + idSuffix(id)
}

// idSuffix is Salesforce's checksum making 15-char ids case-insensitive:
// for each 5-char chunk, a bit per upper-case letter, read backwards, picks
// a char from A-Z0-5.
func idSuffix(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var out [3]byte
	for chunk := 0; chunk < 3; chunk++ {
		bits := 0
		for i := 0; i < 5; i++ {
			ch := id15[chunk*5+i]
			if ch >= 'A' && ch <= 'Z' {
				bits |= 1 << i
			}
		}
		out[chunk] = alphabet[bits]
	}
	return string(out[:])
}

// validID reports whether s is a well-formed 15- or 18-char id (with a
// correct suffix when 18).
func validID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(base62, rune(s[i])) {
			return false
		}
	}
	return len(s) == 15 || strings.EqualFold(idSuffix(s[:15]), s[15:])
}

// id18 returns the 18-char form of a valid id.
func id18(s string) string {
	if len(s) == 15 {
		return s + idSuffix(s)
	}
	return s
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for _, x := range b {
		sb.WriteByte(base62[int(x)%62])
	}
	return sb.String()
}

func (o *Org) versions(w http.ResponseWriter, r *http.Request) {
	v, _ := strconv.ParseFloat(o.opt.APIVersion, 64)
	var out []map[string]string
	for n := 20.0; n <= v; n++ {
		s := strconv.FormatFloat(n, 'f', 1, 64)
		out = append(out, map[string]string{"label": "v" + s, "url": "/services/data/v" + s, "version": s})
	}
	writeJSON(w, http.StatusOK, out)
}

// countKind counts one request of a kind; o.mu held.
func (o *Org) countKind(kind string) {
	if o.byKind == nil {
		o.byKind = map[string]int{}
	}
	o.byKind[kind]++
}

var fromRE = regexp.MustCompile(`(?i)\bFROM\s+(\w+)`)

// requestKind names a REST request for RequestsByKind: "query Task",
// "search", "create Task", "update Task", "collections create",
// "collections update", "limits", ...
func requestKind(r *http.Request) string {
	rest := strings.TrimSuffix(r.PathValue("rest"), "/")
	parts := strings.Split(rest, "/")
	switch {
	case parts[0] == "query":
		if m := fromRE.FindStringSubmatch(r.URL.Query().Get("q")); m != nil {
			return "query " + m[1]
		}
		return "query"
	case parts[0] == "sobjects" && len(parts) >= 2:
		switch r.Method {
		case http.MethodPost:
			return "create " + parts[1]
		case http.MethodPatch:
			return "update " + parts[1]
		}
		return "get " + parts[1]
	case rest == "composite/sobjects":
		if r.Method == http.MethodPatch {
			return "collections update"
		}
		return "collections create"
	}
	return parts[0]
}

// RequestsByKind returns the requests received so far by kind: REST API
// requests (see requestKind) and "token" for OAuth token requests.
func (o *Org) RequestsByKind() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.byKind))
	for k, v := range o.byKind {
		out[k] = v
	}
	return out
}
