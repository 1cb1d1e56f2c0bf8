package fakeorg

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// The lexer, parser helpers and WHERE evaluation shared by SOQL queries and
// SOSL RETURNING clauses.

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

// Error implements error.
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
	isID   bool   // Id and reference fields: exact, 15- and 18-char forms equal
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
