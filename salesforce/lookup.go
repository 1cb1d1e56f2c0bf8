package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/switchboard-cti/switchboard/phone"
)

// Match is one record a lookup found, enough to show it and pop it.
type Match struct {
	// ID is the record id.
	ID string `json:"id"`
	// Name is the record's name (CaseNumber for Cases).
	Name string `json:"name"`
	// Type is the sObject API name ("Contact", "Account", "Lead",
	// "Campaign", "Case"). Person Accounts are "Account".
	Type string `json:"type"`
	// Phone is the stored number that matched, or the record's first phone.
	Phone string `json:"phone"`
}

// PopRule is one step of the screen-pop order, after MiVoice's "Pop-Up
// Order" setting.
type PopRule string

// The screen-pop rules. Rules after PopNone, and rules not listed, do not
// pop.
const (
	// PopANI pops records whose phone fields hold the caller's number.
	PopANI PopRule = "ani"
	// PopDNIS pops the Campaign whose DNIS field holds the dialled number.
	PopDNIS PopRule = "dnis"
	// PopDigits pops the record (a Case by default) whose configured field
	// equals the digits the caller keyed in.
	PopDigits PopRule = "digits"
	// PopNewContact pops a new Contact form with the caller's number.
	PopNewContact PopRule = "new_contact"
	// PopNone ends the order: what follows is "do not pop".
	PopNone PopRule = "none"
)

// PopRules lists the rules an order can hold, for settings screens.
var PopRules = []PopRule{PopANI, PopDNIS, PopDigits, PopNewContact, PopNone}

// ParsePopOrder reads an order written as comma-separated rules, e.g.
// "ani,dnis,none,digits" (spaces ignored, case-insensitive). Unknown rules
// are an *Error matching ErrInvalid; "" is the empty order (never pop).
func ParsePopOrder(s string) ([]PopRule, error) {
	out := []PopRule{}
	for _, part := range strings.Split(s, ",") {
		r := PopRule(strings.ToLower(strings.TrimSpace(part)))
		if r == "" {
			continue
		}
		if !slices.Contains(PopRules, r) {
			return nil, &Error{StatusCode: http.StatusBadRequest, ErrorCode: "INVALID_POP_RULE",
				Message: fmt.Sprintf("unknown pop rule %q: want ani, dnis, digits, new_contact or none", part)}
		}
		out = append(out, r)
	}
	return out, nil
}

// DefaultPopOrder is the admin default: caller, campaign line, digits.
// New Contact is opt-in.
var DefaultPopOrder = []PopRule{PopANI, PopDNIS, PopDigits}

// LookupConfig configures screen pops and number lookups.
type LookupConfig struct {
	// Order is the admin's default pop order (DefaultPopOrder when nil).
	Order []PopRule
	// ANIObjects are searched for the caller's number, in this order;
	// default Contact, Account, Lead.
	ANIObjects []string
	// CampaignDNISField is the Campaign field holding the line's number
	// (DNIS). Campaign has no standard one, so the default is a custom
	// Text or Phone field "DNIS__c" the admin adds.
	CampaignDNISField string
	// DigitsObject is the object the digits rule searches, default "Case".
	DigitsObject string
	// CaseDigitsField is the DigitsObject field compared with the collected
	// digits, default "CaseNumber".
	CaseDigitsField string
	// PersonAccounts asks for the Person Account phone fields
	// (PersonMobilePhone, PersonHomePhone, PersonOtherPhone) too. Only set
	// it in orgs with Person Accounts enabled: elsewhere those fields do
	// not exist and the search fails with INVALID_FIELD.
	PersonAccounts bool
	// MaxMatches caps the records returned per object (default 50).
	MaxMatches int
}

func (l LookupConfig) withDefaults() LookupConfig {
	if l.Order == nil {
		l.Order = DefaultPopOrder
	}
	if len(l.ANIObjects) == 0 {
		l.ANIObjects = []string{"Contact", "Account", "Lead"}
	}
	if l.CampaignDNISField == "" {
		l.CampaignDNISField = "DNIS__c"
	}
	if l.DigitsObject == "" {
		l.DigitsObject = "Case"
	}
	if l.CaseDigitsField == "" {
		l.CaseDigitsField = "CaseNumber"
	}
	if l.MaxMatches <= 0 {
		l.MaxMatches = 50
	}
	return l
}

// phoneFields returns the phone fields read for sobject.
func (l LookupConfig) phoneFields(sobject string) []string {
	switch sobject {
	case "Contact":
		return []string{"Phone", "MobilePhone", "HomePhone", "OtherPhone", "AssistantPhone"}
	case "Lead":
		return []string{"Phone", "MobilePhone"}
	case "Account":
		if l.PersonAccounts {
			return []string{"Phone", "PersonMobilePhone", "PersonHomePhone", "PersonOtherPhone"}
		}
	}
	return []string{"Phone"}
}

