package main

import (
	"testing"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// The demo switch and the demo org name the same people alike: a regular
// phone carries its user's name, an ACD agent ID the name of the user
// whose EmployeeNumber it is.
func TestTheDemoSwitchNamesPeopleAsTheDemoOrgDoes(t *testing.T) {
	byExt, byAgent := map[string]string{}, map[string]string{}
	for _, u := range fakeorg.DemoUsers {
		name := u.FirstName + " " + u.LastName
		byExt[u.Extension] = name
		if u.EmployeeNumber != "" {
			byAgent[u.EmployeeNumber] = name
		}
	}
	cfg := sim.DemoConfig()
	for _, e := range cfg.Extensions {
		if e.Kind != pbx.KindRegular {
			continue
		}
		if want := byExt[e.Number]; want != e.Name {
			t.Errorf("extension %s is %q on the switch, %q in the org", e.Number, e.Name, want)
		}
	}
	for _, a := range cfg.Agents {
		if want := byAgent[a.ID]; want != a.Name {
			t.Errorf("agent %s is %q on the switch, %q in the org", a.ID, a.Name, want)
		}
	}
}
