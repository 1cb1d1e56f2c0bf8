package fakeorg

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// fieldType is a field's data type, as far as the fake needs it.
type fieldType int

const (
	tID fieldType = iota
	tString
	tTextArea
	tPhone
	tEmail
	tPicklist
	tReference
	tInt
	tBool
	tDate
	tDateTime
)

// fieldDef describes one field of an sObject.
type fieldDef struct {
	name       string
	label      string
	typ        fieldType
	length     int
	values     []string // picklist values
	restricted bool     // restricted picklist
	refs       []string // key prefixes a reference may point to
	create     bool     // createable
	update     bool     // updateable
	def        any      // default on create
}

// objectDef describes an sObject type.
type objectDef struct {
	name    string
	prefix  string
	fields  []fieldDef
	nameFld []string // NAME FIELDS for SOSL
}

func (d *objectDef) field(name string) (*fieldDef, bool) {
	for i := range d.fields {
		if strings.EqualFold(d.fields[i].name, name) {
			return &d.fields[i], true
		}
	}
	return nil, false
}

func str(name, label string, n int) fieldDef {
	return fieldDef{name: name, label: label, typ: tString, length: n, create: true, update: true}
}
func phone(name, label string) fieldDef {
	return fieldDef{name: name, label: label, typ: tPhone, length: 40, create: true, update: true}
}
func ro(f fieldDef) fieldDef { f.create, f.update = false, false; return f }
func ref(name, label string, prefixes ...string) fieldDef {
	return fieldDef{name: name, label: label, typ: tReference, length: 18, refs: prefixes, create: true, update: true}
}

var system = []fieldDef{
	{name: "Id", label: "Record ID", typ: tID, length: 18},
	{name: "CreatedDate", label: "Created Date", typ: tDateTime},
	{name: "CreatedById", label: "Created By ID", typ: tReference, refs: []string{"005"}},
	{name: "LastModifiedDate", label: "Last Modified Date", typ: tDateTime},
}

// schema holds the objects the fake knows: the standard fields a CTI
// adapter touches, plus the custom Campaign.DNIS__c.
var schema = map[string]*objectDef{}

func init() {
	defs := []*objectDef{
		{name: "Contact", prefix: "003", nameFld: []string{"FirstName", "LastName"}, fields: []fieldDef{
			ro(str("Name", "Full Name", 121)), str("FirstName", "First Name", 40), str("LastName", "Last Name", 80),
			phone("Phone", "Business Phone"), phone("MobilePhone", "Mobile Phone"), phone("HomePhone", "Home Phone"),
			phone("OtherPhone", "Other Phone"), phone("AssistantPhone", "Asst. Phone"),
			{name: "Email", label: "Email", typ: tEmail, length: 80, create: true, update: true},
			str("Title", "Title", 128), ref("AccountId", "Account ID", "001"),
		}},
		{name: "Account", prefix: "001", nameFld: []string{"Name"}, fields: []fieldDef{
			str("Name", "Account Name", 255), phone("Phone", "Account Phone"),
			{name: "IsPersonAccount", label: "Is Person Account", typ: tBool},
			phone("PersonMobilePhone", "Mobile"), phone("PersonHomePhone", "Home Phone"), phone("PersonOtherPhone", "Other Phone"),
			ro(ref("PersonContactId", "Person Contact ID", "003")),
			{name: "Type", label: "Account Type", typ: tPicklist, length: 255, values: []string{"Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"}, create: true, update: true},
		}},
		{name: "Lead", prefix: "00Q", nameFld: []string{"FirstName", "LastName", "Company"}, fields: []fieldDef{
			ro(str("Name", "Full Name", 121)), str("FirstName", "First Name", 40), str("LastName", "Last Name", 80),
			str("Company", "Company", 255), phone("Phone", "Phone"), phone("MobilePhone", "Mobile Phone"),
			{name: "Email", label: "Email", typ: tEmail, length: 80, create: true, update: true},
			{name: "Status", label: "Status", typ: tPicklist, length: 255, values: []string{"Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"}, create: true, update: true, def: "Open - Not Contacted"},
		}},
		{name: "Campaign", prefix: "701", nameFld: []string{"Name"}, fields: []fieldDef{
			str("Name", "Name", 80), {name: "IsActive", label: "Active", typ: tBool, create: true, update: true, def: false},
			{name: "Status", label: "Status", typ: tPicklist, length: 255, values: []string{"Planned", "In Progress", "Completed", "Aborted"}, create: true, update: true},
			phone("DNIS__c", "DNIS"),
		}},
		{name: "Case", prefix: "500", nameFld: []string{"CaseNumber", "Subject"}, fields: []fieldDef{
			ro(str("CaseNumber", "Case Number", 30)), str("Subject", "Subject", 255),
			{name: "Status", label: "Status", typ: tPicklist, length: 255, values: []string{"New", "Working", "Escalated", "Closed"}, create: true, update: true, def: "New"},
			ref("ContactId", "Contact ID", "003"), ref("AccountId", "Account ID", "001"),
		}},
		{name: "Task", prefix: "00T", fields: []fieldDef{
			str("Subject", "Subject", 255),
			{name: "Description", label: "Description", typ: tTextArea, length: 32000, create: true, update: true},
			{name: "Status", label: "Status", typ: tPicklist, length: 255, values: []string{"Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"}, create: true, update: true, def: "Not Started"},
			{name: "Priority", label: "Priority", typ: tPicklist, length: 255, values: []string{"High", "Normal", "Low"}, create: true, update: true, def: "Normal"},
			{name: "ActivityDate", label: "Due Date Only", typ: tDate, create: true, update: true},
			ref("WhoId", "Name ID", "003", "00Q"), ref("WhatId", "Related To ID", "001", "006", "701", "500"),
			ref("OwnerId", "Assigned To ID", "005"),
			{name: "TaskSubtype", label: "Task Subtype", typ: tPicklist, length: 255, values: []string{"Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"}, restricted: true, create: true},
			{name: "Type", label: "Type", typ: tPicklist, length: 255, values: []string{"Call", "Email", "Meeting", "Other"}, create: true, update: true},
			{name: "CallType", label: "Call Type", typ: tPicklist, length: 255, values: []string{"Inbound", "Outbound", "Internal"}, restricted: true, create: true, update: true},
			{name: "CallDurationInSeconds", label: "Call Duration", typ: tInt, create: true, update: true},
			str("CallObject", "Call Object Identifier", 255), str("CallDisposition", "Call Result", 255),
			{name: "IsClosed", label: "Closed", typ: tBool},
		}},
		{name: "User", prefix: "005", nameFld: []string{"FirstName", "LastName", "Username"}, fields: []fieldDef{
			ro(str("Username", "Username", 80)), ro(str("Name", "Full Name", 121)), ro(str("FirstName", "First Name", 40)),
			ro(str("LastName", "Last Name", 80)), {name: "Email", label: "Email", typ: tEmail, length: 128},
			str("Extension", "Extension", 40), {name: "IsActive", label: "Active", typ: tBool},
		}},
	}
	for _, d := range defs {
		d.fields = append(slices.Clone(system), d.fields...)
		schema[d.name] = d
	}
}

