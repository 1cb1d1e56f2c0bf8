package salesforce_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// ids returns the demo org's record ids by name, for building wants.
func ids(t *testing.T, e *env) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, obj := range []string{"Contact", "Account", "Lead", "Campaign", "Case", "User"} {
		for _, r := range e.org.Records(obj) {
			name, _ := r["Name"].(string)
			if obj == "Case" {
				name, _ = r["CaseNumber"].(string)
			}
			m[name] = r["Id"].(string)
		}
	}
	return m
}

func TestFindByPhone(t *testing.T) {
	e := newEnv(t, nil)
	id := ids(t, e)
	tests := []struct {
		name   string
		number string
		want   []salesforce.Match
	}{
		{"a known caller in E.164 finds the one Contact", fakeorg.KnownCaller,
			[]salesforce.Match{{ID: id["Lucy Hall"], Name: "Lucy Hall", Type: "Contact", Phone: "+14155550123"}}},
		{"a known caller in national form finds the same Contact", "(415) 555-0123",
			[]salesforce.Match{{ID: id["Lucy Hall"], Name: "Lucy Hall", Type: "Contact", Phone: "+14155550123"}}},
		{"a SIP URI from the PBX is read as a number", "sip:+14155550123@pbx.example;user=phone",
			[]salesforce.Match{{ID: id["Lucy Hall"], Name: "Lucy Hall", Type: "Contact", Phone: "+14155550123"}}},
		{"a shared number finds every Contact holding it, in any phone field", fakeorg.SharedNumber,
			[]salesforce.Match{
				{ID: id["Sam Patel"], Name: "Sam Patel", Type: "Contact", Phone: "(415) 555-0142"},
				{ID: id["Riley Patel"], Name: "Riley Patel", Type: "Contact", Phone: "415.555.0142"},
			}},
		{"an Account's main number finds the Account", "+1 415 555 0100",
			[]salesforce.Match{{ID: id["Acme Corporation"], Name: "Acme Corporation", Type: "Account", Phone: "(415) 555-0100"}}},
		{"a Person Account's mobile finds the Account", fakeorg.PersonAccountNumber,
			[]salesforce.Match{{ID: id["Maria Gonzalez"], Name: "Maria Gonzalez", Type: "Account", Phone: "(415) 555-0166"}}},
		{"a Lead's number finds the Lead", fakeorg.LeadNumber,
			[]salesforce.Match{{ID: id["Jordan Lee"], Name: "Jordan Lee", Type: "Lead", Phone: "415-555-0188"}}},
		{"an international number finds a record stored with spaces", "+442079460958",
			[]salesforce.Match{{ID: id["Taylor Kim"], Name: "Taylor Kim", Type: "Lead", Phone: "+44 20 7946 0958"}}},
		{"an unknown caller finds nothing", fakeorg.UnknownCaller, []salesforce.Match{}},
		{"an internal extension is not looked up", "1001", []salesforce.Match{}},
		{"an empty number is not looked up", "", []salesforce.Match{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.client.FindByPhone(context.Background(), tc.number)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FindByPhone(%q) (-want +got):\n%s", tc.number, diff)
			}
		})
	}
}

