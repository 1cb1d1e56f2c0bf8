package fakeorg

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// The SOSL subset: FIND {terms} [IN ALL|NAME|EMAIL|PHONE|SIDEBAR FIELDS]
// [RETURNING Obj[(fields [WHERE cond] [ORDER BY ...] [LIMIT n] [OFFSET
// n])], ...] [LIMIT n]. Terms are words (a backslash escapes the reserved
// characters ? & | ! { } [ ] ( ) ^ ~ * : \ " ' + -, which are refused
// unescaped; unescaped * and ? are wildcards), "quoted phrases", AND, OR,
// AND NOT, NOT and parentheses; adjacent terms are AND-ed.
//
// Text matches on tokens (letters and digits, case-insensitive), phrases
// on consecutive tokens. Phone fields match on digits, the way
// Salesforce's phone search treats formatting as noise: a term matches a
// stored number when their digits are equal, or one ends with the other
// with at least 7 digits (so "4155550123" finds "+1 (415) 555-0123" and
// "+14155550123" finds "415-555-0123"), also after dropping a trunk 0
// ("02079460958" finds "+44 20 7946 0958"); a stored extension ("x22") is
// a token of its own, not part of the number (see phoneMatch). Unverified against a live org:
// the client searches several forms of each number so it does not depend
// on this detail.

// Wildcards kept apart from escaped literals while parsing terms.
const (
	wildStar = '\uE002'
	wildOne  = '\uE003'
)

// sterm is one search term: its tokens (with wildcard markers) and its raw
// text without escapes (for phone digits).
type sterm struct {
	tokens []string
	raw    string
	star   bool // ends with a * wildcard
}

type sexpr interface {
	match(f func(sterm) bool) bool
}

type sAnd struct{ l, r sexpr }
type sOr struct{ l, r sexpr }
type sNot struct{ e sexpr }
type sLeaf struct{ t sterm }

func (e sAnd) match(f func(sterm) bool) bool  { return e.l.match(f) && e.r.match(f) }
func (e sOr) match(f func(sterm) bool) bool   { return e.l.match(f) || e.r.match(f) }
func (e sNot) match(f func(sterm) bool) bool  { return !e.e.match(f) }
func (e sLeaf) match(f func(sterm) bool) bool { return f(e.t) }

// findBlock splits "FIND {…} rest" at the closing brace, honouring escapes
// and quotes.
func findBlock(q string) (terms, rest string, err error) {
	s := strings.TrimSpace(q)
	if len(s) < 4 || !strings.EqualFold(s[:4], "FIND") {
		return "", "", &syntaxError{"unexpected token: FIND expected"}
	}
	s = strings.TrimLeft(s[4:], " \t\r\n")
	if !strings.HasPrefix(s, "{") {
		return "", "", &syntaxError{"unexpected token: '{' expected after FIND"}
	}
	inQuote := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQuote = !inQuote
		case '}':
			if !inQuote {
				return s[1:i], s[i+1:], nil
			}
		}
	}
	return "", "", &syntaxError{"unexpected token: missing closing '}'"}
}

// stoken is a lexed piece of the FIND block.
type stoken struct {
	op   string // "(", ")", "AND", "OR", "NOT", or "" for a term
	term sterm
}

const soslReserved = `{}[]^~:!&|'+-`

func lexTerms(s string) ([]stoken, error) {
	var out []stoken
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(' || r == ')':
			out = append(out, stoken{op: string(r)})
			i++
		case r == '"':
			var b, raw strings.Builder
			i++
			closed := false
			for i < len(rs) {
				if rs[i] == '\\' && i+1 < len(rs) {
					b.WriteRune(rs[i+1])
					raw.WriteRune(rs[i+1])
					i += 2
					continue
				}
				if rs[i] == '"' {
					closed = true
					i++
					break
				}
				switch rs[i] {
				case '*':
					b.WriteRune(wildStar)
				case '?':
					b.WriteRune(wildOne)
				default:
					b.WriteRune(rs[i])
				}
				raw.WriteRune(rs[i])
				i++
			}
			if !closed {
				return nil, &syntaxError{"unmatched quote in search term"}
			}
			out = append(out, stoken{term: newTerm(b.String(), raw.String())})
		default:
			var b, raw strings.Builder
			for i < len(rs) && !unicode.IsSpace(rs[i]) && rs[i] != '(' && rs[i] != ')' && rs[i] != '"' {
				c := rs[i]
				switch {
				case c == '\\':
					if i+1 >= len(rs) {
						return nil, &syntaxError{"dangling escape in search term"}
					}
					b.WriteRune(rs[i+1])
					raw.WriteRune(rs[i+1])
					i += 2
					continue
				case c == '*':
					b.WriteRune(wildStar)
				case c == '?':
					b.WriteRune(wildOne)
				case strings.ContainsRune(soslReserved, c):
					return nil, &syntaxError{fmt.Sprintf("unexpected token: '%c' (reserved: escape it with a backslash)", c)}
				default:
					b.WriteRune(c)
				}
				raw.WriteRune(c)
				i++
			}
			word := b.String()
			switch strings.ToUpper(word) {
			case "AND", "OR", "NOT":
				out = append(out, stoken{op: strings.ToUpper(word)})
				continue
			}
			out = append(out, stoken{term: newTerm(word, raw.String())})
		}
	}
	return out, nil
}

func newTerm(text, raw string) sterm {
	return sterm{tokens: tokenize(text), raw: raw, star: strings.HasSuffix(text, string(wildStar))}
}

// tokenize lowercases s and splits it into runs of letters, digits and
// wildcard markers.
func tokenize(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == wildStar || r == wildOne)
	})
}

