package main

import (
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
		"SWITCHBOARD_AMI_WORK_TIME": "-5s", "SWITCHBOARD_AMI_ACCOUNTS": ":nocode", "SWITCHBOARD_AMI_CLASSIFICATIONS": "sale,:x",
		"SWITCHBOARD_AMI_CLASSIFICATION_REQUIRED": "yes"}
	_, err := loadConfig(nil, func(k string) string { return env[k] }, &strings.Builder{})
	if err == nil {
		t.Fatal("bad Asterisk settings accepted")
	}
	for _, want := range []string{"SWITCHBOARD_AMI_ADDR", "SWITCHBOARD_AMI_USER", "SWITCHBOARD_AMI_EXTENSIONS", "SWITCHBOARD_AMI_TLS", "SWITCHBOARD_AMI_WORK_TIME",
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