// PopRequest is what is known about a ringing call.
type PopRequest struct {
	// ANI is the caller's number.
	ANI string
	// DNIS is the number the caller dialled.
	DNIS string
	// Digits are the digits the caller keyed in (e.g. a case number).
	Digits string
	// Order overrides the admin's order for this agent; nil uses it.
	Order []PopRule
}

// NewRecord describes a new-record form to pop.
type NewRecord struct {
	// Type is the sObject, "Contact".
	Type string `json:"type"`
	// Fields prefill the form, e.g. {"Phone": "+14155550123"}.
	Fields map[string]string `json:"fields"`
}

// PopResult is what to pop. A result with no Matches and no NewRecord
// (Rule "") means do not pop.
type PopResult struct {
	// Rule is the rule that produced the result.
	Rule PopRule `json:"rule"`
	// Matches are the records to pop (Classic pops the first, Console all).
	Matches []Match `json:"matches"`
	// NewRecord is set for PopNewContact.
	NewRecord *NewRecord `json:"newRecord,omitempty"`
}

// Empty reports whether r says not to pop.
func (r PopResult) Empty() bool { return len(r.Matches) == 0 && r.NewRecord == nil }

// ScreenPop walks the pop order (r.Order, else the admin's) and returns the
// result of the first rule that yields something. Rules with nothing to go
// on (no DNIS for the dnis rule, ...) are skipped. An error from a rule
// ends the walk and is returned.
func (c *Client) ScreenPop(ctx context.Context, r PopRequest) (PopResult, error) {
	order := r.Order
	if order == nil {
		order = c.cfg.Lookup.Order
	}
	for _, rule := range order {
		var (
			ms  []Match
			err error
		)
		switch rule {
		case PopANI:
			if phone.Withheld(r.ANI) {
				continue // no number to look up
			}
			ms, err = c.FindByPhone(ctx, r.ANI)
		case PopDNIS:
			if r.DNIS == "" {
				continue
			}
			ms, err = c.cachedCampaign(ctx, r.DNIS)
		case PopDigits:
			if r.Digits == "" {
				continue
			}
			ms, err = c.findByDigits(ctx, r.Digits)
		case PopNewContact:
			// Only a number goes in Phone: a withheld caller id
			// ("anonymous"), an extension or other text leaves it empty.
			fields := map[string]string{}
			if e, ok := NormalizePhone(r.ANI, c.cfg.DefaultRegion); ok {
				fields["Phone"] = e
			}
			return PopResult{Rule: rule, Matches: []Match{}, NewRecord: &NewRecord{Type: "Contact", Fields: fields}}, nil
		default: // PopNone or unknown: the rest is "do not pop"
			return PopResult{Matches: []Match{}}, nil
		}
		if err != nil {
			return PopResult{}, fmt.Errorf("salesforce: screen pop by %s: %w", rule, err)
		}
		if len(ms) > 0 {
			return PopResult{Rule: rule, Matches: ms}, nil
		}
	}
	return PopResult{Matches: []Match{}}, nil
}

// FindByPhone returns every record in LookupConfig.ANIObjects (Contact,
// Account incl. Person Accounts, Lead by default) with number in a phone
// field, searching the forms people store (E.164 and national) with SOSL
// IN PHONE FIELDS. Numbers too short to be a phone number (extensions) and
// withheld caller ids ("anonymous", "0000000000", phone.Withheld) match
// nothing without a request. With a Cache, results (also "no match")
// are kept for Config.CacheTTL.
func (c *Client) FindByPhone(ctx context.Context, number string) ([]Match, error) {
	c.lookups.Add(1)
	variants := PhoneVariants(number, c.cfg.DefaultRegion)
	if len(variants) == 0 {
		return []Match{}, nil
	}
	key := "salesforce:phone:v1:" + strings.Join(c.cfg.Lookup.ANIObjects, ",") + ":" + strconv.FormatBool(c.cfg.Lookup.PersonAccounts) + ":" + variants[0]
	if ms, ok := c.cacheGet(ctx, key); ok {
		return ms, nil
	}
	terms := make([]string, len(variants))
	for i, v := range variants {
		terms[i] = QuoteSOSL(v)
	}
	sosl := "FIND {" + strings.Join(terms, " OR ") + "} IN PHONE FIELDS RETURNING " + c.returning(c.cfg.Lookup.ANIObjects, c.cfg.Lookup.MaxMatches)
	recs, err := c.Search(ctx, sosl)
	if err != nil {
		return nil, fmt.Errorf("salesforce: find by phone: %w", err)
	}
	ms := c.toMatches(recs, number)
	c.cacheSet(ctx, key, ms)
	return ms, nil
}