// sparser builds the boolean expression: OR binds looser than AND
// (explicit or implied), which binds looser than NOT.
type sparser struct {
	toks []stoken
	i    int
}

func (p *sparser) peek() *stoken {
	if p.i < len(p.toks) {
		return &p.toks[p.i]
	}
	return nil
}

func (p *sparser) or() (sexpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t != nil && t.op == "OR"; t = p.peek() {
		p.i++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = sOr{l, r}
	}
	return l, nil
}

func (p *sparser) and() (sexpr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t != nil && (t.op == "AND" || t.op == "" || t.op == "(" || t.op == "NOT"); t = p.peek() {
		if t.op == "AND" {
			p.i++
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = sAnd{l, r}
	}
	return l, nil
}

func (p *sparser) unary() (sexpr, error) {
	t := p.peek()
	switch {
	case t == nil:
		return nil, &syntaxError{"unexpected end of search term"}
	case t.op == "NOT":
		p.i++
		e, err := p.unary()
		return sNot{e}, err
	case t.op == "(":
		p.i++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if t := p.peek(); t == nil || t.op != ")" {
			return nil, &syntaxError{"missing ')' in search term"}
		}
		p.i++
		return e, nil
	case t.op == "":
		p.i++
		return sLeaf{t.term}, nil
	}
	return nil, &syntaxError{fmt.Sprintf("unexpected token: '%s'", t.op)}
}

// retSpec is one RETURNING object.
type retSpec struct {
	obj    *objectDef
	fields []string
	tail   tail
}

type sosl struct {
	expr   sexpr
	group  string
	ret    []retSpec
	limit  int
	length int // letters and digits in all terms
}

func parseSOSL(q string) (*sosl, error) {
	block, rest, err := findBlock(q)
	if err != nil {
		return nil, err
	}
	stoks, err := lexTerms(block)
	if err != nil {
		return nil, err
	}
	s := &sosl{group: "ALL", limit: 2000}
	for _, t := range stoks {
		if t.op == "" {
			for _, r := range strings.Join(t.term.tokens, "") {
				if r != wildStar && r != wildOne {
					s.length++
				}
			}
		}
	}
	sp := &sparser{toks: stoks}
	if s.expr, err = sp.or(); err != nil {
		return nil, err
	}
	if sp.i != len(stoks) {
		return nil, &syntaxError{"unexpected token in search term"}
	}
	toks, err := lex(rest)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.keyword("IN") {
		g := p.next()
		switch strings.ToUpper(g.text) {
		case "ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR":
			s.group = strings.ToUpper(g.text)
		default:
			return nil, &syntaxError{fmt.Sprintf("unexpected token: '%s'", g.text)}
		}
		if !p.keyword("FIELDS") {
			return nil, p.unexpected()
		}
	}
	if p.keyword("RETURNING") {
		for {
			ot := p.next()
			d, ok := objectFor(ot.text)
			if ot.kind != tkIdent || !ok {
				return nil, &typeError{ot.text}
			}
			spec := retSpec{obj: d, fields: []string{"Id"}, tail: tail{limit: -1}}
			if p.punct("(") {
				spec.fields = nil
				for {
					ft := p.next()
					f, ok := d.field(ft.text)
					if ft.kind != tkIdent || !ok {
						return nil, &fieldError{ft.text, d.name}
					}
					spec.fields = append(spec.fields, f.name)
					if !p.punct(",") {
						break
					}
				}
				if spec.tail, err = p.parseTail(d); err != nil {
					return nil, err
				}
				if !p.punct(")") {
					return nil, p.unexpected()
				}
			}
			s.ret = append(s.ret, spec)
			if !p.punct(",") {
				break
			}
		}
	} else {
		for _, n := range []string{"Account", "Contact", "Lead"} {
			s.ret = append(s.ret, retSpec{obj: schema[n], fields: []string{"Id"}, tail: tail{limit: -1}})
		}
	}
	if p.keyword("LIMIT") {
		if s.limit, err = p.count(); err != nil {
			return nil, err
		}
	}
	if p.peek().kind != tkEOF {
		return nil, p.unexpected()
	}
	return s, nil
}

// search serves GET /search?q=.
func (c *call) search() {
	if c.r.Method != http.MethodGet {
		c.fail(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+c.r.Method+"' not allowed. Allowed are GET,HEAD")
		return
	}
	q := c.r.URL.Query().Get("q")
	s, err := parseSOSL(q)
	if err != nil {
		switch err.(type) {
		case *fieldError:
			c.fail(http.StatusBadRequest, "INVALID_FIELD", err.Error())
		case *typeError:
			c.fail(http.StatusBadRequest, "INVALID_TYPE", err.Error())
		default:
			c.fail(http.StatusBadRequest, "MALFORMED_SEARCH", err.Error())
		}
		return
	}
	if s.length < 2 {
		c.fail(http.StatusBadRequest, "INVALID_SEARCH", "search term must be longer than one character")
		return
	}
	out := []map[string]any{}
	c.org.mu.Lock()
	for _, spec := range s.ret {
		tb := c.org.store[spec.obj.name]
		if tb == nil {
			continue
		}
		var hits []map[string]any
		for _, id := range tb.ids {
			rec := tb.recs[id]
			if s.expr.match(func(t sterm) bool { return termMatches(spec.obj, s.group, rec, t) }) {
				hits = append(hits, rec)
			}
		}
		for _, r := range spec.tail.apply(hits) {
			out = append(out, c.org.view(spec.obj, r, spec.fields, c.version))
		}
	}
	c.org.mu.Unlock()
	if len(out) > s.limit {
		out = out[:s.limit]
	}
	c.org.writeJSON(c.w, http.StatusOK, map[string]any{"searchRecords": out})
}
