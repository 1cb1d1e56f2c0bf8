package main

import (
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/phone"
)

func TestTheCallCenterDefinitionPassesEveryImportRule(t *testing.T) {
	for _, u := range []string{"https://switchboard.example.com", "https://cti.example.com:8443"} {
		if p := validateCallCenter(callCenterXML(u)); len(p) > 0 {
			t.Errorf("definition for %s:\n  %s", u, strings.Join(p, "\n  "))
		}
	}
	withDialing := callCenterXMLFor("https://cti.example.com", phone.Options{Outside: "9", LongDistance: "1", International: "011"})
	if p := validateCallCenter(withDialing); len(p) > 0 {
		t.Errorf("definition with dialing options:\n  %s", strings.Join(p, "\n  "))
	}
	if !strings.Contains(string(withDialing), `label="Outside Prefix">9</item>`) {
		t.Errorf("dialing options not in the definition:\n%s", withDialing)
	}
	b, err := os.ReadFile("../../callcenter-definition.xml")
	if err != nil {
		t.Fatal(err)
	}
	if p := validateCallCenter(b); len(p) > 0 {
		t.Errorf("callcenter-definition.xml:\n  %s", strings.Join(p, "\n  "))
	}
}

// Each rule, broken once in an otherwise valid definition.
func TestTheCallCenterValidatorCatchesEachBrokenRule(t *testing.T) {
	good := string(callCenterXML("https://cti.example.com"))
	item := func(name, value string) string { return `name="` + name + `"` + value }
	cases := []struct {
		name, from, to, want string
	}{
		{"not XML", "<callCenter>", "<callCenter", "not a call center definition"},
		{"a gap in section sortOrder", `<section sortOrder="2"`, `<section sortOrder="3"`, "without gaps; 2 is missing"},
		{"a repeated item sortOrder", `<item sortOrder="5" name="reqSoftphoneWidth"`, `<item sortOrder="4" name="reqSoftphoneWidth"`, "sortOrder 4 is used twice"},
		{"a negative sortOrder", `<item sortOrder="0" name="apiVersion"`, `<item sortOrder="-1" name="apiVersion"`, "non-negative integer"},
		{"reqGeneralInfo not first", `<section sortOrder="0" name="reqGeneralInfo"`, `<section sortOrder="0" name="reqGeneralInfo2"`, "reqGeneralInfo is missing"},
		{"reqInternalName not at 0", `<item sortOrder="0" name="reqInternalName" label="InternalName">Switchboard</item>
    <item sortOrder="1" name="reqDisplayName"`, `<item sortOrder="1" name="reqInternalName" label="InternalName">Switchboard</item>
    <item sortOrder="0" name="reqDisplayName"`, "reqInternalName must have sortOrder 0"},
		{"required items out of order", `<item sortOrder="2" name="reqAdapterUrl"`, `<item sortOrder="7" name="reqAdapterUrl"`, "reqUseApi must come after reqAdapterUrl"},
		{"a required item missing", `name="reqUseApi" label="Use CTI API">true</item>`, `name="useApi" label="Use CTI API">true</item>`, "reqUseApi is missing"},
		{"a reserved req name", `name="popAt"`, `name="reqPopAt"`, "reserved for Salesforce's required items"},
		{"a reserved word as a name", `name="popAt"`, `name="label"`, `name "label" is reserved`},
		{"a name with punctuation", `name="popAt"`, `name="pop-at"`, "letters and digits only"},
		{"a name used twice", `name="popAt"`, `name="apiVersion"`, `"apiVersion" is used twice`},
		{"an internal name starting with a digit", ">Switchboard</item>\n    <item sortOrder=\"1\"", ">9Switchboard</item>\n    <item sortOrder=\"1\"", "starting with a letter"},
		{"a height too small for Lightning", item("reqSoftphoneHeight", ` label="Softphone Height">560`), item("reqSoftphoneHeight", ` label="Softphone Height">200`), "240 to 2560"},
		{"a width too large for Lightning", item("reqSoftphoneWidth", ` label="Softphone Width">300`), item("reqSoftphoneWidth", ` label="Softphone Width">2000`), "200 to 1920"},
		{"a height that is not a number", item("reqSoftphoneHeight", ` label="Softphone Height">560`), item("reqSoftphoneHeight", ` label="Softphone Height">tall`), "a number of pixels"},
		{"an unknown compatibility mode", ">Classic_and_Lightning<", ">Lightning_Only<", "use Classic, Lightning or Classic_and_Lightning"},
		{"no compatibility mode", ">Classic_and_Lightning<", "><", "assumes Classic"},
		{"an http adapter URL", "https://cti.example.com/softphone/", "http://cti.example.com/softphone/", "only https"},
		{"a relative adapter URL", "https://cti.example.com/softphone/", "/softphone/", "absolute URL"},
		{"Use CTI API off", ">true</item>", ">false</item>", "need true"},
		{"a standby URL without a timeout", `Classic_and_Lightning</item>`, `Classic_and_Lightning</item>
    <item sortOrder="7" name="reqStandbyUrl" label="Standby URL">https://cti.example.com/standby</item>`, "reqStandbyUrl needs reqTimeout"},
		{"a timeout without a standby URL", `Classic_and_Lightning</item>`, `Classic_and_Lightning</item>
    <item sortOrder="7" name="reqTimeout" label="Timeout">5000</item>`, "reqTimeout needs reqStandbyUrl"},
		{"a timeout that is not milliseconds", `Classic_and_Lightning</item>`, `Classic_and_Lightning</item>
    <item sortOrder="7" name="reqStandbyUrl" label="Standby URL">https://cti.example.com/standby</item>
    <item sortOrder="8" name="reqTimeout" label="Timeout">soon</item>`, "positive number of milliseconds"},
		{"no dialing options", `name="reqDialingOptions"`, `name="dialingOptions"`, "reqDialingOptions is missing"},
		{"a dialing option missing", `name="reqLongDistPrefix"`, `name="longDistPrefix"`, "reqLongDistPrefix is missing"},
		{"a prefix with letters", `label="Outside Prefix"></item>`, `label="Outside Prefix">nine</item>`, "up to 8 of 0-9 * #"},
		{"no Switchboard options", `name="switchboardOptions"`, `name="otherOptions"`, "switchboardOptions is missing"},
		{"an old API version", ">67.0<", ">37.0<", "38.0 or later"},
		{"a bad pop moment", ">ringing<", ">whenever<", "ringing or answered"},
		{"a bad pop order", ">ani,dnis,digits,new_contact<", ">ani,email<", "popOrder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.from) {
				t.Fatalf("test setup: %q not in the definition", tc.from)
			}
			bad := strings.Replace(good, tc.from, tc.to, 1)
			p := validateCallCenter([]byte(bad))
			if !strings.Contains(strings.Join(p, "\n"), tc.want) {
				t.Errorf("problems %q, want one containing %q", p, tc.want)
			}
		})
	}
}

