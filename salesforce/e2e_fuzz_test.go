package salesforce_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-cti/switchboard/salesforce"
)

// These fuzz tests send user input through the client to the fake org,
// whose SOSL and SOQL parsers refuse unescaped reserved characters: any
// input that changed a query's structure would fail to parse or return
// records of another type.

var injectionSeeds = []string{
	"Lucy", "luc hal", `} RETURNING User(Username`, `a"} IN ALL FIELDS RETURNING User(Id`, `x OR y`, `AND`, "not",
	`o'hara`, `\`, `*`, `??`, `(415) 555-0123`, "+1 415", `' OR Username LIKE '%`, "\x00\n\t", "\xff\xfe", "日本",
	"alex.agent@demo.switchboard", "ALEX.AGENT@DEMO.SWITCHBOARD", `\' OR '1'='1`, "50%_",
}

func FuzzSearchContactsAgainstTheFakeOrg(f *testing.F) {
	for _, s := range injectionSeeds {
		f.Add(s)
	}
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, term string) {
		e.org.SetUsage(0)
		ms, err := e.client.SearchContacts(context.Background(), term, 5)
		if err != nil {
			t.Fatalf("SearchContacts(%q): %v", term, err)
		}
		for _, m := range ms {
			if m.Type != "Contact" && m.Type != "Account" && m.Type != "Lead" {
				t.Fatalf("SearchContacts(%q) returned a %s", term, m.Type)
			}
		}
	})
}

func FuzzFindByPhoneAgainstTheFakeOrg(f *testing.F) {
	for _, s := range injectionSeeds {
		f.Add(s)
	}
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, number string) {
		e.org.SetUsage(0)
		if _, err := e.client.FindByPhone(context.Background(), number); err != nil {
			t.Fatalf("FindByPhone(%q): %v", number, err)
		}
		for _, rule := range []salesforce.PopRule{salesforce.PopDNIS, salesforce.PopDigits} {
			r, err := e.client.ScreenPop(context.Background(), salesforce.PopRequest{DNIS: number, Digits: number, Order: []salesforce.PopRule{rule}})
			if err != nil {
				t.Fatalf("ScreenPop by %s with %q: %v", rule, number, err)
			}
			if len(r.Matches) > 1 {
				t.Fatalf("ScreenPop by %s with %q matched %d records", rule, number, len(r.Matches))
			}
		}
	})
}

func FuzzUserByUsernameAgainstTheFakeOrg(f *testing.F) {
	for _, s := range injectionSeeds {
		f.Add(s)
	}
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, username string) {
		e.org.SetUsage(0)
		u, err := e.client.UserByUsername(context.Background(), username)
		switch {
		case errors.Is(err, salesforce.ErrNotFound):
		case err != nil:
			t.Fatalf("UserByUsername(%q): %v", username, err)
		case !strings.EqualFold(u.Username, username):
			t.Fatalf("UserByUsername(%q) found %q", username, u.Username)
		}
	})
}
