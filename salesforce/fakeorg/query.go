package fakeorg

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The SOQL subset: SELECT fields FROM object [WHERE cond] [ORDER BY field
// [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]; cond is
// comparisons (= != <> < <= > >=), LIKE, IN (...), NOT IN (...), joined by
// AND, OR, NOT and parentheses. Anything else is MALFORMED_QUERY.

type tokKind int

const (
	tkEOF tokKind = iota
	tkIdent
	tkString
	tkNumber
	tkPunct
)

type token struct {
	kind tokKind
	text string // identifier, punctuation, number, or the decoded string
	pos  int
}

// Escaped LIKE wildcards are kept apart from real ones while lexing.
const (
	litPercent    = '\uE000'
	litUnderscore = '\uE001'
)

type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			start := i
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				ch := s[i]
				if ch == '\\' {
					if i+1 >= len(s) {
						break
					}
					switch s[i+1] {
					case '\'', '"', '\\':
						b.WriteByte(s[i+1])
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case 'b':
						b.WriteByte('\b')
					case 'f':
						b.WriteByte('\f')
					case '%':
						b.WriteRune(litPercent)
					case '_':
						b.WriteRune(litUnderscore)
					default:
						return nil, &syntaxError{fmt.Sprintf("Invalid string literal '%s'. Illegal character sequence '\\%c' in string literal.", s[start:min(i+2, len(s))], s[i+1])}
					}
					i += 2
					continue
				}
				if ch == '\'' {
					closed = true
					i++
					break
				}
				b.WriteByte(ch)
				i++
			}
			if !closed {
				return nil, &syntaxError{"unexpected token: unterminated string literal"}
			}
			toks = append(toks, token{tkString, b.String(), start})
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			start := i
			i++
			for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
				i++
			}
			toks = append(toks, token{tkNumber, s[start:i], start})
		case isIdentByte(c):
			start := i
			for i < len(s) && (isIdentByte(s[i]) || s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
				i++
			}
			toks = append(toks, token{tkIdent, s[start:i], start})
		case strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "<>") || strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">="):
			toks = append(toks, token{tkPunct, s[i : i+2], i})
			i += 2
		case strings.ContainsRune("(),=<>", rune(c)):
			toks = append(toks, token{tkPunct, string(c), i})
			i++
		default:
			return nil, &syntaxError{fmt.Sprintf("unexpected token: '%c'", c)}
		}
	}
	return append(toks, token{tkEOF, "", len(s)}), nil
}

func isIdentByte(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parser walks tokens.
type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i = min(p.i+1, len(p.toks)-1); return t }

// keyword consumes the identifier kw (case-insensitive) if it is next.
func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == tkIdent && strings.EqualFold(t.text, kw) {
		p.next()
		return true
	}
	return false
}

