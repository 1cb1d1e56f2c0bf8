package fakeorg_test

// The contract test checks the fake's answers against the wire format
// documented in shared/reference/salesforce.md, with plain HTTP (not the
// client), so the fake cannot drift to suit the client.

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

const clientID = "3MVG9contract"

type fixture struct {
	org   *fakeorg.Org
	srv   *httptest.Server
	key   *rsa.PrivateKey
	now   time.Time
	token string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)
	org := fakeorg.Demo(fakeorg.Options{Now: func() time.Time { return now }, ClientID: clientID, PublicKey: &key.PublicKey})
	srv := httptest.NewServer(org.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{org: org, srv: srv, key: key, now: now}
	status, _, body := f.postForm(t, "/services/oauth2/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {f.assertion(t, nil)},
	})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	f.token = body.(map[string]any)["access_token"].(string)
	return f
}

func (f *fixture) assertion(t *testing.T, tweak func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{"iss": clientID, "sub": fakeorg.IntegrationUsername, "aud": "https://login.salesforce.com", "exp": f.now.Add(3 * time.Minute).Unix()}
	if tweak != nil {
		tweak(claims)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(f.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) postForm(t *testing.T, path string, form url.Values) (int, http.Header, any) {
	t.Helper()
	resp, err := http.PostForm(f.srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

// call sends a REST request with the fixture's token.
func (f *fixture) call(t *testing.T, method, path string, body string) (int, http.Header, any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, http.Header, any) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return resp.StatusCode, resp.Header, nil
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return resp.StatusCode, resp.Header, string(b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body is not JSON: %s", b)
	}
	return resp.StatusCode, resp.Header, v
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

var (
	limitInfoRE = regexp.MustCompile(`^api-usage=\d+/\d+$`)
	idRE        = regexp.MustCompile(`^[0-9A-Za-z]{15}[A-Z0-5]{3}$`)
)

// wantErrorArray checks the REST error shape: a JSON array of
// {message, errorCode[, fields]}.
func wantErrorArray(t *testing.T, body any, code string) {
	t.Helper()
	arr, ok := body.([]any)
	if !ok || len(arr) == 0 {
		t.Fatalf("error body %v is not a non-empty JSON array", body)
	}
	e := arr[0].(map[string]any)
	if e["errorCode"] != code {
		t.Errorf("errorCode %v, want %s", e["errorCode"], code)
	}
	if _, ok := e["message"].(string); !ok {
		t.Errorf("error %v has no message", e)
	}
	for k := range e {
		if k != "message" && k != "errorCode" && k != "fields" {
			t.Errorf("error has undocumented key %q", k)
		}
	}
}

func TestContractOAuth(t *testing.T) {
	f := newFixture(t)
	t.Run("the JWT bearer token response has the documented keys", func(t *testing.T) {
		status, h, body := f.postForm(t, "/services/oauth2/token", url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {f.assertion(t, nil)}})
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		m := body.(map[string]any)
		for _, k := range []string{"access_token", "scope", "instance_url", "id", "token_type"} {
			if _, ok := m[k].(string); !ok {
				t.Errorf("token response lacks %s: %v", k, keys(m))
			}
		}
		if _, ok := m["refresh_token"]; ok {
			t.Error("the JWT bearer flow issues no refresh token")
		}
		if m["token_type"] != "Bearer" || m["instance_url"] != f.srv.URL {
			t.Errorf("token_type %v, instance_url %v", m["token_type"], m["instance_url"])
		}
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(f.srv.URL) + `/id/00D[0-9A-Za-z]{15}/005[0-9A-Za-z]{15}$`).MatchString(m["id"].(string)) {
			t.Errorf("id %v is not {base}/id/<orgId>/<userId>", m["id"])
		}
		if h.Get("Sforce-Limit-Info") != "" {
			t.Error("the token endpoint is not the REST API")
		}
	})
	refusals := []struct {
		name, code, desc string
		form             url.Values
	}{
		{"an expired assertion", "invalid_grant", "expired authorization code", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"assertion": {f.assertion(t, func(c jwt.MapClaims) { c["exp"] = f.now.Add(-time.Minute).Unix() })}}},
		{"a wrong audience", "invalid_grant", "audience is invalid", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"assertion": {f.assertion(t, func(c jwt.MapClaims) { c["aud"] = "https://evil.example" })}}},
		{"an unknown user", "invalid_grant", "user hasn't approved this consumer", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"assertion": {f.assertion(t, func(c jwt.MapClaims) { c["sub"] = "ghost@demo.switchboard" })}}},
		{"a wrong issuer", "invalid_client_id", "client identifier invalid", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"assertion": {f.assertion(t, func(c jwt.MapClaims) { c["iss"] = "other" })}}},
		{"a forged signature", "invalid_grant", "invalid assertion", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"assertion": {f.assertion(t, nil)[:40] + "x.y.z"}}},
		{"an unknown grant type", "unsupported_grant_type", "grant type not supported", url.Values{"grant_type": {"password"}}},
	}
	for _, tc := range refusals {
		t.Run(tc.name+" is a 400 with error and error_description", func(t *testing.T) {
			status, _, body := f.postForm(t, "/services/oauth2/token", tc.form)
			want := map[string]any{"error": tc.code, "error_description": tc.desc}
			if diff := cmp.Diff(want, body); status != 400 || diff != "" {
				t.Errorf("status %d (-want +got):\n%s", status, diff)
			}
		})
	}
	t.Run("userinfo has preferred_username, user_id and organization_id", func(t *testing.T) {
		status, _, body := f.call(t, "GET", "/services/oauth2/userinfo", "")
		m := body.(map[string]any)
		if status != 200 || m["preferred_username"] != fakeorg.IntegrationUsername || !strings.HasPrefix(m["user_id"].(string), "005") || m["organization_id"] != f.org.OrgID() {
			t.Errorf("userinfo %d %v", status, m)
		}
	})
	t.Run("the identity URL has the documented keys", func(t *testing.T) {
		_, _, tb := f.postForm(t, "/services/oauth2/token", url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {f.assertion(t, nil)}})
		id := strings.TrimPrefix(tb.(map[string]any)["id"].(string), f.srv.URL)
		status, _, body := f.call(t, "GET", id, "")
		m := body.(map[string]any)
		for _, k := range []string{"user_id", "organization_id", "username", "display_name", "email", "language", "locale", "timezone"} {
			if m[k] == nil {
				t.Errorf("identity lacks %s", k)
			}
		}
		urls, _ := m["urls"].(map[string]any)
		for _, k := range []string{"rest", "query", "search", "sobjects"} {
			if urls[k] == nil {
				t.Errorf("identity urls lack %s", k)
			}
		}
		if status != 200 {
			t.Errorf("status %d", status)
		}
	})
}

