package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/asterisk"
)

func TestAsteriskSettings(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "ami")
	os.WriteFile(secret, []byte("ctisecret\n"), 0o600)
	env := map[string]string{
		"SWITCHBOARD_PBX":                         "asterisk",
		"SWITCHBOARD_AMI_ADDR":                    "pbx.example:5038",
		"SWITCHBOARD_AMI_USER":                    "cti",
		"SWITCHBOARD_AMI_SECRET_FILE":             secret,
		"SWITCHBOARD_AMI_EXTENSIONS":              "1001, 1002=desk-2, 2001=agent-1/acd, 3001/hotdesk",
		"SWITCHBOARD_AMI_WORK_TIME":               "45s",
		"SWITCHBOARD_AMI_REASONS":                 "lunch:Lunch,meeting",
		"SWITCHBOARD_AMI_ACCOUNTS":                "p-100:Project 100",
		"SWITCHBOARD_AMI_CLASSIFICATIONS":         "sale:Sale,support:Support",
		"SWITCHBOARD_AMI_CLASSIFICATION_REQUIRED": "on",
		"SWITCHBOARD_AMI_HOLD_CONTEXT":            "switchboard",
	}
	c, err := loadConfig(nil, func(k string) string { return env[k] }, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if c.AMI.Secret != "ctisecret" || c.AMI.Auth != "md5" || c.AMI.Context != "internal" || c.AMI.TLS != "off" || c.AMI.WorkTime != 45*time.Second {
		t.Errorf("AMI = %+v", c.AMI)
	}
	exts, _ := parseExtensions(c.AMI.Extensions)
	want := []asterisk.Extension{{Number: "1001", Kind: pbx.KindRegular}, {Number: "1002", Endpoint: "desk-2", Kind: pbx.KindRegular}, {Number: "2001", Endpoint: "agent-1", Kind: pbx.KindACD},
		{Number: "3001", Kind: pbx.KindHotDesk}}
	if diff := cmp.Diff(want, exts); diff != "" {
		t.Errorf("extensions (-want +got):\n%s", diff)
	}
	reasons, _ := parseCodes(c.AMI.Reasons)
	if diff := cmp.Diff([]pbx.Code{{Code: "lunch", Label: "Lunch"}, {Code: "meeting", Label: "meeting"}}, reasons); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	accounts, _ := parseCodes(c.AMI.Accounts)
	classes, _ := parseCodes(c.AMI.Classifications)
	if diff := cmp.Diff([][]pbx.Code{{{Code: "p-100", Label: "Project 100"}}, {{Code: "sale", Label: "Sale"}, {Code: "support", Label: "Support"}}},
		[][]pbx.Code{accounts, classes}); diff != "" || c.AMI.ClassificationRequired != "on" {
		t.Errorf("accounts and classifications (-want +got):\n%s; required %q", diff, c.AMI.ClassificationRequired)
	}
}