func (p *parser) punct(s string) bool {
	if t := p.peek(); t.kind == tkPunct && t.text == s {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectf(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return &syntaxError{fmt.Sprintf(format, args...)}
}

func (p *parser) unexpected() error {
	t := p.peek()
	if t.kind == tkEOF {
		return &syntaxError{"unexpected token: <EOF>"}
	}
	return &syntaxError{fmt.Sprintf("unexpected token: '%s'", t.text)}
}

// cond is a WHERE expression.
type cond interface {
	eval(rec map[string]any) bool
}

type andCond struct{ l, r cond }
type orCond struct{ l, r cond }
type notCond struct{ c cond }
type cmpCond struct {
	field  string
	isID   bool // Id and reference fields: exact, 15- and 18-char forms equal
	op     string // = != < <= > >= LIKE IN NOTIN
	values []any  // string, float64, bool or nil
}

func (c andCond) eval(r map[string]any) bool { return c.l.eval(r) && c.r.eval(r) }
func (c orCond) eval(r map[string]any) bool  { return c.l.eval(r) || c.r.eval(r) }
func (c notCond) eval(r map[string]any) bool { return !c.c.eval(r) }

func (c cmpCond) eval(r map[string]any) bool {
	v := r[c.field]
	if c.isID && c.op != "LIKE" {
		return c.evalID(v)
	}
	switch c.op {
	case "IN":
		for _, x := range c.values {
			if compare(v, x) == 0 {
				return true
			}
		}
		return false
	case "NOTIN":
		for _, x := range c.values {
			if compare(v, x) == 0 {
				return false
			}
		}
		return true
	case "LIKE":
		s, _ := v.(string)
		pat, _ := c.values[0].(string)
		return likeMatch(strings.ToLower(s), []rune(strings.ToLower(pat)))
	}
	n := compare(v, c.values[0])
	switch c.op {
	case "=":
		return n == 0
	case "!=", "<>":
		return n != 0
	case "<":
		return n == -1
	case "<=":
		return n == -1 || n == 0
	case ">":
		return n == 1
	case ">=":
		return n == 1 || n == 0
	}
	return false
}

// evalID compares ids exactly (they are case-sensitive), accepting either
// form of the literal.
func (c cmpCond) evalID(v any) bool {
	s, _ := v.(string)
	eq := func(lit any) bool {
		l, ok := lit.(string)
		if !ok {
			return lit == nil && s == ""
		}
		if validID(l) {
			l = id18(l)
		}
		return s == l
	}
	switch c.op {
	case "=", "IN":
		return slices.ContainsFunc(c.values, eq)
	case "!=", "<>", "NOTIN":
		return !slices.ContainsFunc(c.values, eq)
	}
	return false
}

// compare orders a stored value and a literal: -1, 0, 1, or 2 when they
// cannot be compared. Text compares case-insensitively, as in SOQL.
func compare(v, lit any) int {
	if v == "" {
		v = nil
	}
	if v == nil || lit == nil {
		if v == nil && lit == nil {
			return 0
		}
		return 2
	}
	switch l := lit.(type) {
	case string:
		s, ok := v.(string)
		if !ok {
			return 2
		}
		l = strings.NewReplacer(string(litPercent), "%", string(litUnderscore), "_").Replace(l)
		return cmp.Compare(strings.ToLower(s), strings.ToLower(l))
	case float64:
		var f float64
		switch x := v.(type) {
		case int64:
			f = float64(x)
		case int:
			f = float64(x)
		case float64:
			f = x
		default:
			return 2
		}
		return cmp.Compare(f, l)
	case bool:
		b, ok := v.(bool)
		if !ok {
			return 2
		}
		if b == l {
			return 0
		}
		return 2
	}
	return 2
}

// likeMatch matches s against a LIKE pattern: % any run, _ one character,
// escaped ones literal.
func likeMatch(s string, pat []rune) bool {
	rs := []rune(s)
	var match func(i, j int) bool
	memo := map[[2]int]bool{}
	match = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var res bool
		switch {
		case j == len(pat):
			res = i == len(rs)
		case pat[j] == '%':
			res = match(i, j+1) || i < len(rs) && match(i+1, j)
		case i == len(rs):
			res = false
		case pat[j] == '_':
			res = match(i+1, j+1)
		case pat[j] == litPercent:
			res = rs[i] == '%' && match(i+1, j+1)
		case pat[j] == litUnderscore:
			res = rs[i] == '_' && match(i+1, j+1)
		default:
			res = unicode.ToLower(rs[i]) == pat[j] && match(i+1, j+1)
		}
		memo[k] = res
		return res
	}
	return match(0, 0)
}

// parseCond parses OR-joined AND-joined terms.
func (p *parser) parseCond(d *objectDef) (cond, error) {
	l, err := p.parseAnd(d)
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		r, err := p.parseAnd(d)
		if err != nil {
			return nil, err
		}
		l = orCond{l, r}
	}
	return l, nil
}

func (p *parser) parseAnd(d *objectDef) (cond, error) {
	l, err := p.parseTerm(d)
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		r, err := p.parseTerm(d)
		if err != nil {
			return nil, err
		}
		l = andCond{l, r}
	}
	return l, nil
}

