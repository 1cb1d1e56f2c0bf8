package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// The Flow API is mounted at /api/flow/v1; in demo mode the demo client
// can get a token and dial for the demo agent, as the README shows.
func TestTheFlowAPIIsMountedAndTheDemoClientDials(t *testing.T) {
	a := startApp(t, nil)
	resp, err := a.http.PostForm(a.URL+"/api/flow/v1/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {demoFlowClientID}, "client_secret": {demoFlowClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	agentID := ""
	for _, u := range a.Org.Records("User") {
		if u["Username"] == fakeorg.AgentUsername {
			agentID, _ = u["Id"].(string)
		}
	}
	var dial map[string]any
	if st := a.do(t, "POST", "/api/flow/v1/users/"+agentID+"/calls", tok.AccessToken, map[string]string{"number": "1002"}, &dial); st != http.StatusCreated || dial["extension"] != "1001" {
		t.Fatalf("dial for %s: %d %v", agentID, st, dial)
	}
	var doc map[string]any
	if st := a.do(t, "GET", "/api/flow/v1/openapi.json", "", nil, &doc); st != 200 || !strings.HasPrefix(doc["openapi"].(string), "3.0") {
		t.Fatalf("openapi.json: %d", st)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if st := a.do(t, "GET", "/api/flow/v1/codes", "", nil, &e); st != http.StatusUnauthorized || e.Error.Code != "invalid_token" {
		t.Fatalf("no token: %d %+v", st, e)
	}
}
