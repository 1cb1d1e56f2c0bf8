package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-cti/switchboard/phone"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// The call center definition, in Salesforce's two forms:
//
//   - the import form admins upload in Setup > Call Centers > Import
//     (callcenter-definition.xml, served at GET /callcenter-definition.xml
//     for the deployment's public URL): <callCenter> with sections and
//     items, each with a gapless sortOrder from 0;
//   - the Metadata API form for the Salesforce CLI
//     (salesforce-metadata/callCenters/Switchboard.callCenter):
//     <CallCenter xmlns="http://soap.sforce.com/2006/04/metadata">, where
//     reqInternalName is the file name and reqDisplayName is displayName.
//
// Both are rendered from one list, ccSections; tests keep the repository's
// files equal to it. Rules: Salesforce Open CTI Developer Guide, "Call
// Center Definition File Format" and "Required Call Center Elements and
// Attributes"; Metadata API Developer Guide, "CallCenter".

// ccInternalName is reqInternalName and the Metadata API file name.
const ccInternalName = "Switchboard"

type ccItem struct{ name, label, value string }

type ccSection struct {
	name, label string
	items       []ccItem
}

// ccSections is the definition for a public base URL and the server's
// dialing options (SWITCHBOARD_DIAL_*_PREFIX: the server's settings are
// what counts; the definition shows them).
func ccSections(publicURL string, dial phone.Options) []ccSection {
	return []ccSection{
		{"reqGeneralInfo", "General Information", []ccItem{
			{"reqInternalName", "InternalName", ccInternalName},
			{"reqDisplayName", "Display Name", "Switchboard"},
			{"reqAdapterUrl", "CTI Adapter URL", publicURL + "/softphone/"},
			{"reqUseApi", "Use CTI API", "true"},
			{"reqSoftphoneHeight", "Softphone Height", "560"},
			{"reqSoftphoneWidth", "Softphone Width", "300"},
			{"reqSalesforceCompatibilityMode", "Salesforce Compatibility Mode", "Classic_and_Lightning"},
		}},
		{"reqDialingOptions", "Dialing Options", []ccItem{
			{"reqOutsidePrefix", "Outside Prefix", dial.Outside},
			{"reqLongDistPrefix", "Long Distance Prefix", dial.LongDistance},
			{"reqInternationalPrefix", "International Prefix", dial.International},
		}},
		{"switchboardOptions", "Switchboard Options", []ccItem{
			{"apiVersion", "Open CTI API Version", "67.0"},
			{"popAt", "Default Pop-Up at (ringing or answered)", "ringing"},
			{"popOrder", "Default Pop-Up Order (ani, dnis, digits, new_contact)", "ani,dnis,digits,new_contact"},
			{"quickNotes", "Quick Notes (one per line)", "Left voicemail\nCall back requested\nIssue resolved\nEscalated"},
			{"wrapUpActions", "Wrap-up actions (one per line)", "Save & Exit\nFollow-up call\nSend information"},
		}},
	}
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	// xml.EscapeText writes newlines as &#xA;; keep them as they are.
	return strings.ReplaceAll(b.String(), "&#xA;", "\n")
}

func escAttr(s string) string { return strings.ReplaceAll(esc(s), `"`, "&#34;") }

// callCenterXML renders the import form for a public base URL with no
// dialing options (the repository's callcenter-definition.xml).
func callCenterXML(publicURL string) []byte {
	return callCenterXMLFor(publicURL, phone.Options{})
}

// callCenterXMLFor renders the import form for a public base URL with the
// server's dialing options (GET /callcenter-definition.xml).
func callCenterXMLFor(publicURL string, dial phone.Options) []byte {
	var b bytes.Buffer
	b.WriteString("<callCenter>\n")
	for i, s := range ccSections(publicURL, dial) {
		fmt.Fprintf(&b, "  <section sortOrder=\"%d\" name=\"%s\" label=\"%s\">\n", i, s.name, escAttr(s.label))
		for j, it := range s.items {
			fmt.Fprintf(&b, "    <item sortOrder=\"%d\" name=\"%s\" label=\"%s\">%s</item>\n", j, it.name, escAttr(it.label), esc(it.value))
		}
		b.WriteString("  </section>\n")
	}
	b.WriteString("</callCenter>\n")
	return b.Bytes()
}

