package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOptionsRefuseBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-agents", "0"}, "-agents"},
		{[]string{"-rate", "-1"}, "-rate"},
		{[]string{"-duration", "0s"}, "-duration"},
		{[]string{"-repeat", "1.5"}, "-repeat"},
		{[]string{"-lines", "-1"}, "-lines"},
		{[]string{"-lines", "1001"}, "-lines"},
		{[]string{"-org-latency", "-1ms"}, "-org-latency"},
		{[]string{"-org-url", "https://login.salesforce.com", "-org-latency", "50ms"}, "fake org only"},
		{[]string{"-sim-url", "127.0.0.1:7070"}, "-sim-url"},
		{[]string{"-sim-url", "http://127.0.0.1:7070"}, "SWITCHBOARD_SIM_API_TOKEN"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseOptions(tc.args, func(string) string { return "" }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseOptions(%q) = %v, want an error naming %s", tc.args, err, tc.want)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	o, err := parseOptions(nil, func(k string) string {
		if k == "SWITCHBOARD_REDIS_URL" {
			return "redis://127.0.0.1:6390/0"
		}
		return ""
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Agents != 1000 || o.Rate != 200 || o.Repeat != 0.3 || o.Lines != 3 || o.RedisURL != "redis://127.0.0.1:6390/0" {
		t.Fatalf("defaults: %+v", o)
	}
}

func TestRequestKinds(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/services/oauth2/token", "token"},
		{"GET", "/services/data/v67.0/search?q=x", "search"},
		{"GET", "/services/data/v67.0/parameterizedSearch?q=x", "search"},
		{"GET", "/services/data/v67.0/query?q=x", "query"},
		{"GET", "/services/data/v67.0/query?q=SELECT+Id+FROM+Campaign+WHERE+IsActive+%3D+true", "query Campaign"},
		{"POST", "/services/data/v67.0/sobjects/Task", "task_create"},
		{"PATCH", "/services/data/v67.0/sobjects/Task/00T000000000001", "task_update"},
		{"POST", "/services/data/v67.0/composite", "composite"},
		{"POST", "/services/data/v67.0/composite/sobjects", "collections create"},
		{"PATCH", "/services/data/v67.0/composite/sobjects", "collections update"},
		{"GET", "/services/data/v67.0/sobjects/User/005", "other"},
	} {
		if got := requestKind(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.want {
			t.Errorf("%s %s: got %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}