func TestFindByPhoneWithPersonAccountFieldsReportsTheMatchingMobile(t *testing.T) {
	e := newEnv(t, func(c *salesforce.Config) { c.Lookup.PersonAccounts = true })
	got, err := e.client.FindByPhone(context.Background(), fakeorg.PersonAccountNumber)
	if err != nil {
		t.Fatal(err)
	}
	want := []salesforce.Match{{ID: ids(t, e)["Maria Gonzalez"], Name: "Maria Gonzalez", Type: "Account", Phone: "(415) 555-0177"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestScreenPop(t *testing.T) {
	e := newEnv(t, nil)
	id := ids(t, e)
	lucy := salesforce.Match{ID: id["Lucy Hall"], Name: "Lucy Hall", Type: "Contact", Phone: "+14155550123"}
	promo := salesforce.Match{ID: id["Spring Promo Line"], Name: "Spring Promo Line", Type: "Campaign", Phone: "+18005550100"}
	case1 := salesforce.Match{ID: id["00001001"], Name: "00001001", Type: "Case"}
	all := []salesforce.PopRule{salesforce.PopANI, salesforce.PopDNIS, salesforce.PopDigits, salesforce.PopNewContact}
	tests := []struct {
		name string
		req  salesforce.PopRequest
		want salesforce.PopResult
	}{
		{"a known caller pops the Contact by ANI",
			salesforce.PopRequest{ANI: fakeorg.KnownCaller, DNIS: fakeorg.CampaignDNIS, Digits: "1001"},
			salesforce.PopResult{Rule: salesforce.PopANI, Matches: []salesforce.Match{lucy}}},
		{"an unknown caller on a campaign line pops the Campaign by DNIS",
			salesforce.PopRequest{ANI: fakeorg.UnknownCaller, DNIS: fakeorg.CampaignDNIS, Digits: "1001"},
			salesforce.PopResult{Rule: salesforce.PopDNIS, Matches: []salesforce.Match{promo}}},
		{"a DNIS in national form still finds the Campaign",
			salesforce.PopRequest{DNIS: "800-555-0100"},
			salesforce.PopResult{Rule: salesforce.PopDNIS, Matches: []salesforce.Match{promo}}},
		{"an inactive campaign's line does not pop",
			salesforce.PopRequest{DNIS: "+18005550111"},
			salesforce.PopResult{}},
		{"keyed-in digits pop the Case, leading zeros optional",
			salesforce.PopRequest{ANI: fakeorg.UnknownCaller, Digits: "1001"},
			salesforce.PopResult{Rule: salesforce.PopDigits, Matches: []salesforce.Match{case1}}},
		{"the full case number works too",
			salesforce.PopRequest{Digits: "00001001"},
			salesforce.PopResult{Rule: salesforce.PopDigits, Matches: []salesforce.Match{case1}}},
		{"an unknown caller with nothing else pops nothing by default",
			salesforce.PopRequest{ANI: fakeorg.UnknownCaller},
			salesforce.PopResult{}},
		{"an agent's order putting digits first pops the Case for a known caller",
			salesforce.PopRequest{ANI: fakeorg.KnownCaller, Digits: "1001", Order: []salesforce.PopRule{salesforce.PopDigits, salesforce.PopANI}},
			salesforce.PopResult{Rule: salesforce.PopDigits, Matches: []salesforce.Match{case1}}},
		{"new contact after the lookups pops a new Contact form for an unknown caller",
			salesforce.PopRequest{ANI: "(415) 555-0199", Order: all},
			salesforce.PopResult{Rule: salesforce.PopNewContact, NewRecord: &salesforce.NewRecord{Type: "Contact", Fields: map[string]string{"Phone": "+14155550199"}}}},
		{"rules after none do not pop",
			salesforce.PopRequest{ANI: fakeorg.UnknownCaller, DNIS: fakeorg.CampaignDNIS, Order: []salesforce.PopRule{salesforce.PopANI, salesforce.PopNone, salesforce.PopDNIS}},
			salesforce.PopResult{}},
		{"an empty order does not pop",
			salesforce.PopRequest{ANI: fakeorg.KnownCaller, Order: []salesforce.PopRule{}},
			salesforce.PopResult{}},
		{"a shared number pops every Contact holding it",
			salesforce.PopRequest{ANI: fakeorg.SharedNumber},
			salesforce.PopResult{Rule: salesforce.PopANI, Matches: []salesforce.Match{
				{ID: id["Sam Patel"], Name: "Sam Patel", Type: "Contact", Phone: "(415) 555-0142"},
				{ID: id["Riley Patel"], Name: "Riley Patel", Type: "Contact", Phone: "415.555.0142"},
			}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.client.ScreenPop(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ScreenPop (-want +got):\n%s", diff)
			}
			if got.Empty() != (tc.want.Rule == "") {
				t.Errorf("Empty() = %v for rule %q", got.Empty(), got.Rule)
			}
		})
	}
}

func TestScreenPopWithAMissingDNISFieldSaysWhichField(t *testing.T) {
	e := newEnv(t, func(c *salesforce.Config) { c.Lookup.CampaignDNISField = "Line__c" })
	_, err := e.client.ScreenPop(context.Background(), salesforce.PopRequest{DNIS: fakeorg.CampaignDNIS})
	if !errors.Is(err, salesforce.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), "Line__c") {
		t.Errorf("error %q does not name the field", err)
	}
}

func TestSearchContacts(t *testing.T) {
	e := newEnv(t, nil)
	id := ids(t, e)
	tests := []struct {
		name  string
		term  string
		limit int
		want  []string
	}{
		{"a name prefix finds people", "luc", 10, []string{"Lucy Hall", "Lucas Hallam"}},
		{"two prefixes must both match", "luc hallam", 10, []string{"Lucas Hallam"}},
		{"a last name finds the family", "patel", 10, []string{"Sam Patel", "Riley Patel"}},
		{"the limit caps the results", "patel", 1, []string{"Sam Patel"}},
		{"a company name finds the Account", "acme", 10, []string{"Acme Corporation"}},
		{"a full number finds its records", "415 555 0123", 10, []string{"Lucy Hall"}},
		{"a partial number finds numbers containing it", "5550142", 10, []string{"Sam Patel", "Riley Patel"}},
		{"operator words are searched as words", "and", 10, nil},
		{"reserved characters are searched literally", `o'hara (vip) {x} -*?`, 10, nil},
		{"one character is too short to search", "l", 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.client.SearchContacts(context.Background(), tc.term, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range got {
				names = append(names, m.Name)
				if m.ID != id[m.Name] {
					t.Errorf("%s has id %s, want %s", m.Name, m.ID, id[m.Name])
				}
			}
			if diff := cmp.Diff(tc.want, names, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("SearchContacts(%q) (-want +got):\n%s", tc.term, diff)
			}
		})
	}
}

func TestCacheSavesRequestsForRepeatCallers(t *testing.T) {
	e := newEnv(t, func(c *salesforce.Config) { c.Cache = salesforce.NewMemoryCache(nil) })
	ctx := context.Background()
	for range 3 {
		if _, err := e.client.FindByPhone(ctx, fakeorg.KnownCaller); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.FindByPhone(ctx, "(415) 555-0123"); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.client.Requests(); got != 1 {
		t.Errorf("Requests() = %d after 6 lookups of one number, want 1", got)
	}
	if hits, misses := e.client.CacheStats(); hits != 5 || misses != 1 {
		t.Errorf("CacheStats() = %d hits, %d misses; want 5, 1", hits, misses)
	}
}

func TestCacheEntriesExpireAfterTheTTL(t *testing.T) {
	var e *env
	e = newEnv(t, func(c *salesforce.Config) {
		c.Cache = salesforce.NewMemoryCache(func() time.Time { return e.clock.Now() })
		c.CacheTTL = time.Minute
	})
	ctx := context.Background()
	mustFind(t, e, fakeorg.UnknownCaller)
	e.clock.Advance(59 * time.Second)
	mustFind(t, e, fakeorg.UnknownCaller)
	e.clock.Advance(2 * time.Second)
	mustFind(t, e, fakeorg.UnknownCaller)
	_ = ctx
	if got := e.client.Requests(); got != 2 {
		t.Errorf("Requests() = %d, want 2 (one before and one after expiry)", got)
	}
}

func mustFind(t *testing.T, e *env, number string) []salesforce.Match {
	t.Helper()
	ms, err := e.client.FindByPhone(context.Background(), number)
	if err != nil {
		t.Fatalf("FindByPhone(%q): %v", number, err)
	}
	return ms
}

func TestParsePopOrder(t *testing.T) {
	got, err := salesforce.ParsePopOrder(" ANI, dnis,none , digits,")
	want := []salesforce.PopRule{salesforce.PopANI, salesforce.PopDNIS, salesforce.PopNone, salesforce.PopDigits}
	if err != nil || !cmp.Equal(want, got) {
		t.Errorf("ParsePopOrder = %v, %v; want %v", got, err, want)
	}
	if _, err := salesforce.ParsePopOrder("ani,telepathy"); !errors.Is(err, salesforce.ErrInvalid) {
		t.Errorf("unknown rule: err = %v, want ErrInvalid", err)
	}
}
