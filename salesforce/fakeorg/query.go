package fakeorg

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The SOQL subset: SELECT fields FROM object [WHERE cond] [ORDER BY field
// [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]; cond is
// comparisons (= != <> < <= > >=), LIKE, IN (...), NOT IN (...), joined by
// AND, OR, NOT and parentheses. Anything else is MALFORMED_QUERY.

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

// Error implements error, with Salesforce's wording.
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

// Error implements error, with Salesforce's wording.
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
