package fakeorg

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSOQLSubset(t *testing.T) {
	o := New(Options{})
	for _, c := range []map[string]any{
		{"FirstName": "Ada", "LastName": "Lovelace", "Phone": "(415) 555-0001", "Email": "ada@x.example"},
		{"FirstName": "Bob", "LastName": "O'Hara", "Phone": "(415) 555-0002"},
		{"FirstName": "Cy", "LastName": "100%_Real"},
		{"FirstName": "Di", "LastName": "Lovelace", "Title": `back\slash`},
	} {
		o.Insert("Contact", c)
	}
	tests := []struct {
		name string
		soql string
		want []string // LastName of each record, in order
	}{
		{"equality ignores case", "SELECT LastName FROM Contact WHERE lastname = 'LOVELACE'", []string{"Lovelace", "Lovelace"}},
		{"an escaped quote matches a quote", `SELECT LastName FROM Contact WHERE LastName = 'O\'Hara'`, []string{"O'Hara"}},
		{"an escaped backslash matches a backslash", `SELECT LastName FROM Contact WHERE Title = 'back\\slash'`, []string{"Lovelace"}},
		{"LIKE wildcards match runs and single characters", "SELECT LastName FROM Contact WHERE LastName LIKE 'lo_el%'", []string{"Lovelace", "Lovelace"}},
		{"escaped LIKE wildcards are literal", `SELECT LastName FROM Contact WHERE LastName LIKE '100\%\_%'`, []string{"100%_Real"}},
		{"an escaped wildcard does not match other characters", `SELECT LastName FROM Contact WHERE LastName LIKE '100\_%'`, nil},
		{"IN matches any listed value", "SELECT LastName FROM Contact WHERE FirstName IN ('Ada', 'Cy')", []string{"Lovelace", "100%_Real"}},
		{"NOT IN excludes listed values", "SELECT LastName FROM Contact WHERE FirstName NOT IN ('Ada', 'Cy')", []string{"O'Hara", "Lovelace"}},
		{"AND binds tighter than OR", "SELECT LastName FROM Contact WHERE FirstName = 'Bob' OR LastName = 'Lovelace' AND FirstName = 'Di'", []string{"O'Hara", "Lovelace"}},
		{"parentheses group", "SELECT LastName FROM Contact WHERE (FirstName = 'Bob' OR LastName = 'Lovelace') AND Phone != null", []string{"Lovelace", "O'Hara"}},
		{"null compares with empty fields", "SELECT LastName FROM Contact WHERE Phone = null", []string{"100%_Real", "Lovelace"}},
		{"ORDER BY DESC with LIMIT and OFFSET pages", "SELECT LastName FROM Contact ORDER BY FirstName DESC LIMIT 2 OFFSET 1", []string{"100%_Real", "O'Hara"}},
		{"nulls sort first ascending unless told", "SELECT LastName FROM Contact ORDER BY Phone NULLS LAST, FirstName", []string{"Lovelace", "O'Hara", "100%_Real", "Lovelace"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := parseSOQL(tc.soql)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range o.run(q.obj, q.fields, q.tail, "v67.0") {
				got = append(got, r["LastName"].(string))
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSOQLOutsideTheSubsetIsRefused(t *testing.T) {
	tests := []struct {
		name, soql string
		want       any
	}{
		{"a misspelt keyword", "SELEKT Id FROM Contact", &syntaxError{}},
		{"an unknown object", "SELECT Id FROM Spaceship", &typeError{}},
		{"an unknown field", "SELECT Warp FROM Contact", &fieldError{}},
		{"an unknown field in WHERE", "SELECT Id FROM Contact WHERE Warp = 1", &fieldError{}},
		{"an unterminated string", "SELECT Id FROM Contact WHERE Name = 'x", &syntaxError{}},
		{"an unknown escape", `SELECT Id FROM Contact WHERE Name = '\q'`, &syntaxError{}},
		{"trailing tokens", "SELECT Id FROM Contact LIMIT 1 1", &syntaxError{}},
		{"aggregate functions", "SELECT COUNT() FROM Contact", &syntaxError{}},
		{"a semicolon", "SELECT Id FROM Contact; DELETE", &syntaxError{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSOQL(tc.soql)
			var se *syntaxError
			var te *typeError
			var fe *fieldError
			ok := false
			switch tc.want.(type) {
			case *syntaxError:
				ok = errors.As(err, &se)
			case *typeError:
				ok = errors.As(err, &te)
			case *fieldError:
				ok = errors.As(err, &fe)
			}
			if !ok {
				t.Errorf("err = %v (%T), want %T", err, err, tc.want)
			}
		})
	}
}

func TestSOSLSubset(t *testing.T) {
	o := New(Options{})
	o.Insert("Contact", map[string]any{"FirstName": "Lucy", "LastName": "Hall", "Phone": "+14155550123", "Email": "lucy@acme.example"})
	o.Insert("Contact", map[string]any{"FirstName": "Lucas", "LastName": "Hallam", "HomePhone": "(212) 555-0190"})
	o.Insert("Lead", map[string]any{"FirstName": "Pat", "LastName": "O'Neil", "Company": "Acme", "MobilePhone": "+44 20 7946 0958"})
	o.Insert("Account", map[string]any{"Name": "Acme (West) Inc.", "Phone": "415-555-0100"})
	tests := []struct {
		name, sosl string
		want       []string
	}{
		{"a national number finds an E.164 phone", `FIND {"(415) 555-0123"} IN PHONE FIELDS RETURNING Contact(Name)`, []string{"Lucy Hall"}},
		{"an E.164 number finds a national phone", `FIND {\+12125550190} IN PHONE FIELDS RETURNING Contact(Name)`, []string{"Lucas Hallam"}},
		{"a UK national number finds an international one", `FIND {02079460958} IN PHONE FIELDS RETURNING Lead(Name)`, []string{"Pat O'Neil"}},
		{"OR joins alternatives", `FIND {"4155550000" OR "4155550123"} IN PHONE FIELDS RETURNING Contact(Name)`, []string{"Lucy Hall"}},
		{"a prefix wildcard finds names", `FIND {luc*} IN NAME FIELDS RETURNING Contact(Name)`, []string{"Lucy Hall", "Lucas Hallam"}},
		{"adjacent words must all match", `FIND {luc* hallam} IN NAME FIELDS RETURNING Contact(Name)`, []string{"Lucas Hallam"}},
		{"AND NOT excludes", `FIND {luc* AND NOT hallam} IN NAME FIELDS RETURNING Contact(Name)`, []string{"Lucy Hall"}},
		{"an escaped apostrophe is part of the word", `FIND {o\'neil} IN NAME FIELDS RETURNING Lead(Name)`, []string{"Pat O'Neil"}},
		{"escaped parentheses are text", `FIND {"acme \(west\)"} IN NAME FIELDS RETURNING Account(Name)`, []string{"Acme (West) Inc."}},
		{"a quoted operator is a word", `FIND {"and"} IN NAME FIELDS RETURNING Contact(Name)`, nil},
		{"email fields are searched in EMAIL FIELDS", `FIND {lucy\@acme.example} IN EMAIL FIELDS RETURNING Contact(Name)`, []string{"Lucy Hall"}},
		{"RETURNING takes WHERE and LIMIT", `FIND {hall*} RETURNING Contact(Name WHERE FirstName = 'Lucas' LIMIT 5)`, []string{"Lucas Hallam"}},
		{"the overall LIMIT caps results", `FIND {acme} RETURNING Lead(Name), Account(Name) LIMIT 1`, []string{"Pat O'Neil"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSOSL(tc.sosl)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, spec := range s.ret {
				tb := o.store[spec.obj.name]
				if tb == nil {
					continue
				}
				var hits []map[string]any
				for _, id := range tb.ids {
					rec := tb.recs[id]
					if s.expr.match(func(term sterm) bool { return termMatches(spec.obj, s.group, rec, term) }) {
						hits = append(hits, rec)
					}
				}
				for _, r := range spec.tail.apply(hits) {
					got = append(got, r["Name"].(string))
				}
			}
			if len(got) > s.limit {
				got = got[:s.limit]
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSOSLRefusesUnescapedReservedCharacters(t *testing.T) {
	for _, q := range []string{
		`FIND {a-b}`, `FIND {+1415}`, `FIND {o'neil}`, `FIND {a:b}`, `FIND {a&b}`, `FIND {a} RETURNING Contact(Id`,
		`FIND {"unterminated}`, `FIND {a\}`, `FIND a`, `FIND {(a}`,
	} {
		t.Run(q+" is malformed", func(t *testing.T) {
			if _, err := parseSOSL(q); err == nil {
				t.Error("parsed")
			}
		})
	}
}