// returning builds the RETURNING clause: Obj(Id, Name, phone fields LIMIT n).
func (c *Client) returning(objects []string, limit int) string {
	parts := make([]string, 0, len(objects))
	for _, o := range objects {
		if !isAPIName(o) {
			continue
		}
		fields := append([]string{"Id", "Name"}, c.cfg.Lookup.phoneFields(o)...)
		parts = append(parts, o+"("+strings.Join(fields, ", ")+" LIMIT "+strconv.Itoa(limit)+")")
	}
	return strings.Join(parts, ", ")
}

// toMatches converts search records, ordered by object as configured, with
// Phone set to the field matching number (or the first phone).
func (c *Client) toMatches(recs []Record, number string) []Match {
	ms := make([]Match, 0, len(recs))
	rank := func(t string) int {
		if i := slices.Index(c.cfg.Lookup.ANIObjects, t); i >= 0 {
			return i
		}
		return len(c.cfg.Lookup.ANIObjects)
	}
	slices.SortStableFunc(recs, func(a, b Record) int { return rank(a.Type()) - rank(b.Type()) })
	for _, r := range recs {
		m := Match{ID: r.ID(), Name: r.String("Name"), Type: r.Type()}
		for _, f := range c.cfg.Lookup.phoneFields(m.Type) {
			p := r.String(f)
			if p == "" {
				continue
			}
			if m.Phone == "" {
				m.Phone = p
			}
			if number != "" && SamePhone(p, number, c.cfg.DefaultRegion) {
				m.Phone = p
				break
			}
		}
		ms = append(ms, m)
	}
	return ms
}

func (c *Client) cacheGet(ctx context.Context, key string) ([]Match, bool) {
	if c.cfg.Cache == nil {
		return nil, false
	}
	b, ok, err := c.cfg.Cache.Get(ctx, key)
	if err != nil || !ok {
		c.cacheMisses.Add(1)
		return nil, false
	}
	var ms []Match
	if json.Unmarshal(b, &ms) != nil {
		c.cacheMisses.Add(1)
		return nil, false
	}
	c.cacheHits.Add(1)
	if ms == nil {
		ms = []Match{}
	}
	return ms, true
}

func (c *Client) cacheSet(ctx context.Context, key string, ms []Match) {
	if c.cfg.Cache == nil {
		return
	}
	if b, err := json.Marshal(ms); err == nil {
		_ = c.cfg.Cache.Set(ctx, key, b, c.cfg.CacheTTL) // a cache failure only costs a request later
	}
}

// cachedCampaign is findCampaign through the cache (Campaign lines change
// rarely and a few lines take most calls: one query per line and cache
// period instead of one per call).
func (c *Client) cachedCampaign(ctx context.Context, dnis string) ([]Match, error) {
	key := "salesforce:campaign:v1:" + c.cfg.Lookup.CampaignDNISField + ":" + dnis
	if ms, ok := c.cacheGet(ctx, key); ok {
		return ms, nil
	}
	ms, err := c.findCampaign(ctx, dnis)
	if err != nil {
		return nil, err
	}
	c.cacheSet(ctx, key, ms)
	return ms, nil
}

// findCampaign returns active Campaigns whose DNIS field holds dnis, compared
// by number, not spelling: "1-800-555-0122", "800.555.0122" and
// "+1 (800) 555-0122" are all +18005550122. SOQL compares text, so the
// query asks for every active Campaign whose field holds the number's
// national digits in order (LIKE "%8%0%0%5%5%5%0%1%2%2%") and the
// candidates are then compared by number. A DNIS that is not a phone
// number (a line named by text) is compared as text; a withheld one
// matches nothing.
func (c *Client) findCampaign(ctx context.Context, dnis string) ([]Match, error) {
	field := c.cfg.Lookup.CampaignDNISField
	if !isAPIName(field) {
		return nil, &Error{StatusCode: http.StatusBadRequest, ErrorCode: "INVALID_FIELD", Message: "bad Campaign DNIS field name", Fields: []string{field}}
	}
	if phone.Withheld(dnis) {
		return []Match{}, nil
	}
	pattern := digitsPattern(dnis, c.cfg.DefaultRegion)
	cond := field + " = " + QuoteSOQL(cleanText(strings.TrimSpace(dnis)))
	limit := c.cfg.Lookup.MaxMatches
	if pattern != "" {
		cond = field + " LIKE " + QuoteSOQL(pattern)
		limit = 200 // candidates; most are the number itself
	}
	soql := "SELECT Id, Name, " + field + " FROM Campaign WHERE IsActive = true AND " + cond + " ORDER BY Name LIMIT " + strconv.Itoa(limit)
	recs, err := c.Query(ctx, soql)
	if err != nil {
		return nil, err
	}
	ms := make([]Match, 0, len(recs))
	for _, r := range recs {
		stored := r.String(field)
		if pattern != "" && !SamePhone(stored, dnis, c.cfg.DefaultRegion) {
			continue
		}
		ms = append(ms, Match{ID: r.ID(), Name: r.String("Name"), Type: "Campaign", Phone: stored})
		if len(ms) == c.cfg.Lookup.MaxMatches {
			break
		}
	}
	return ms, nil
}

