package main

import (
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

func TestASlowSalesforceDoesNotHoldTheRing(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	sock := a.connect(t, token)
	// Salesforce answers nothing for a minute; the lookup gives up sooner.
	a.Service.LookupTimeout = 300 * time.Millisecond
	a.Org.Inject(fakeorg.Fault{Kind: fakeorg.Latency, Latency: time.Minute, PathPrefix: "/services/data/"})
	defer a.Org.ClearFaults()

	id := a.place(t, fakeorg.KnownCaller, "1001")
	first := sock.waitFor("ringing", func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ev.Call.State == "alerting"
	})
	if first.Call.Lookup != "pending" || len(first.Call.Matches) != 0 {
		t.Fatalf("first ringing push: lookup %q matches %+v, want pending and none", first.Call.Lookup, first.Call.Matches)
	}
	then := sock.waitFor("the lookup's outcome", ringing(id))
	if then.Call.LookupError == "" || len(then.Call.Matches) != 0 {
		t.Fatalf("after the lookup gave up: lookupError %q matches %+v, want an error and no matches", then.Call.LookupError, then.Call.Matches)
	}
}
