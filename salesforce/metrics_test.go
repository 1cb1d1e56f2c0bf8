package salesforce_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

func TestCollectorsExportUsageAndCounters(t *testing.T) {
	e := newEnv(t, func(c *salesforce.Config) { c.Cache = salesforce.NewMemoryCache(nil) })
	e.org.SetUsage(41)
	mustFind(t, e, fakeorg.KnownCaller)
	mustFind(t, e, fakeorg.KnownCaller)
	reg := prometheus.NewRegistry()
	for _, c := range e.client.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		m := f.GetMetric()[0]
		if m.GetGauge() != nil {
			got[f.GetName()] = m.GetGauge().GetValue()
		} else {
			got[f.GetName()] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"switchboard_salesforce_api_usage":                 42,
		"switchboard_salesforce_api_limit":                 15000,
		"switchboard_salesforce_limit_backoff":             0,
		"switchboard_salesforce_requests_total":            1,
		"switchboard_salesforce_lookups_total":             2,
		"switchboard_salesforce_lookup_cache_hits_total":   1,
		"switchboard_salesforce_lookup_cache_misses_total": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestThePackageImportsNeitherAdapterNorPBX(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "switchboard/adapter") || strings.Contains(dep, "switchboard/pbx") || strings.Contains(dep, "switchboard/cmd") {
			t.Errorf("salesforce depends on %s", dep)
		}
	}
}

func TestPingChecksTheOrgAndCredentials(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.client.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad := salesforce.NewClient(salesforce.Config{Tokens: salesforce.NewJWTSource(salesforce.JWTConfig{
		LoginURL: e.srv.URL, ClientID: testClientID, Username: "nobody@demo.switchboard", Key: mustKey(t), Now: e.clock.Now})})
	if err := bad.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "pre-authorize") {
		t.Errorf("Ping with an unknown user: %v", err)
	}
}