// findByDigits returns the records (Cases) whose digits field equals the
// collected digits; for CaseNumber the auto-number's leading zeros may be
// left out ("1026" finds "00001026").
func (c *Client) findByDigits(ctx context.Context, digits string) ([]Match, error) {
	obj, field := c.cfg.Lookup.DigitsObject, c.cfg.Lookup.CaseDigitsField
	if !isAPIName(obj) || !isAPIName(field) {
		return nil, &Error{StatusCode: http.StatusBadRequest, ErrorCode: "INVALID_FIELD", Message: "bad digits object or field name", Fields: []string{obj + "." + field}}
	}
	d := strings.TrimSpace(cleanText(digits))
	values := []string{d}
	if field == "CaseNumber" && isDigits(d) && len(d) < 8 {
		values = append(values, strings.Repeat("0", 8-len(d))+d)
	}
	fields := "Id, " + field
	if obj == "Case" {
		fields += ", Subject"
	}
	soql := "SELECT " + fields + " FROM " + obj + " WHERE " + field + " IN (" + quoteAll(values) + ") LIMIT " + strconv.Itoa(c.cfg.Lookup.MaxMatches)
	recs, err := c.Query(ctx, soql)
	if err != nil {
		return nil, err
	}
	ms := make([]Match, 0, len(recs))
	for _, r := range recs {
		ms = append(ms, Match{ID: r.ID(), Name: r.String(field), Type: obj})
	}
	return ms, nil
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = QuoteSOQL(v)
	}
	return strings.Join(q, ", ")
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// SearchContacts serves the softphone's search bar: records whose name
// (prefix match per word) or, for number-like terms, phone matches term,
// at most limit (default 10, at most 200) in total. Terms with fewer than
// two letters or digits match nothing without a request.
func (c *Client) SearchContacts(ctx context.Context, term string, limit int) ([]Match, error) {
	term = strings.TrimSpace(cleanText(term))
	if limit <= 0 {
		limit = 10
	}
	limit = min(limit, 200)
	if searchable(term) < 2 {
		return []Match{}, nil // SOSL refuses terms shorter than two characters
	}
	var find, group, number string
	// A number with an extension ("415 555 0154 x22") is searched by its
	// main number.
	if !phoneLike(term) && strings.HasPrefix(phone.Canonical(term, c.cfg.DefaultRegion, phone.Options{}), "+") {
		term = phone.Canonical(term, c.cfg.DefaultRegion, phone.Options{})
	}
	if phoneLike(term) {
		if phone.Withheld(term) {
			return []Match{}, nil // "000 000 0000" is nobody's number
		}
		group = "PHONE"
		if vs := PhoneVariants(term, c.cfg.DefaultRegion); len(vs) > 0 {
			q := make([]string, len(vs))
			for i, v := range vs {
				q[i] = QuoteSOSL(v)
			}
			find, number = strings.Join(q, " OR "), term
		} else {
			find = EscapeSOSL(digitsOf(term)) + "*"
		}
	} else {
		group = "NAME"
		var words []string
		for _, w := range strings.Fields(term) {
			words = append(words, soslWord(w))
		}
		find = strings.Join(words, " AND ")
	}
	sosl := "FIND {" + find + "} IN " + group + " FIELDS RETURNING " + c.returning(c.cfg.Lookup.ANIObjects, limit) + " LIMIT " + strconv.Itoa(limit)
	recs, err := c.Search(ctx, sosl)
	if err != nil {
		return nil, fmt.Errorf("salesforce: search contacts: %w", err)
	}
	ms := c.toMatches(recs, number)
	if len(ms) > limit {
		ms = ms[:limit]
	}
	return ms, nil
}

// searchable counts the letters and digits of s: what SOSL searches on.
func searchable(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
	}
	return n
}

// soslWord turns one word of user input into a SOSL term: escaped with a
// trailing wildcard (prefix search), or quoted when it would otherwise be
// an operator.
func soslWord(w string) string {
	switch strings.ToUpper(w) {
	case "AND", "OR", "NOT":
		return QuoteSOSL(w)
	}
	return EscapeSOSL(w) + "*"
}

// phoneLike reports whether s is made of phone characters with 3+ digits.
func phoneLike(s string) bool {
	n := 0
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			n++
		case strings.ContainsRune("+()-. /", r):
		default:
			return false
		}
	}
	return n >= 3
}