const metadataDir = "../../salesforce-metadata"

// The Metadata API form carries the same call center as the import form.
func TestTheMetadataFormIsTheSameCallCenter(t *testing.T) {
	const base = "https://switchboard.example.com"
	files := map[string][]byte{
		metadataDir + "/callCenters/" + ccInternalName + ".callCenter": callCenterMetadata(base),
		metadataDir + "/package.xml":                                   []byte(ccPackageXML),
	}
	for path, want := range files {
		if *update {
			if err := os.MkdirAll(path[:strings.LastIndex(path, "/")], 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s differs from the template (%v); regenerate with: go test ./cmd/switchboard -run TestTheMetadataFormIsTheSameCallCenter -update", path, err)
		}
	}
	var md struct {
		XMLName     xml.Name `xml:"http://soap.sforce.com/2006/04/metadata CallCenter"`
		AdapterURL  string   `xml:"adapterUrl"`
		DisplayName string   `xml:"displayName"`
		Sections    []struct {
			Name  string `xml:"name"`
			Label string `xml:"label"`
			Items []struct {
				Name  string `xml:"name"`
				Label string `xml:"label"`
				Value string `xml:"value"`
			} `xml:"items"`
		} `xml:"sections"`
	}
	if err := xml.Unmarshal(callCenterMetadata(base), &md); err != nil {
		t.Fatalf("metadata form: %v", err)
	}
	var f ccFile
	if err := xml.Unmarshal(callCenterXML(base), &f); err != nil {
		t.Fatal(err)
	}
	type kv struct{ Section, Name, Label, Value string }
	var want, got []kv
	for _, s := range f.Sections {
		want = append(want, kv{s.Name, "", s.Label, ""})
		for _, it := range s.Items {
			switch it.Name {
			case "reqInternalName":
				got = append(got, kv{s.Name, it.Name, it.Label, ccInternalName}) // the file name
			case "reqDisplayName":
				got = append(got, kv{s.Name, it.Name, it.Label, md.DisplayName})
			case "reqAdapterUrl":
				got = append(got, kv{s.Name, "adapterUrl", it.Label, md.AdapterURL})
			}
			want = append(want, kv{s.Name, it.Name, it.Label, it.Value})
		}
	}
	for _, s := range md.Sections {
		got = append(got, kv{s.Name, "", s.Label, ""})
		for _, it := range s.Items {
			got = append(got, kv{s.Name, it.Name, it.Label, it.Value})
		}
	}
	// adapterUrl appears both as the field and as the reqAdapterUrl item.
	want = append(want, kv{"reqGeneralInfo", "adapterUrl", "CTI Adapter URL", base + "/softphone/"})
	sortKV := func(v []kv) {
		for i := range v {
			for j := i + 1; j < len(v); j++ {
				if v[j].Section+v[j].Name < v[i].Section+v[i].Name {
					v[i], v[j] = v[j], v[i]
				}
			}
		}
	}
	sortKV(want)
	sortKV(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metadata form vs import form (-import +metadata):\n%s", diff)
	}
}