func (p *parser) parseTerm(d *objectDef) (cond, error) {
	if p.keyword("NOT") {
		c, err := p.parseTerm(d)
		return notCond{c}, err
	}
	if p.punct("(") {
		c, err := p.parseCond(d)
		if err != nil {
			return nil, err
		}
		if err := p.expectf(p.punct(")"), "unexpected token: '%s', expecting ')'", p.peek().text); err != nil {
			return nil, err
		}
		return c, nil
	}
	ft := p.next()
	if ft.kind != tkIdent {
		p.i--
		return nil, p.unexpected()
	}
	f, ok := d.field(ft.text)
	if !ok {
		return nil, &fieldError{ft.text, d.name}
	}
	c := cmpCond{field: f.name, isID: f.typ == tID || f.typ == tReference}
	switch t := p.peek(); {
	case t.kind == tkPunct && slices.Contains([]string{"=", "!=", "<>", "<", "<=", ">", ">="}, t.text):
		p.next()
		c.op = t.text
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		c.values = []any{v}
	case p.keyword("LIKE"):
		c.op = "LIKE"
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		if _, ok := v.(string); !ok {
			return nil, &syntaxError{"LIKE needs a string pattern"}
		}
		c.values = []any{v}
	case p.keyword("IN"):
		c.op = "IN"
		vs, err := p.list()
		if err != nil {
			return nil, err
		}
		c.values = vs
	case p.keyword("NOT"):
		if !p.keyword("IN") {
			return nil, p.unexpected()
		}
		c.op = "NOTIN"
		vs, err := p.list()
		if err != nil {
			return nil, err
		}
		c.values = vs
	default:
		return nil, p.unexpected()
	}
	return c, nil
}

func (p *parser) literal() (any, error) {
	t := p.next()
	switch t.kind {
	case tkString:
		return t.text, nil
	case tkNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, &syntaxError{"invalid number " + t.text}
		}
		return f, nil
	case tkIdent:
		switch strings.ToLower(t.text) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
	}
	p.i--
	return nil, p.unexpected()
}

func (p *parser) list() ([]any, error) {
	if !p.punct("(") {
		return nil, p.unexpected()
	}
	var vs []any
	for {
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
		if p.punct(")") {
			return vs, nil
		}
		if !p.punct(",") {
			return nil, p.unexpected()
		}
	}
}

// fieldError is an unknown field: INVALID_FIELD rather than MALFORMED_QUERY.
type fieldError struct{ field, object string }

func (e *fieldError) Error() string {
	return fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.", e.field, e.object)
}

type orderKey struct {
	field      string
	desc       bool
	nullsFirst bool
}

// tail parses [WHERE] [ORDER BY] [LIMIT] [OFFSET] for d.
type tail struct {
	where  cond
	order  []orderKey
	limit  int
	offset int
}

func (p *parser) parseTail(d *objectDef) (tail, error) {
	t := tail{limit: -1}
	if p.keyword("WHERE") {
		c, err := p.parseCond(d)
		if err != nil {
			return t, err
		}
		t.where = c
	}
	if p.keyword("ORDER") {
		if !p.keyword("BY") {
			return t, p.unexpected()
		}
		for {
			ft := p.next()
			f, ok := d.field(ft.text)
			if ft.kind != tkIdent || !ok {
				return t, &fieldError{ft.text, d.name}
			}
			k := orderKey{field: f.name}
			if p.keyword("DESC") {
				k.desc = true
			} else {
				p.keyword("ASC")
			}
			k.nullsFirst = !k.desc
			if p.keyword("NULLS") {
				switch {
				case p.keyword("FIRST"):
					k.nullsFirst = true
				case p.keyword("LAST"):
					k.nullsFirst = false
				default:
					return t, p.unexpected()
				}
			}
			t.order = append(t.order, k)
			if !p.punct(",") {
				break
			}
		}
	}
	if p.keyword("LIMIT") {
		n, err := p.count()
		if err != nil {
			return t, err
		}
		t.limit = n
	}
	if p.keyword("OFFSET") {
		n, err := p.count()
		if err != nil {
			return t, err
		}
		t.offset = n
	}
	return t, nil
}

func (p *parser) count() (int, error) {
	t := p.next()
	n, err := strconv.Atoi(t.text)
	if t.kind != tkNumber || err != nil || n < 0 {
		p.i--
		return 0, p.unexpected()
	}
	return n, nil
}

// apply filters, sorts and pages records.
func (t tail) apply(recs []map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if t.where == nil || t.where.eval(r) {
			out = append(out, r)
		}
	}
	if len(t.order) > 0 {
		slices.SortStableFunc(out, func(a, b map[string]any) int {
			for _, k := range t.order {
				if n := orderCompare(a[k.field], b[k.field], k.nullsFirst); n != 0 {
					if k.desc {
						return -n
					}
					return n
				}
			}
			return 0
		})
	}
	if t.offset > 0 {
		out = out[min(t.offset, len(out)):]
	}
	if t.limit >= 0 && len(out) > t.limit {
		out = out[:t.limit]
	}
	return out
}

