package fakeorg

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The schema: the standard objects and fields a CTI adapter touches, with
// types, lengths, picklists and create/update rules, and the validation
// Salesforce applies to values written to them.

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
			str("Extension", "Extension", 40), str("EmployeeNumber", "Employee Number", 20), {name: "IsActive", label: "Active", typ: tBool},
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
		// Salesforce dates run from 1700-01-01 to 4000-12-31 (Data Loader
		// Guide, "Data Import Dates"). The guide gives no REST error code
		// for a date outside; FIELD_INTEGRITY_EXCEPTION (400, not
		// retryable) is this fake's choice.
		if s < "1700-01-01" || s > "4000-12-31" {
			return nil, &apiError{ErrorCode: "FIELD_INTEGRITY_EXCEPTION", Message: fmt.Sprintf("%s: invalid date: %s (valid dates are 1700-01-01 to 4000-12-31)", f.label, s), Fields: []string{f.name}}
		}
	}
	// Salesforce counts text lengths in UTF-16 code units (an emoji
	// outside the BMP counts 2): the reference's Task rules.
	if f.length > 0 && utf16Len(s) > f.length {
		return nil, &apiError{ErrorCode: "STRING_TOO_LONG", Message: fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.label, truncate(s, 20), f.length), Fields: []string{f.name}}
	}
	return s, nil
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "..."
}