// callCenterMetadata renders the Metadata API form
// (callCenters/Switchboard.callCenter) for a public base URL.
func callCenterMetadata(publicURL string) []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CallCenter xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n")
	secs := ccSections(publicURL, phone.Options{})
	display := ""
	for _, it := range secs[0].items {
		if it.name == "reqDisplayName" {
			display = it.value
		}
	}
	fmt.Fprintf(&b, "    <adapterUrl>%s</adapterUrl>\n", esc(publicURL+"/softphone/"))
	fmt.Fprintf(&b, "    <displayName>%s</displayName>\n", esc(display))
	b.WriteString("    <displayNameLabel>Display Name</displayNameLabel>\n    <internalNameLabel>Internal Name</internalNameLabel>\n")
	for _, s := range secs {
		b.WriteString("    <sections>\n")
		for _, it := range s.items {
			if it.name == "reqInternalName" || it.name == "reqDisplayName" {
				continue // the file name and displayName
			}
			fmt.Fprintf(&b, "        <items>\n            <label>%s</label>\n            <name>%s</name>\n            <value>%s</value>\n        </items>\n", esc(it.label), it.name, esc(it.value))
		}
		fmt.Fprintf(&b, "        <label>%s</label>\n        <name>%s</name>\n    </sections>\n", esc(s.label), s.name)
	}
	b.WriteString("</CallCenter>\n")
	return b.Bytes()
}

// ccPackageXML is the manifest beside callCenters/ for
// sf project deploy start --metadata-dir salesforce-metadata.
const ccPackageXML = `<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types>
        <members>` + ccInternalName + `</members>
        <name>CallCenter</name>
    </types>
    <version>67.0</version>
</Package>
`

// The parsed import form.
type ccFile struct {
	XMLName  xml.Name       `xml:"callCenter"`
	Sections []ccFileSecton `xml:"section"`
}

type ccFileSecton struct {
	SortOrder string       `xml:"sortOrder,attr"`
	Name      string       `xml:"name,attr"`
	Label     string       `xml:"label,attr"`
	Items     []ccFileItem `xml:"item"`
}

type ccFileItem struct {
	SortOrder string `xml:"sortOrder,attr"`
	Name      string `xml:"name,attr"`
	Label     string `xml:"label,attr"`
	Value     string `xml:",chardata"`
}