// objectFor finds an sObject by name, case-insensitively.
func objectFor(name string) (*objectDef, bool) {
	for n, d := range schema {
		if strings.EqualFold(n, name) {
			return d, true
		}
	}
	return nil, false
}

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
	o.put(d.name, rec)
	return nil
}

// checkRefs verifies that references point at existing records; o.mu held.
func (o *Org) checkRefs(d *objectDef, rec map[string]any) *apiError {
	for k, v := range rec {
		f, _ := d.field(k)
		s, _ := v.(string)
		if f.typ != tReference || s == "" {
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

// validate checks fields as Salesforce does and returns them under their
// canonical names.
func validate(d *objectDef, in map[string]any, create bool) (map[string]any, []apiError) {
	out := map[string]any{}
	for k, v := range in {
		f, ok := d.field(k)
		if !ok {
			return nil, []apiError{{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf("No such column '%s' on sobject of type %s", k, d.name), Fields: []string{k}}}
		}
		if create && !f.create || !create && !f.update {
			return nil, []apiError{{ErrorCode: "INVALID_FIELD_FOR_INSERT_UPDATE", Message: fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name), Fields: []string{f.name}}}
		}
		val, e := coerce(f, v)
		if e != nil {
			return nil, []apiError{*e}
		}
		out[f.name] = val
	}
	return out, nil
}

// coerce checks one value against its field.
func coerce(f *fieldDef, v any) (any, *apiError) {
	if v == nil {
		return nil, nil
	}
	switch f.typ {
	case tInt:
		n, ok := v.(json.Number)
		if !ok {
			return nil, &apiError{ErrorCode: "JSON_PARSER_ERROR", Message: fmt.Sprintf("Cannot deserialize instance of int from %T value for field %s", v, f.name), Fields: []string{f.name}}
		}
		i, err := n.Int64()
		if err != nil {
			return nil, &apiError{ErrorCode: "NUMBER_OUTSIDE_VALID_RANGE", Message: f.label + ": value outside of valid range on numeric field: " + n.String(), Fields: []string{f.name}}
		}
		return i, nil
	case tBool:
		b, ok := v.(bool)
		if !ok {
			return nil, &apiError{ErrorCode: "JSON_PARSER_ERROR", Message: "Cannot deserialize instance of boolean for field " + f.name, Fields: []string{f.name}}
		}
		return b, nil
	}
	s, ok := v.(string)
	if !ok {
		if n, isNum := v.(json.Number); isNum {
			s = n.String()
		} else {
			return nil, &apiError{ErrorCode: "JSON_PARSER_ERROR", Message: "Cannot deserialize instance of string for field " + f.name, Fields: []string{f.name}}
		}
	}
	switch f.typ {
	case tReference:
		if s == "" {
			return nil, nil
		}
		if !validID(s) {
			return nil, &apiError{ErrorCode: "MALFORMED_ID", Message: fmt.Sprintf("%s: id value of incorrect type: %s", f.label, s), Fields: []string{f.name}}
		}
		if !slices.Contains(f.refs, s[:3]) {
			return nil, &apiError{ErrorCode: "FIELD_INTEGRITY_EXCEPTION", Message: fmt.Sprintf("%s: id value of incorrect type: %s", f.label, s), Fields: []string{f.name}}
		}
		return id18(s), nil
	case tPicklist:
		if f.restricted && !slices.Contains(f.values, s) {
			return nil, &apiError{ErrorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", Message: fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.label, s), Fields: []string{f.name}}
		}
	case tDate:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, &apiError{ErrorCode: "JSON_PARSER_ERROR", Message: "Cannot deserialize value like " + s + " from type date: " + f.name, Fields: []string{f.name}}
		}
	}
	if f.length > 0 && utf8.RuneCountInString(s) > f.length {
		return nil, &apiError{ErrorCode: "STRING_TOO_LONG", Message: fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.label, truncate(s, 20), f.length), Fields: []string{f.name}}
	}
	return s, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "..."
}

// collection serves POST /composite/sobjects (sObject Collections create).
func (c *call) collection() {
	if c.r.Method != http.MethodPost {
		c.fail(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+c.r.Method+"' not allowed. Allowed are POST")
		return
	}
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
		id, errs := c.org.create(d, maps.Clone(rec), c.userID)
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
