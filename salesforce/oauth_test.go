package salesforce_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

const redirectURL = "https://switchboard.example/oauth/callback"

// noRedirects is a browser that stops at each redirect, keeping cookies.
func noRedirects(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// follow GETs u and returns the redirect's query.
func follow(t *testing.T, browser *http.Client, resp *http.Response) url.Values {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, want 302: %s", resp.StatusCode, b)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirectURL) {
		t.Fatalf("redirected to %q, want %s", resp.Header.Get("Location"), redirectURL)
	}
	return loc.Query()
}

func TestAuthorizeURL(t *testing.T) {
	o := salesforce.OAuthConfig{LoginURL: "https://login.salesforce.com/", ClientID: "cid", RedirectURL: redirectURL}
	for _, tc := range []struct {
		name   string
		silent bool
		want   string
	}{
		{"an interactive login asks for a code with PKCE", false, "https://login.salesforce.com/services/oauth2/authorize?client_id=cid&code_challenge=ch&code_challenge_method=S256&redirect_uri=https%3A%2F%2Fswitchboard.example%2Foauth%2Fcallback&response_type=code&state=st"},
		{"a silent login adds prompt=none", true, "https://login.salesforce.com/services/oauth2/authorize?client_id=cid&code_challenge=ch&code_challenge_method=S256&prompt=none&redirect_uri=https%3A%2F%2Fswitchboard.example%2Foauth%2Fcallback&response_type=code&state=st"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, o.AuthorizeURL("st", "ch", tc.silent)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebServerFlowWithTheDefaultUserIsSilent(t *testing.T) {
	e := newEnv(t, nil)
	o := salesforce.OAuthConfig{LoginURL: e.srv.URL, ClientID: testClientID, RedirectURL: redirectURL}
	verifier, challenge := salesforce.NewPKCE()
	browser := noRedirects(t)
	resp, err := browser.Get(o.AuthorizeURL("state-1", challenge, true))
	if err != nil {
		t.Fatal(err)
	}
	q := follow(t, browser, resp)
	if q.Get("state") != "state-1" || q.Get("code") == "" {
		t.Fatalf("callback query %v, want a code and the state", q)
	}
	ctx := context.Background()
	if _, err := o.Exchange(ctx, q.Get("code"), "the wrong verifier"); !errors.Is(err, salesforce.ErrUnauthorized) {
		t.Fatalf("exchange with the wrong verifier: err = %v, want ErrUnauthorized", err)
	}
	resp, _ = browser.Get(o.AuthorizeURL("state-2", challenge, true))
	q = follow(t, browser, resp)
	tok, err := o.Exchange(ctx, q.Get("code"), verifier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Exchange(ctx, q.Get("code"), verifier); !errors.Is(err, salesforce.ErrUnauthorized) {
		t.Errorf("a code used twice: err = %v, want ErrUnauthorized", err)
	}
	info, err := o.UserInfo(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := salesforce.UserInfo{UserID: ids(t, e)["Alex Agent"], OrgID: e.org.OrgID(), Username: fakeorg.AgentUsername, Name: "Alex Agent", Email: fakeorg.AgentUsername}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("UserInfo (-want +got):\n%s", diff)
	}
}

func TestTheDemoPickerLetsANewcomerChooseAUser(t *testing.T) {
	clk := newClock()
	org := fakeorg.Demo(fakeorg.Options{Now: clk.Now, ClientID: testClientID, DefaultUser: "nobody"})
	srv := httptest.NewServer(org.Handler())
	defer srv.Close()
	o := salesforce.OAuthConfig{LoginURL: srv.URL, ClientID: testClientID, RedirectURL: redirectURL}
	verifier, challenge := salesforce.NewPKCE()
	browser := noRedirects(t)

	resp, err := browser.Get(o.AuthorizeURL("s", challenge, true))
	if err != nil {
		t.Fatal(err)
	}
	if q := follow(t, browser, resp); q.Get("error") != "login_required" || q.Get("state") != "s" {
		t.Fatalf("silent login without a signed-in user: %v, want error=login_required", q)
	}

	resp, err = browser.Get(o.AuthorizeURL("s", challenge, false))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Dana Diaz") || strings.Contains(string(page), fakeorg.IntegrationUsername) {
		t.Fatalf("picker: status %d\n%s", resp.StatusCode, page)
	}

	action := o.AuthorizeURL("s", challenge, false)
	resp, err = browser.PostForm(action, url.Values{"username": {"dana.diaz@demo.switchboard"}})
	if err != nil {
		t.Fatal(err)
	}
	q := follow(t, browser, resp)
	tok, err := o.Exchange(context.Background(), q.Get("code"), verifier)
	if err != nil {
		t.Fatal(err)
	}
	info, err := o.UserInfo(context.Background(), tok)
	if err != nil || info.Username != "dana.diaz@demo.switchboard" {
		t.Fatalf("signed in as %q (%v), want Dana", info.Username, err)
	}

	resp, _ = browser.Get(o.AuthorizeURL("s2", challenge, true))
	if q := follow(t, browser, resp); q.Get("code") == "" {
		t.Errorf("after picking, a silent login should succeed: %v", q)
	}
}

func TestTheOrgWorksMountedUnderAPrefix(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	org := fakeorg.Demo(fakeorg.Options{Now: clk.Now, ClientID: testClientID, PublicKey: &key.PublicKey})
	mux := http.NewServeMux()
	mux.Handle("/demo-org/", http.StripPrefix("/demo-org", org.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tokens := salesforce.NewJWTSource(salesforce.JWTConfig{LoginURL: srv.URL + "/demo-org", ClientID: testClientID,
		Username: fakeorg.IntegrationUsername, Key: key, Now: clk.Now})
	tok, err := tokens.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.InstanceURL != srv.URL+"/demo-org" || !strings.HasPrefix(tok.ID, srv.URL+"/demo-org/id/") {
		t.Errorf("instance_url %q, id %q; want them under the prefix", tok.InstanceURL, tok.ID)
	}
	c := salesforce.NewClient(salesforce.Config{Tokens: tokens, Now: clk.Now})
	ms, err := c.FindByPhone(context.Background(), fakeorg.KnownCaller)
	if err != nil || len(ms) != 1 {
		t.Fatalf("FindByPhone under a prefix: %v, %v", ms, err)
	}
	req, _ := http.NewRequest(http.MethodGet, tok.ID, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := srv.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("identity URL: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestQueryFollowsNextRecordsURL(t *testing.T) {
	clk := newClock()
	key := mustKey(t)
	org := fakeorg.New(fakeorg.Options{Now: clk.Now, PublicKey: &key.PublicKey, QueryBatchSize: 2,
		Users: []fakeorg.User{{Username: "u@x", LastName: "U"}}})
	for _, n := range []string{"Ada", "Bo", "Cy", "Di", "Ed"} {
		org.Insert("Contact", map[string]any{"LastName": n})
	}
	srv := httptest.NewServer(org.Handler())
	defer srv.Close()
	c := salesforce.NewClient(salesforce.Config{Now: clk.Now, Tokens: salesforce.NewJWTSource(salesforce.JWTConfig{
		LoginURL: srv.URL, Username: "u@x", Key: key, Now: clk.Now})})
	recs, err := c.Query(context.Background(), "SELECT Id, Name FROM Contact ORDER BY LastName DESC")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs {
		names = append(names, r.String("Name"))
		if r.Type() != "Contact" || !strings.HasPrefix(r.ID(), "003") {
			t.Errorf("record %v", r)
		}
	}
	if diff := cmp.Diff([]string{"Ed", "Di", "Cy", "Bo", "Ada"}, names); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := org.Requests(); got != 3 {
		t.Errorf("%d requests for 5 records in pages of 2, want 3", got)
	}
}