// The names Salesforce reserves: req* names are its required sections and
// items only; these words may not be names at all.
var (
	ccReservedWords = []string{"label", "sortOrder", "internalNameLabel", "displayNameLabel"}
	ccReqItems      = map[string][]string{
		"reqGeneralInfo": {"reqInternalName", "reqDisplayName", "reqAdapterUrl", "reqUseApi", "reqSoftphoneHeight",
			"reqSoftphoneWidth", "reqSalesforceCompatibilityMode", "reqStandbyUrl", "reqTimeout", "reqDescription"},
		"reqDialingOptions": {"reqOutsidePrefix", "reqLongDistPrefix", "reqInternationalPrefix"},
	}
	// ccRequiredInOrder: the general items every definition has, in this
	// order (reqInternalName and reqDisplayName at sortOrder 0 and 1).
	ccRequiredInOrder = []string{"reqInternalName", "reqDisplayName", "reqAdapterUrl", "reqUseApi", "reqSoftphoneHeight", "reqSoftphoneWidth"}
	ccNameRE          = regexp.MustCompile(`^[A-Za-z0-9]{1,40}$`)
	ccInternalNameRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,39}$`)
	ccAPIVersionRE    = regexp.MustCompile(`^([0-9]{2})\.0$`)
)

// validateCallCenter checks an import-form definition against every rule
// Salesforce applies on import, and Switchboard's own options. Each
// problem names the item and says how to fix it; none means valid.
func validateCallCenter(b []byte) []string {
	var f ccFile
	if err := xml.Unmarshal(b, &f); err != nil {
		return []string{"not a call center definition: " + err.Error() + " (the root element is <callCenter>)"}
	}
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if len(f.Sections) == 0 {
		return []string{"<callCenter> has no <section>"}
	}
	checkLevel := func(where string, orders, names, labels []string) {
		seen := map[int]bool{}
		for i, o := range orders {
			n, err := strconv.Atoi(o)
			if err != nil || n < 0 {
				add("%s %q: sortOrder %q must be a non-negative integer", where, names[i], o)
				continue
			}
			if seen[n] {
				add("%s: sortOrder %d is used twice", where, n)
			}
			seen[n] = true
		}
		for n := 0; n < len(orders); n++ {
			if !seen[n] && len(seen) > 0 {
				add("%s: sortOrder must run 0 to %d without gaps; %d is missing", where, len(orders)-1, n)
				break
			}
		}
		dup := map[string]bool{}
		for i, n := range names {
			switch {
			case !ccNameRE.MatchString(n):
				add("%s: name %q: letters and digits only, 1 to 40 characters", where, n)
			case slices.Contains(ccReservedWords, n):
				add("%s: name %q is reserved by Salesforce; choose another", where, n)
			case dup[n]:
				add("%s: name %q is used twice", where, n)
			}
			dup[n] = true
			if len([]rune(labels[i])) > 1000 {
				add("%s %q: label longer than 1000 characters", where, n)
			}
		}
	}
	var orders, names, labels []string
	for _, s := range f.Sections {
		orders, names, labels = append(orders, s.SortOrder), append(names, s.Name), append(labels, s.Label)
	}
	checkLevel("sections", orders, names, labels)

	items := map[string]map[string]ccFileItem{}
	order := map[string]int{}
	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, "req") {
			if _, ok := ccReqItems[s.Name]; !ok {
				add("section %q: names starting with req are reserved for Salesforce's required sections (reqGeneralInfo, reqDialingOptions)", s.Name)
			}
		}
		var o, n, l []string
		items[s.Name] = map[string]ccFileItem{}
		for _, it := range s.Items {
			o, n, l = append(o, it.SortOrder), append(n, it.Name), append(l, it.Label)
			items[s.Name][it.Name] = it
			if v, err := strconv.Atoi(it.SortOrder); err == nil {
				order[s.Name+"/"+it.Name] = v
			}
			if strings.HasPrefix(it.Name, "req") && !slices.Contains(ccReqItems[s.Name], it.Name) {
				add("section %q item %q: names starting with req are reserved for Salesforce's required items", s.Name, it.Name)
			}
		}
		if len(s.Items) == 0 {
			add("section %q has no <item>", s.Name)
		}
		checkLevel("section "+strconv.Quote(s.Name)+" items", o, n, l)
	}

	// General information.
	gen, ok := items["reqGeneralInfo"]
	if !ok {
		add("section reqGeneralInfo is missing (required, sortOrder 0)")
		gen = map[string]ccFileItem{}
	} else if f.Sections[0].Name != "reqGeneralInfo" || f.Sections[0].SortOrder != "0" {
		add("section reqGeneralInfo must be the first, with sortOrder 0")
	}
	last := -1
	for i, name := range ccRequiredInOrder {
		it, ok := gen[name]
		if !ok {
			add("reqGeneralInfo: item %s is missing (required)", name)
			continue
		}
		if i < 2 && it.SortOrder != strconv.Itoa(i) {
			add("reqGeneralInfo: %s must have sortOrder %d", name, i)
		}
		if o := order["reqGeneralInfo/"+name]; o < last {
			add("reqGeneralInfo: %s must come after %s (required items in order: %s)", name, ccRequiredInOrder[i-1], strings.Join(ccRequiredInOrder, ", "))
		} else {
			last = o
		}
	}
	if v := gen["reqInternalName"].Value; v != "" && !ccInternalNameRE.MatchString(v) {
		add("reqInternalName %q: letters and digits, starting with a letter, at most 40", v)
	} else if v == "" {
		add("reqInternalName: give the call center an internal name")
	}
	if strings.TrimSpace(gen["reqDisplayName"].Value) == "" {
		add("reqDisplayName: give the call center a display name")
	}
	mode := gen["reqSalesforceCompatibilityMode"].Value
	lightning := mode == "Lightning" || mode == "Classic_and_Lightning"
	switch mode {
	case "Classic", "Lightning", "Classic_and_Lightning":
	case "":
		add("reqSalesforceCompatibilityMode: missing, so Salesforce assumes Classic and Lightning Experience shows no softphone; set Classic_and_Lightning")
	default:
		add("reqSalesforceCompatibilityMode %q: use Classic, Lightning or Classic_and_Lightning", mode)
	}
	checkURL := func(name, v string) {
		u, err := url.Parse(v)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "":
			add("%s %q: an absolute URL like https://cti.example.com/softphone/", name, v)
		case lightning && u.Scheme != "https":
			add("%s %q: Lightning Experience frames only https pages; set SWITCHBOARD_PUBLIC_URL to the https URL", name, v)
		}
	}
	if it, ok := gen["reqAdapterUrl"]; ok {
		checkURL("reqAdapterUrl", it.Value)
	}
	if it, ok := gen["reqUseApi"]; ok && it.Value != "true" {
		add("reqUseApi %q: Open CTI softphones need true", it.Value)
	}
	checkRange := func(name string, lo, hi int) {
		it, ok := gen[name]
		if !ok {
			return
		}
		n, err := strconv.Atoi(it.Value)
		switch {
		case err != nil || n <= 0:
			add("%s %q: a number of pixels", name, it.Value)
		case lightning && (n < lo || n > hi):
			add("%s %d: Lightning Experience takes %d to %d pixels", name, n, lo, hi)
		}
	}
	checkRange("reqSoftphoneHeight", 240, 2560)
	checkRange("reqSoftphoneWidth", 200, 1920)
	standby, hasStandby := gen["reqStandbyUrl"]
	timeout, hasTimeout := gen["reqTimeout"]
	switch {
	case hasStandby && !hasTimeout:
		add("reqStandbyUrl needs reqTimeout (milliseconds before the standby page shows)")
	case hasTimeout && !hasStandby:
		add("reqTimeout needs reqStandbyUrl (the page shown when the softphone does not start in time)")
	case hasStandby && hasTimeout:
		checkURL("reqStandbyUrl", standby.Value)
		if n, err := strconv.Atoi(timeout.Value); err != nil || n <= 0 {
			add("reqTimeout %q: a positive number of milliseconds", timeout.Value)
		}
	}

	// Dialing options.
	dial, ok := items["reqDialingOptions"]
	if !ok {
		add("section reqDialingOptions is missing (required: reqOutsidePrefix, reqLongDistPrefix, reqInternationalPrefix)")
	}
	for _, name := range ccReqItems["reqDialingOptions"] {
		it, present := dial[name]
		if ok && !present {
			add("reqDialingOptions: item %s is missing (required; leave its value empty if unused)", name)
		}
		if len(it.Value) > 8 || strings.Trim(it.Value, "0123456789*#") != "" {
			add("reqDialingOptions %s %q: up to 8 of 0-9 * # (as SWITCHBOARD_DIAL_*_PREFIX)", name, it.Value)
		}
	}

	// Switchboard's own options.
	sb, ok := items["switchboardOptions"]
	if !ok {
		add("section switchboardOptions is missing (Switchboard's own options)")
		return p
	}
	if it, ok := sb["apiVersion"]; !ok {
		add("switchboardOptions: item apiVersion is missing (the Open CTI API version, like 67.0)")
	} else if m := ccAPIVersionRE.FindStringSubmatch(it.Value); m == nil {
		add("switchboardOptions apiVersion %q: a version like 67.0", it.Value)
	} else if v, _ := strconv.Atoi(m[1]); lightning && v < 38 {
		add("switchboardOptions apiVersion %q: Lightning Open CTI needs 38.0 or later", it.Value)
	}
	if it, ok := sb["popAt"]; ok && it.Value != "ringing" && it.Value != "answered" {
		add("switchboardOptions popAt %q: ringing or answered", it.Value)
	}
	if it, ok := sb["popOrder"]; ok {
		if _, err := salesforce.ParsePopOrder(it.Value); err != nil {
			add("switchboardOptions popOrder %q: %v", it.Value, err)
		}
	}
	for _, name := range []string{"quickNotes", "wrapUpActions"} {
		for line := range strings.SplitSeq(sb[name].Value, "\n") {
			if len([]rune(line)) > 80 {
				add("switchboardOptions %s: line %q is longer than 80 characters", name, line)
			}
		}
	}
	return p
}
