package fakeorg

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// put stores rec (with Id) under sobject; o.mu must be held.
func (o *Org) put(sobject string, rec map[string]any) {
	t := o.store[sobject]
	if t == nil {
		t = &table{recs: map[string]map[string]any{}}
		o.store[sobject] = t
	}
	id := rec["Id"].(string)
	if _, ok := t.recs[id]; !ok {
		t.ids = append(t.ids, id)
	}
	now := o.opt.Now().UTC().Format("2006-01-02T15:04:05.000+0000")
	if rec["CreatedDate"] == nil {
		rec["CreatedDate"] = now
	}
	rec["LastModifiedDate"] = now
	o.computeNames(sobject, rec)
	t.recs[id] = rec
}

func (o *Org) computeNames(sobject string, rec map[string]any) {
	switch sobject {
	case "Contact", "Lead", "User":
		f, _ := rec["FirstName"].(string)
		l, _ := rec["LastName"].(string)
		rec["Name"] = strings.TrimSpace(f + " " + l)
	case "Task":
		rec["IsClosed"] = rec["Status"] == "Completed"
	}
}

// Records returns copies of every record of sobject, oldest first.
func (o *Org) Records(sobject string) []map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := objectFor(sobject)
	if !ok {
		return nil
	}
	t := o.store[d.name]
	if t == nil {
		return []map[string]any{}
	}
	out := make([]map[string]any, 0, len(t.ids))
	for _, id := range t.ids {
		out = append(out, o.view(d, t.recs[id], nil, ""))
	}
	return out
}

// Insert adds a record directly (no validation, no API usage): for seeding
// tests. It returns the new id.
func (o *Org) Insert(sobject string, fields map[string]any) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := objectFor(sobject)
	if !ok {
		panic("fakeorg: unknown sObject " + sobject)
	}
	rec := maps.Clone(fields)
	rec["Id"] = o.newID(d.prefix)
	o.applyDefaults(d, rec)
	if d.name == "Case" && rec["CaseNumber"] == nil {
		o.caseSeq++
		rec["CaseNumber"] = fmt.Sprintf("%08d", 1000+o.caseSeq)
	}
	if d.name == "Account" && rec["IsPersonAccount"] == true && rec["PersonContactId"] == nil {
		rec["PersonContactId"] = o.newID("003")
	}
	o.put(d.name, rec)
	return rec["Id"].(string)
}

func (o *Org) applyDefaults(d *objectDef, rec map[string]any) {
	for _, f := range d.fields {
		if _, set := rec[f.name]; !set && f.def != nil {
			rec[f.name] = f.def
		}
	}
}

// view renders a record as the REST API does: attributes then the fields
// (all, or those listed), null when unset.
func (o *Org) view(d *objectDef, rec map[string]any, fields []string, version string) map[string]any {
	if version == "" {
		version = "v" + o.opt.APIVersion
	}
	out := map[string]any{"attributes": map[string]any{
		"type": d.name,
		"url":  "/services/data/" + version + "/sobjects/" + d.name + "/" + rec["Id"].(string),
	}}
	if fields == nil {
		for _, f := range d.fields {
			fields = append(fields, f.name)
		}
	}
	for _, f := range fields {
		out[f] = rec[f]
	}
	return out
}