func TestContractREST(t *testing.T) {
	f := newFixture(t)
	const v = "/services/data/v67.0"
	t.Run("SOQL answers totalSize, done and records with attributes", func(t *testing.T) {
		status, h, body := f.call(t, "GET", v+"/query?q="+url.QueryEscape("SELECT Id, Name FROM Contact WHERE LastName = 'Hall'"), "")
		m := body.(map[string]any)
		if status != 200 || m["totalSize"] != 1.0 || m["done"] != true {
			t.Fatalf("%d %v", status, m)
		}
		rec := m["records"].([]any)[0].(map[string]any)
		attrs := rec["attributes"].(map[string]any)
		if attrs["type"] != "Contact" || !strings.HasPrefix(attrs["url"].(string), v+"/sobjects/Contact/003") {
			t.Errorf("attributes %v", attrs)
		}
		if diff := cmp.Diff([]string{"Id", "Name", "attributes"}, keys(rec)); diff != "" {
			t.Errorf("record keys (-want +got):\n%s", diff)
		}
		if !limitInfoRE.MatchString(h.Get("Sforce-Limit-Info")) {
			t.Errorf("Sforce-Limit-Info %q", h.Get("Sforce-Limit-Info"))
		}
	})
	t.Run("SOSL answers searchRecords with attributes", func(t *testing.T) {
		q := "FIND {4155550123} IN PHONE FIELDS RETURNING Contact(Id, Name), Account(Id, Name), Lead(Id, Name)"
		status, _, body := f.call(t, "GET", v+"/search/?q="+url.QueryEscape(q), "")
		m := body.(map[string]any)
		recs, ok := m["searchRecords"].([]any)
		if status != 200 || !ok || len(recs) != 1 {
			t.Fatalf("%d %v", status, m)
		}
		if recs[0].(map[string]any)["attributes"].(map[string]any)["type"] != "Contact" {
			t.Errorf("record %v", recs[0])
		}
	})
	var taskID string
	t.Run("create answers 201, Location and {id, success, errors}", func(t *testing.T) {
		status, h, body := f.call(t, "POST", v+"/sobjects/Task/", `{"Subject":"Call","CallType":"Inbound","TaskSubtype":"Call"}`)
		m := body.(map[string]any)
		if status != 201 || m["success"] != true || !cmp.Equal(m["errors"], []any{}) {
			t.Fatalf("%d %v", status, m)
		}
		taskID = m["id"].(string)
		if !idRE.MatchString(taskID) || !strings.HasPrefix(taskID, "00T") {
			t.Errorf("id %q", taskID)
		}
		if h.Get("Location") != v+"/sobjects/Task/"+taskID {
			t.Errorf("Location %q", h.Get("Location"))
		}
		if diff := cmp.Diff([]string{"errors", "id", "success"}, keys(m)); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	})
	t.Run("a record reads back by id with its defaults", func(t *testing.T) {
		status, _, body := f.call(t, "GET", v+"/sobjects/Task/"+taskID, "")
		m := body.(map[string]any)
		if status != 200 || m["Id"] != taskID || m["Status"] != "Not Started" || m["Priority"] != "Normal" {
			t.Errorf("%d %v", status, m)
		}
	})
	t.Run("update answers 204 without a body", func(t *testing.T) {
		status, h, body := f.call(t, "PATCH", v+"/sobjects/Task/"+taskID, `{"Description":"notes"}`)
		if status != 204 || body != nil || !limitInfoRE.MatchString(h.Get("Sforce-Limit-Info")) {
			t.Errorf("%d %v", status, body)
		}
	})
	t.Run("sObject Collections answer an array of {id, success, errors}", func(t *testing.T) {
		status, _, body := f.call(t, "POST", v+"/composite/sobjects",
			`{"allOrNone":false,"records":[{"attributes":{"type":"Task"},"Subject":"a"},{"attributes":{"type":"Task"},"CallType":"Nope"}]}`)
		arr := body.([]any)
		if status != 200 || len(arr) != 2 {
			t.Fatalf("%d %v", status, body)
		}
		ok, bad := arr[0].(map[string]any), arr[1].(map[string]any)
		if ok["success"] != true || !strings.HasPrefix(ok["id"].(string), "00T") {
			t.Errorf("first %v", ok)
		}
		errs := bad["errors"].([]any)
		e := errs[0].(map[string]any)
		if bad["success"] != false || e["statusCode"] != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" || e["message"] == nil || e["fields"] == nil {
			t.Errorf("second %v", bad)
		}
	})
	errs := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"an unparseable query", "GET", v + "/query?q=" + url.QueryEscape("SELEKT Id FROM Contact"), "", 400, "MALFORMED_QUERY"},
		{"an unknown column", "GET", v + "/query?q=" + url.QueryEscape("SELECT Mood FROM Contact"), "", 400, "INVALID_FIELD"},
		{"an unknown field on create", "POST", v + "/sobjects/Task/", `{"Mood__c":"x"}`, 400, "INVALID_FIELD"},
		{"a malformed id", "GET", v + "/sobjects/Task/not-an-id", "", 400, "MALFORMED_ID"},
		{"a missing record", "GET", v + "/sobjects/Task/00TDm0000000zzz", "", 404, "NOT_FOUND"},
		{"a restricted picklist value", "POST", v + "/sobjects/Task/", `{"CallType":"Sideways"}`, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
		{"a subject over 255 characters", "POST", v + "/sobjects/Task/", `{"Subject":"` + strings.Repeat("x", 256) + `"}`, 400, "STRING_TOO_LONG"},
		{"a date before 1700", "POST", v + "/sobjects/Task/", `{"ActivityDate":"0001-01-01"}`, 400, "FIELD_INTEGRITY_EXCEPTION"},
		{"a date after 4000", "POST", v + "/sobjects/Task/", `{"ActivityDate":"9999-12-31"}`, 400, "FIELD_INTEGRITY_EXCEPTION"},
		{"TaskSubtype on update", "PATCH", v + "/sobjects/Task/00TDm0000000zzz", `{"TaskSubtype":"Call"}`, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{"an unescaped reserved character in SOSL", "GET", v + "/search/?q=" + url.QueryEscape("FIND {a-b} RETURNING Contact"), "", 400, "MALFORMED_SEARCH"},
		{"more than 200 records in a collection", "POST", v + "/composite/sobjects", `{"records":[` + strings.Repeat(`{"attributes":{"type":"Task"}},`, 200) + `{"attributes":{"type":"Task"}}]}`, 400, "EXCEEDED_ID_LIMIT"},
	}
	for _, tc := range errs {
		t.Run(tc.name+" is a "+tc.code+" error array", func(t *testing.T) {
			status, h, body := f.call(t, tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			wantErrorArray(t, body, tc.code)
			if !limitInfoRE.MatchString(h.Get("Sforce-Limit-Info")) {
				t.Errorf("Sforce-Limit-Info %q", h.Get("Sforce-Limit-Info"))
			}
		})
	}
	t.Run("a bad token is a 401 INVALID_SESSION_ID", func(t *testing.T) {
		g := *f
		g.token = "nope"
		status, _, body := g.call(t, "GET", v+"/limits", "")
		if status != 401 {
			t.Errorf("status %d", status)
		}
		wantErrorArray(t, body, "INVALID_SESSION_ID")
	})
	t.Run("the daily limit is a 403 REQUEST_LIMIT_EXCEEDED", func(t *testing.T) {
		f.org.SetUsage(15000)
		defer f.org.SetUsage(0)
		status, h, body := f.call(t, "GET", v+"/limits", "")
		if status != 403 || h.Get("Sforce-Limit-Info") != "api-usage=15000/15000" {
			t.Errorf("status %d, %s", status, h.Get("Sforce-Limit-Info"))
		}
		wantErrorArray(t, body, "REQUEST_LIMIT_EXCEEDED")
	})
	t.Run("record ids carry Salesforce's key prefixes", func(t *testing.T) {
		for obj, prefix := range map[string]string{"Contact": "003", "Account": "001", "Lead": "00Q", "Campaign": "701", "Case": "500", "User": "005"} {
			for _, r := range f.org.Records(obj) {
				id := r["Id"].(string)
				if !strings.HasPrefix(id, prefix) || !idRE.MatchString(id) {
					t.Errorf("%s id %q", obj, id)
				}
			}
		}
	})
	t.Run("an injected 503 is a JSON error array", func(t *testing.T) {
		f.org.Inject(fakeorg.Fault{Kind: fakeorg.Unavailable503, Count: 1})
		status, _, body := f.call(t, "GET", v+"/limits", "")
		if status != 503 {
			t.Errorf("status %d", status)
		}
		wantErrorArray(t, body, "SERVER_UNAVAILABLE")
	})
	t.Run("an injected maintenance page is HTML", func(t *testing.T) {
		f.org.Inject(fakeorg.Fault{Kind: fakeorg.HTMLPage, Count: 1})
		_, h, body := f.call(t, "GET", v+"/limits", "")
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body.(string), "<html>") {
			t.Errorf("%s %v", h.Get("Content-Type"), body)
		}
	})
}

func TestALostAnswerIsAppliedThenTheHookRunsThenTheConnectionCloses(t *testing.T) {
	f := newFixture(t)
	v := "/services/data/v67.0"
	hooked := make(chan int, 1)
	f.org.Inject(fakeorg.Fault{Kind: fakeorg.LostAnswer, Count: 1, PathPrefix: v + "/composite", Method: "POST",
		Applied: func(r *http.Request) { hooked <- len(f.org.Records("Task")) }})
	req, _ := http.NewRequest("POST", f.srv.URL+v+"/composite/sobjects",
		strings.NewReader(`{"allOrNone":false,"records":[{"attributes":{"type":"Task"},"Subject":"lost"}]}`))
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer (%d), want the connection closed without one", resp.StatusCode)
	}
	if tasksAtHook := <-hooked; tasksAtHook != 1 || len(f.org.Records("Task")) != 1 {
		t.Fatalf("Tasks when the hook ran: %d, after: %d; want the create applied before the hook", tasksAtHook, len(f.org.Records("Task")))
	}
}
