package flowapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/switchboard-cti/switchboard/adapter/flowapi"
)

// The OpenAPI document is checked by kin-openapi (the OpenAPI 3.0 rules)
// and by the rules External Services adds (Salesforce Help, "Schema
// Definitions" and "Naming and Description Conventions").
func TestOpenAPIIsValid(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(flowapi.OpenAPI())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI 3.0 validation: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi %q: External Services import OpenAPI 2.0 or 3.0", doc.OpenAPI)
	}
}

var opIDRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9]{0,79}$`)

func TestOpenAPIFitsExternalServices(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(flowapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if !opIDRE.MatchString(op.OperationID) {
				t.Errorf("%s: operationId %q: letters and digits, starting with a letter (it names the Flow action)", where, op.OperationID)
			}
			if seen[op.OperationID] {
				t.Errorf("%s: operationId %q used twice", where, op.OperationID)
			}
			seen[op.OperationID] = true
			if op.Summary == "" || op.Description == "" {
				t.Errorf("%s: summary and description show in Flow Builder; give both", where)
			}
			if method == "GET" && op.RequestBody != nil {
				t.Errorf("%s: a GET with a request body fails External Services validation", where)
			}
			for _, p := range op.Parameters {
				if p.Value.Name == "" || p.Value.Schema == nil {
					t.Errorf("%s: every parameter needs a name and a schema", where)
				}
			}
			has2xx := false
			for code, r := range op.Responses.Map() {
				if strings.HasPrefix(code, "2") {
					has2xx = true
				}
				if code == "default" {
					t.Errorf("%s: give explicit status codes, not default", where)
				}
				for ct := range r.Value.Content {
					if ct != "application/json" {
						t.Errorf("%s %s: media type %q; use application/json", where, code, ct)
					}
				}
			}
			if !has2xx {
				t.Errorf("%s: no 2xx response", where)
			}
			for _, code := range []string{"401", "403", "429"} {
				if op.Responses.Value(code) == nil {
					t.Errorf("%s: document the %s error", where, code)
				}
			}
		}
	}
	// Schema keywords: only those External Services map to Apex types.
	var raw map[string]any
	if err := json.Unmarshal(flowapi.OpenAPI(), &raw); err != nil {
		t.Fatal(err)
	}
	allowed := []string{"type", "format", "description", "properties", "required", "items", "enum", "$ref"}
	walkSchemas(raw["components"].(map[string]any)["schemas"], "components.schemas", func(where string, s map[string]any) {
		for k := range s {
			if !slices.Contains(allowed, k) {
				t.Errorf("%s: keyword %q is outside what External Services support here", where, k)
			}
		}
		if _, ok := s["$ref"]; !ok {
			if ty, _ := s["type"].(string); ty == "" {
				t.Errorf("%s: give every schema a type", where)
			} else if ty == "object" && s["properties"] == nil {
				t.Errorf("%s: an object needs properties", where)
			} else if ty == "array" && s["items"] == nil {
				t.Errorf("%s: an array needs items", where)
			}
		}
		if f, ok := s["format"].(string); ok && !slices.Contains([]string{"date-time", "date", "int32", "int64", "double", "float", "binary"}, f) {
			t.Errorf("%s: format %q is not an External Services data type", where, f)
		}
	})
}

func walkSchemas(v any, where string, f func(string, map[string]any)) {
	switch s := v.(type) {
	case map[string]any:
		if where == "components.schemas" {
			for name, sub := range s {
				walkSchemas(sub, where+"."+name, f)
			}
			return
		}
		f(where, s)
		if props, ok := s["properties"].(map[string]any); ok {
			for name, sub := range props {
				walkSchemas(sub, where+"."+name, f)
			}
		}
		if items, ok := s["items"]; ok {
			walkSchemas(items, where+"[]", f)
		}
	}
}

// Routes not in the document, and why: the token endpoint is for the
// Named Credential, not a Flow action (an action could hand out secrets);
// the document does not describe itself.
var undocumented = []string{"POST " + flowapi.Base + "/oauth/token", "GET " + flowapi.Base + "/openapi.json"}

func TestEveryRouteIsDocumentedAndEveryDocumentedRouteExists(t *testing.T) {
	e := newEnv(t, nil)
	doc, err := openapi3.NewLoader().LoadFromData(flowapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var documented, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, r := range e.api.Routes() {
		k := r.Method + " " + r.Path
		if !slices.Contains(undocumented, k) {
			served = append(served, k)
		}
	}
	sort.Strings(documented)
	sort.Strings(served)
	for _, s := range served {
		if !slices.Contains(documented, s) {
			t.Errorf("route %s is not in openapi.json", s)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("openapi.json documents %s, which the API does not serve", d)
		}
	}
	if len(served) < 6 {
		t.Errorf("only %d routes served: %v", len(served), served)
	}
	// And every documented operation answers (not 404/405) when called.
	tok := e.jwtFor(t, nil)
	for _, d := range documented {
		method, path, _ := strings.Cut(d, " ")
		path = strings.ReplaceAll(path, "{userId}", alexID)
		var body any
		if method != "GET" {
			body = map[string]any{}
		}
		r := e.do(t, method, path, tok, body)
		if r.status == 404 && r.errCode() == "not_found" && strings.Contains(r.errMessage(), "no such endpoint") || r.status == 405 {
			t.Errorf("%s: %d %s", d, r.status, r.raw)
		}
	}
}

func TestOpenAPIIsServedWithThePublicURL(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(t, "GET", flowapi.Base+"/openapi.json", "", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	servers, _ := r.body["servers"].([]any)
	if len(servers) != 1 || fmt.Sprint(servers[0].(map[string]any)["url"]) != ncAudience {
		t.Errorf("servers = %v, want the public URL", servers)
	}
	if _, err := openapi3.NewLoader().LoadFromData(r.raw); err != nil {
		t.Errorf("served document does not load: %v", err)
	}
}