// sobjects serves /sobjects/{type}[/{id}].
func (c *call) sobjects(parts []string) {
	d, ok := objectFor(parts[0])
	if !ok {
		c.fail(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	switch {
	case len(parts) == 1 && c.r.Method == http.MethodPost:
		fields, ok := c.decodeObject()
		if !ok {
			return
		}
		id, errs := c.org.create(d, fields, c.userID)
		if errs != nil {
			c.org.writeJSON(c.w, http.StatusBadRequest, errs)
			return
		}
		c.w.Header().Set("Location", "/services/data/"+c.version+"/sobjects/"+d.name+"/"+id)
		c.org.writeJSON(c.w, http.StatusCreated, map[string]any{"id": id, "success": true, "errors": []any{}})
	case len(parts) == 1 && c.r.Method == http.MethodGet:
		c.org.writeJSON(c.w, http.StatusOK, map[string]any{"objectDescribe": map[string]any{"name": d.name, "keyPrefix": d.prefix}, "recentItems": []any{}})
	case len(parts) == 2 && parts[1] == "describe":
		c.describe(d)
	case len(parts) == 2 && (c.r.Method == http.MethodGet || c.r.Method == http.MethodPatch):
		id := parts[1]
		if !validID(id) {
			c.fail(http.StatusBadRequest, "MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", d.name, id), "Id")
			return
		}
		id = id18(id)
		if c.r.Method == http.MethodGet {
			c.get(d, id)
			return
		}
		fields, ok := c.decodeObject()
		if !ok {
			return
		}
		if errs := c.org.update(d, id, fields); errs != nil {
			status := http.StatusBadRequest
			if errs[0].ErrorCode == "NOT_FOUND" {
				status = http.StatusNotFound
			}
			c.org.writeJSON(c.w, status, errs)
			return
		}
		c.org.limitInfo(c.w.Header())
		c.w.WriteHeader(http.StatusNoContent)
	default:
		c.fail(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+c.r.Method+"' not allowed. Allowed are GET,PATCH,DELETE,HEAD")
	}
}

func (c *call) get(d *objectDef, id string) {
	var fields []string
	if q := c.r.URL.Query().Get("fields"); q != "" {
		for _, f := range strings.Split(q, ",") {
			fd, ok := d.field(strings.TrimSpace(f))
			if !ok {
				c.fail(http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", strings.TrimSpace(f), d.name))
				return
			}
			fields = append(fields, fd.name)
		}
	}
	c.org.mu.Lock()
	t := c.org.store[d.name]
	var out map[string]any
	if t != nil && t.recs[id] != nil {
		out = c.org.view(d, t.recs[id], fields, c.version)
	}
	c.org.mu.Unlock()
	if out == nil {
		c.fail(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	c.org.writeJSON(c.w, http.StatusOK, out)
}

func (c *call) describe(d *objectDef) {
	var fs []map[string]any
	for _, f := range d.fields {
		fs = append(fs, map[string]any{"name": f.name, "label": f.label, "length": f.length, "createable": f.create, "updateable": f.update, "restrictedPicklist": f.restricted})
	}
	c.org.writeJSON(c.w, http.StatusOK, map[string]any{"name": d.name, "keyPrefix": d.prefix, "fields": fs})
}

// decodeObject reads a JSON object body, keeping numbers exact.
func (c *call) decodeObject() (map[string]any, bool) {
	dec := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 8<<20))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		c.fail(http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character or end of input: the body must be a JSON object")
		return nil, false
	}
	return m, true
}

// create validates and stores a record, returning its id or the errors.
func (o *Org) create(d *objectDef, in map[string]any, userID string) (string, []apiError) {
	delete(in, "attributes")
	rec, errs := validate(d, in, true)
	if errs != nil {
		return "", errs
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if d.name == "Task" && rec["OwnerId"] == nil {
		rec["OwnerId"] = userID
	}
	if e := o.checkRefs(d, rec); e != nil {
		return "", []apiError{*e}
	}
	if e := taskRules(d, rec); e != nil {
		return "", []apiError{*e}
	}
	o.applyDefaults(d, rec)
	if d.name == "Case" {
		o.caseSeq++
		rec["CaseNumber"] = fmt.Sprintf("%08d", 1000+o.caseSeq)
	}
	rec["Id"] = o.newID(d.prefix)
	rec["CreatedById"] = userID
	o.put(d.name, rec)
	return rec["Id"].(string), nil
}

func (o *Org) update(d *objectDef, id string, in map[string]any) []apiError {
	delete(in, "attributes")
	changes, errs := validate(d, in, false)
	if errs != nil {
		return errs
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.store[d.name]
	if t == nil || t.recs[id] == nil {
		return []apiError{{ErrorCode: "NOT_FOUND", Message: "The requested resource does not exist"}}
	}
	if e := o.checkRefs(d, changes); e != nil {
		return []apiError{*e}
	}
	rec := maps.Clone(t.recs[id])
	maps.Copy(rec, changes)
	if e := taskRules(d, rec); e != nil {
		return []apiError{*e}
	}
	o.put(d.name, rec)
	return nil
}

// taskRules applies the rule Salesforce enforces across a Task's fields
// (the reference, "Rules Salesforce enforces on a Task"): when WhoId is a
// Lead, WhatId must be empty (400 FIELD_INTEGRITY_EXCEPTION). That WhoId is
// a Contact or Lead, and the lengths in UTF-16 units, are field checks
// (validate). rec is the whole record after the change.
func taskRules(d *objectDef, rec map[string]any) *apiError {
	if d.name != "Task" {
		return nil
	}
	who, _ := rec["WhoId"].(string)
	what, _ := rec["WhatId"].(string)
	if strings.HasPrefix(who, "00Q") && what != "" {
		return &apiError{ErrorCode: "FIELD_INTEGRITY_EXCEPTION", Message: "Related To ID: a task whose Name is a lead cannot be related to another record", Fields: []string{"WhatId"}}
	}
	return nil
}

// checkRefs verifies that references point at existing records; o.mu held.
func (o *Org) checkRefs(d *objectDef, rec map[string]any) *apiError {
	for k, v := range rec {
		f, ok := d.field(k)
		s, _ := v.(string)
		if !ok || f.typ != tReference || s == "" {
			continue
		}
		found := false
		for _, t := range o.store {
			if t.recs[s] != nil {
				found = true
				break
			}
		}
		if !found {
			return &apiError{ErrorCode: "INVALID_CROSS_REFERENCE_KEY", Message: fmt.Sprintf("%s: id value of incorrect type: %s", f.label, s), Fields: []string{f.name}}
		}
	}
	return nil
}

// collection serves POST /composite/sobjects (sObject Collections create)
// and PATCH (update: every record carries its Id).
func (c *call) collection() {
	if c.r.Method != http.MethodPost && c.r.Method != http.MethodPatch {
		c.fail(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+c.r.Method+"' not allowed. Allowed are POST, PATCH")
		return
	}
	patch := c.r.Method == http.MethodPatch
	var body struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 64<<20))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		c.fail(http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character or end of input")
		return
	}
	if len(body.Records) > 200 {
		c.fail(http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return
	}
	type result struct {
		ID      string          `json:"id,omitempty"`
		Success bool            `json:"success"`
		Errors  []collectionErr `json:"errors"`
	}
	results := make([]result, len(body.Records))
	var created []struct{ obj, id string }
	failed := false
	for i, rec := range body.Records {
		attrs, _ := rec["attributes"].(map[string]any)
		typ, _ := attrs["type"].(string)
		d, ok := objectFor(typ)
		if !ok {
			results[i] = result{Errors: []collectionErr{{StatusCode: "INVALID_TYPE", Message: "sObject type '" + typ + "' is not supported.", Fields: []string{}}}}
			failed = true
			continue
		}
		if failed && body.AllOrNone {
			results[i] = result{Errors: []collectionErr{rolledBack}}
			continue
		}
		var id string
		var errs []apiError
		if patch {
			id, _ = rec["Id"].(string)
			fields := maps.Clone(rec)
			delete(fields, "Id")
			switch {
			case !validID(id):
				errs = []apiError{{ErrorCode: "MALFORMED_ID", Message: "Id: id value of incorrect type: " + id, Fields: []string{"Id"}}}
			case body.AllOrNone:
				errs = []apiError{{ErrorCode: "INVALID_FIELD", Message: "allOrNone updates are not supported by the fake org"}}
			default:
				id = id18(id)
				errs = c.org.update(d, id, fields)
			}
		} else {
			id, errs = c.org.create(d, maps.Clone(rec), c.userID)
		}
		if errs != nil {
			failed = true
			results[i] = result{Errors: toCollectionErrs(errs)}
			continue
		}
		created = append(created, struct{ obj, id string }{d.name, id})
		results[i] = result{ID: id, Success: true, Errors: []collectionErr{}}
	}
	if failed && body.AllOrNone {
		c.org.mu.Lock()
		for _, cr := range created {
			t := c.org.store[cr.obj]
			delete(t.recs, cr.id)
			t.ids = slices.DeleteFunc(t.ids, func(s string) bool { return s == cr.id })
		}
		c.org.mu.Unlock()
		for i := range results {
			if results[i].Success {
				results[i] = result{Errors: []collectionErr{rolledBack}}
			}
		}
	}
	c.org.writeJSON(c.w, http.StatusOK, results)
}

// collectionErr is an error in sObject Collections results, which use
// statusCode where other answers use errorCode.
type collectionErr struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

var rolledBack = collectionErr{StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK", Message: "Record rolled back because not all records were valid and the request was using AllOrNone header", Fields: []string{}}

func toCollectionErrs(errs []apiError) []collectionErr {
	out := make([]collectionErr, len(errs))
	for i, e := range errs {
		f := e.Fields
		if f == nil {
			f = []string{}
		}
		out[i] = collectionErr{StatusCode: e.ErrorCode, Message: e.Message, Fields: f}
	}
	return out
}

// limits serves GET /limits.
func (c *call) limits() {
	used, limit := c.org.Usage()
	c.org.writeJSON(c.w, http.StatusOK, map[string]any{
		"DailyApiRequests": map[string]int{"Max": limit, "Remaining": limit - used},
	})
}