func TestAsteriskSettingsSayWhatToFix(t *testing.T) {
	env := map[string]string{"SWITCHBOARD_PBX": "asterisk", "SWITCHBOARD_AMI_ADDR": "nohost", "SWITCHBOARD_AMI_EXTENSIONS": "1001,=x", "SWITCHBOARD_AMI_TLS": "maybe",
		"SWITCHBOARD_AMI_WORK_TIME": "-5s", "SWITCHBOARD_AMI_RECALL_TIME": "-1s", "SWITCHBOARD_AMI_ACCOUNTS": ":nocode", "SWITCHBOARD_AMI_CLASSIFICATIONS": "sale,:x",
		"SWITCHBOARD_AMI_CLASSIFICATION_REQUIRED": "yes"}
	_, err := loadConfig(nil, func(k string) string { return env[k] }, &strings.Builder{})
	if err == nil {
		t.Fatal("bad Asterisk settings accepted")
	}
	for _, want := range []string{"SWITCHBOARD_AMI_ADDR", "SWITCHBOARD_AMI_USER", "SWITCHBOARD_AMI_EXTENSIONS", "SWITCHBOARD_AMI_TLS", "SWITCHBOARD_AMI_WORK_TIME", "SWITCHBOARD_AMI_RECALL_TIME",
		"SWITCHBOARD_AMI_ACCOUNTS", "SWITCHBOARD_AMI_CLASSIFICATIONS", "SWITCHBOARD_AMI_CLASSIFICATION_REQUIRED: use on or off"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	env = map[string]string{"SWITCHBOARD_PBX": "asterisk", "SWITCHBOARD_AMI_ADDR": "pbx:5038", "SWITCHBOARD_AMI_USER": "cti", "SWITCHBOARD_AMI_SECRET": "s",
		"SWITCHBOARD_AMI_EXTENSIONS": "1001", "SWITCHBOARD_AMI_CLASSIFICATION_REQUIRED": "on"}
	if _, err := loadConfig(nil, func(k string) string { return env[k] }, &strings.Builder{}); err == nil ||
		!strings.Contains(err.Error(), "needs SWITCHBOARD_AMI_CLASSIFICATIONS and a SWITCHBOARD_AMI_WORK_TIME") {
		t.Errorf("classification required without codes or work time: %v", err)
	}
	env = map[string]string{"SWITCHBOARD_PBX": "avaya"}
	if _, err := loadConfig(nil, func(k string) string { return env[k] }, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "sim or asterisk") {
		t.Errorf("unknown driver: %v", err)
	}
}

func TestAsteriskListsWithDuplicatesOrBadNamesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name, key, val string
		want           string
	}{
		{"an extension listed twice", "SWITCHBOARD_AMI_EXTENSIONS", "1001,1001=desk-2", "extension 1001 is listed twice"},
		{"two extensions on one endpoint", "SWITCHBOARD_AMI_EXTENSIONS", "1001=desk,1002=desk", `extensions 1001 and 1002 both use endpoint "desk"`},
		{"an extension on another extension's default endpoint", "SWITCHBOARD_AMI_EXTENSIONS", "1001,1002=1001", `both use endpoint "1001"`},
		{"an extension that is not a dial string", "SWITCHBOARD_AMI_EXTENSIONS", "10;01", `extension "10;01" is not a number Asterisk can dial`},
		{"an extension with letters", "SWITCHBOARD_AMI_EXTENSIONS", "desk1", `extension "desk1" is not a number Asterisk can dial`},
		{"an endpoint that is not a PJSIP id", "SWITCHBOARD_AMI_EXTENSIONS", "1001=desk;1", `endpoint "desk;1" (of extension 1001) is not a PJSIP endpoint id`},
		{"an extension with * and no endpoint", "SWITCHBOARD_AMI_EXTENSIONS", "*99", "extension *99 has no endpoint and is not a PJSIP endpoint id itself: name its endpoint (*99=endpoint"},
		{"an empty endpoint", "SWITCHBOARD_AMI_EXTENSIONS", "1001=", `endpoint "" (of extension 1001)`},
		{"two = in one entry", "SWITCHBOARD_AMI_EXTENSIONS", "1001=a=b", `"1001=a=b" is not ext[=endpoint]`},
		{"a reason listed twice", "SWITCHBOARD_AMI_REASONS", "lunch:Lunch,lunch:Other", `code "lunch" is listed twice`},
		{"an account listed twice", "SWITCHBOARD_AMI_ACCOUNTS", "p-100,p-100:Project", `code "p-100" is listed twice`},
		{"a classification listed twice", "SWITCHBOARD_AMI_CLASSIFICATIONS", "sale:Sale, sale :Sale again", `code "sale" is listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SWITCHBOARD_PBX": "asterisk", "SWITCHBOARD_AMI_ADDR": "pbx:5038", "SWITCHBOARD_AMI_USER": "cti", "SWITCHBOARD_AMI_SECRET": "s",
				"SWITCHBOARD_AMI_EXTENSIONS": "1001"}
			env[tc.key] = tc.val
			_, err := loadConfig(nil, func(k string) string { return env[k] }, &strings.Builder{})
			if err == nil || !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s=%q: got %v, want %s: ...%s...", tc.key, tc.val, err, tc.key, tc.want)
			}
		})
	}
	t.Run("extensions with *, # and a leading + and endpoints with - _ . are accepted", func(t *testing.T) {
		exts, err := parseExtensions("+4930=trunk-desk,*99=voicemail.1,1#2=a.b_c-d")
		if err != nil || len(exts) != 3 {
			t.Errorf("got %v, %v", exts, err)
		}
	})
}

func TestTheDemoAdvertisesSimV1OnlyWhenTheSimulatorRuns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the AMI link stays down, Start serves anyway
	a := startApp(t, map[string]string{"SWITCHBOARD_PBX": "asterisk", "SWITCHBOARD_AMI_ADDR": addr, "SWITCHBOARD_AMI_USER": "cti",
		"SWITCHBOARD_AMI_SECRET": "s", "SWITCHBOARD_AMI_EXTENSIONS": "1001"})
	logs := a.logs.String()
	if !strings.Contains(logs, "DEMO MODE") || strings.Contains(logs, "/sim/v1") {
		t.Errorf("with Asterisk the demo warning should not advertise /sim/v1:\n%s", logs)
	}
	if st := a.do(t, "POST", "/sim/v1/calls", "", map[string]string{"from": "+14155550123", "to": "1001"}, nil); st != http.StatusNotFound {
		t.Errorf("POST /sim/v1/calls = %d, want 404 (not served with Asterisk)", st)
	}

	sim := startApp(t, nil)
	if logs := sim.logs.String(); !strings.Contains(logs, "DEMO MODE") || !strings.Contains(logs, "simulator control API (/sim/v1)") {
		t.Errorf("with the simulator the demo warning should advertise /sim/v1:\n%s", logs)
	}
}
