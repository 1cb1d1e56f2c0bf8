package salesforce_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/phone"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// Phone-like fields are compared by number, not spelling (issue 14).

func TestCampaignByDNISMatchesTheNumberHoweverItIsStored(t *testing.T) {
	e := newEnv(t, nil)
	stored := map[string]string{
		"Line dashes":   "1-800-555-0122",
		"Line dots":     "800.555.0133",
		"Line brackets": "+1 (800) 555-0144",
		"Line spaces":   "+44 20 7946 0000",
	}
	idOf := map[string]string{}
	for name, dnis := range stored {
		idOf[name] = e.org.Insert("Campaign", map[string]any{"Name": name, "IsActive": true, "Status": "In Progress", "DNIS__c": dnis})
	}
	e.org.Insert("Campaign", map[string]any{"Name": "Same digits, other number", "IsActive": true, "Status": "In Progress", "DNIS__c": "+1 800 555 0122 9"})
	tests := []struct{ name, dnis, want string }{
		{"E.164 finds 1-800-555-0122", "+18005550122", "Line dashes"},
		{"national finds 1-800-555-0122", "(800) 555-0122", "Line dashes"},
		{"E.164 finds 800.555.0133", "+18005550133", "Line dots"},
		{"digits find +1 (800) 555-0144", "8005550144", "Line brackets"},
		{"a tel URI finds +1 (800) 555-0144", "tel:+1-800-555-0144", "Line brackets"},
		{"a UK line stored with spaces", "+442079460000", "Line spaces"},
		{"an unknown line finds nothing", "+18005550199", ""},
		{"a withheld DNIS finds nothing", "anonymous", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.client.ScreenPop(context.Background(), salesforce.PopRequest{DNIS: tc.dnis, Order: []salesforce.PopRule{salesforce.PopDNIS}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range res.Matches {
				got = append(got, m.Name)
			}
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Campaign for DNIS %q (-want +got):\n%s", tc.dnis, diff)
			}
		})
	}
}

func TestAStoredNumberWithAnExtensionMatchesTheCaller(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct{ name, stored, caller string }{
		{"x22", "(415) 555-0154 x22", "+14155550154"},
		{"ext. 22", "415-555-0155 ext. 22", "(415) 555-0155"},
		{"RFC 3966 ;ext=", "+1 415 555 0156;ext=22", "4155550156"},
		{"pauses", "4155550157,,22", "+14155550157"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := e.org.Insert("Contact", map[string]any{"FirstName": "Ext", "LastName": tc.name, "Phone": tc.stored})
			got, err := e.client.FindByPhone(context.Background(), tc.caller)
			if err != nil {
				t.Fatal(err)
			}
			want := []salesforce.Match{{ID: id, Name: "Ext " + tc.name, Type: "Contact", Phone: tc.stored}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FindByPhone(%q) (-want +got):\n%s", tc.caller, diff)
			}
		})
	}
}

func TestAWithheldCallerIsNeverLookedUpOrPrefilled(t *testing.T) {
	e := newEnv(t, nil)
	e.org.Insert("Lead", map[string]any{"FirstName": "Zero", "LastName": "Lead", "Company": "Zeros", "Phone": "000-000-0000"})
	for _, ani := range []string{"0000000000", "anonymous", "Anonymous", "PRIVATE", "restricted", "Unavailable", "unknown", "<unknown>", "Withheld", ""} {
		t.Run(ani, func(t *testing.T) {
			before := e.org.Requests()
			ms, err := e.client.FindByPhone(context.Background(), ani)
			if err != nil || len(ms) != 0 {
				t.Errorf("FindByPhone(%q) = %v, %v; want no match", ani, ms, err)
			}
			res, err := e.client.ScreenPop(context.Background(), salesforce.PopRequest{ANI: ani,
				Order: []salesforce.PopRule{salesforce.PopANI, salesforce.PopNewContact}})
			if err != nil {
				t.Fatal(err)
			}
			want := salesforce.PopResult{Rule: salesforce.PopNewContact, Matches: []salesforce.Match{},
				NewRecord: &salesforce.NewRecord{Type: "Contact", Fields: map[string]string{}}}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("ScreenPop(%q) (-want +got):\n%s", ani, diff)
			}
			if n := e.org.Requests() - before; n != 0 {
				t.Errorf("%d requests to Salesforce for a withheld caller", n)
			}
		})
	}
}

func TestSearchingANumberWithAnExtensionFindsTheRecord(t *testing.T) {
	e := newEnv(t, nil)
	id := e.org.Insert("Contact", map[string]any{"FirstName": "Ext", "LastName": "Search", "Phone": "(415) 555-0159 x22"})
	for _, term := range []string{"415 555 0159 x22", "(415) 555-0159 ext. 22", "+14155550159", "4155550159"} {
		ms, err := e.client.SearchContacts(context.Background(), term, 10)
		if err != nil || len(ms) != 1 || ms[0].ID != id {
			t.Errorf("search %q = %v, %v; want the Contact", term, ms, err)
		}
	}
}

func TestSearchingAllZerosFindsNobody(t *testing.T) {
	e := newEnv(t, nil)
	e.org.Insert("Lead", map[string]any{"FirstName": "Zero", "LastName": "Lead", "Company": "Zeros", "Phone": "000-000-0000"})
	before := e.org.Requests()
	if ms, err := e.client.SearchContacts(context.Background(), "000-000-0000", 10); err != nil || len(ms) != 0 {
		t.Errorf("search = %v, %v; want nothing", ms, err)
	}
	if n := e.org.Requests() - before; n != 0 {
		t.Errorf("%d requests", n)
	}
}

// FuzzCallerIDNeverLooksUpJunk: any caller id is looked up only when it is
// a number (not withheld, at least 7 digits), and New Contact is prefilled
// only with an E.164 number.
func FuzzCallerIDNeverLooksUpJunk(f *testing.F) {
	for _, s := range append(injectionSeeds, "anonymous", "PRIVATE", "<unknown>", "0000000000", "000-000-0000", "", "1001",
		"+14155550123", "(415) 555-0154 x22", "sip:anonymous@anonymous.invalid", "+266696687", "1-800-FLOWERS") {
		f.Add(s)
	}
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, ani string) {
		e.org.SetUsage(0)
		before := e.org.Requests()
		if _, err := e.client.FindByPhone(context.Background(), ani); err != nil {
			t.Fatalf("FindByPhone(%q): %v", ani, err)
		}
		junk := phone.Withheld(ani) || len(strings.Trim(strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, ani), "")) < 6
		if n := e.org.Requests() - before; junk && n != 0 {
			t.Fatalf("FindByPhone(%q) sent %d requests for a caller id that is no number", ani, n)
		}
		r, err := e.client.ScreenPop(context.Background(), salesforce.PopRequest{ANI: ani, Order: []salesforce.PopRule{salesforce.PopNewContact}})
		if err != nil {
			t.Fatalf("ScreenPop(%q): %v", ani, err)
		}
		if p, ok := r.NewRecord.Fields["Phone"]; ok && (phone.Withheld(ani) || !strings.HasPrefix(p, "+") || strings.Trim(p[1:], "0123456789") != "") {
			t.Fatalf("New Contact for %q prefilled Phone %q", ani, p)
		}
	})
}