func orderCompare(a, b any, nullsFirst bool) int {
	an, bn := a == nil || a == "", b == nil || b == ""
	switch {
	case an && bn:
		return 0
	case an:
		if nullsFirst {
			return -1
		}
		return 1
	case bn:
		if nullsFirst {
			return 1
		}
		return -1
	}
	if as, ok := a.(string); ok {
		bs, _ := b.(string)
		return cmp.Compare(strings.ToLower(as), strings.ToLower(bs))
	}
	return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// soql is a parsed query.
type soql struct {
	obj    *objectDef
	fields []string
	tail   tail
}

func parseSOQL(q string) (*soql, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if !p.keyword("SELECT") {
		return nil, p.unexpected()
	}
	var names []token
	for {
		t := p.next()
		if t.kind != tkIdent {
			p.i--
			return nil, p.unexpected()
		}
		names = append(names, t)
		if !p.punct(",") {
			break
		}
	}
	if !p.keyword("FROM") {
		return nil, p.unexpected()
	}
	ot := p.next()
	d, ok := objectFor(ot.text)
	if ot.kind != tkIdent || !ok {
		return nil, &typeError{ot.text}
	}
	s := &soql{obj: d}
	for _, n := range names {
		f, ok := d.field(n.text)
		if !ok {
			return nil, &fieldError{n.text, d.name}
		}
		if !slices.Contains(s.fields, f.name) {
			s.fields = append(s.fields, f.name)
		}
	}
	if s.tail, err = p.parseTail(d); err != nil {
		return nil, err
	}
	if p.peek().kind != tkEOF {
		return nil, p.unexpected()
	}
	return s, nil
}

type typeError struct{ name string }

func (e *typeError) Error() string {
	return fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.", e.name)
}

// failQuery writes the error a parse failure deserves.
func (c *call) failQuery(err error) {
	switch e := err.(type) {
	case *fieldError:
		c.fail(http.StatusBadRequest, "INVALID_FIELD", e.Error())
	case *typeError:
		c.fail(http.StatusBadRequest, "INVALID_TYPE", e.Error())
	default:
		c.fail(http.StatusBadRequest, "MALFORMED_QUERY", err.Error())
	}
}

// query serves GET /query?q= and GET /query/{locator}.
func (c *call) query(rest []string) {
	if c.r.Method != http.MethodGet {
		c.fail(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+c.r.Method+"' not allowed. Allowed are GET,HEAD")
		return
	}
	batch := c.org.opt.QueryBatchSize
	if opt := c.r.Header.Get("Sforce-Query-Options"); opt != "" {
		if _, v, ok := strings.Cut(opt, "batchSize="); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 200 && n < batch {
				batch = n
			}
		}
	}
	var recs []map[string]any
	if len(rest) == 1 && rest[0] != "" {
		c.org.mu.Lock()
		var ok bool
		recs, ok = c.org.cursors[rest[0]]
		delete(c.org.cursors, rest[0])
		c.org.mu.Unlock()
		if !ok {
			c.fail(http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
			return
		}
	} else {
		q := c.r.URL.Query().Get("q")
		s, err := parseSOQL(q)
		if err != nil {
			c.failQuery(err)
			return
		}
		recs = c.org.run(s.obj, s.fields, s.tail, c.version)
	}
	total := len(recs)
	out := map[string]any{"totalSize": total, "done": true}
	if len(recs) > batch {
		loc := "01g" + randomToken(12) + "-" + strconv.Itoa(batch)
		c.org.mu.Lock()
		c.org.cursors[loc] = recs[batch:]
		c.org.mu.Unlock()
		out["done"] = false
		out["nextRecordsUrl"] = "/services/data/" + c.version + "/query/" + loc
		recs = recs[:batch]
	}
	if recs == nil {
		recs = []map[string]any{}
	}
	out["records"] = recs
	c.org.writeJSON(c.w, http.StatusOK, out)
}

// run selects records of d matching t and renders fields.
func (o *Org) run(d *objectDef, fields []string, t tail, version string) []map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	tb := o.store[d.name]
	if tb == nil {
		return []map[string]any{}
	}
	all := make([]map[string]any, 0, len(tb.ids))
	for _, id := range tb.ids {
		all = append(all, tb.recs[id])
	}
	sel := t.apply(all)
	out := make([]map[string]any, len(sel))
	for i, r := range sel {
		out[i] = o.view(d, r, fields, version)
	}
	return out
}
