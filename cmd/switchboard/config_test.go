package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHelpListsEverySettingWithItsEnvironmentVariable(t *testing.T) {
	var out strings.Builder
	_, err := loadConfig([]string{"--help"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	var c Config
	for _, s := range c.settings() {
		if !strings.Contains(out.String(), "-"+s.name) || !strings.Contains(out.String(), envName(s.name)) {
			t.Errorf("--help does not list %s (%s)", s.name, envName(s.name))
		}
		if s.def != "" && !strings.Contains(out.String(), s.def) {
			t.Errorf("--help does not show the default of %s (%s)", s.name, s.def)
		}
	}
}

func TestConfigComesFromFlagsEnvironmentAndFiles(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	os.WriteFile(keyFile, []byte("k1:0123456789abcdef0123456789abcdef\n"), 0o600)
	env := map[string]string{
		"SWITCHBOARD_ADDR":              ":9000",
		"SWITCHBOARD_SESSION_KEYS_FILE": keyFile,
		"SWITCHBOARD_TOKEN_TTL":         "10m",
	}
	c, err := loadConfig([]string{"-addr", ":9100"}, func(k string) string { return env[k] }, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9100" {
		t.Errorf("Addr = %q: the flag wins over the environment", c.Addr)
	}
	if c.SessionKeys != "k1:0123456789abcdef0123456789abcdef" {
		t.Errorf("SessionKeys from _FILE = %q", c.SessionKeys)
	}
	if c.TokenTTL != 10*time.Minute || !c.Demo {
		t.Errorf("TokenTTL %v Demo %v", c.TokenTTL, c.Demo)
	}
}

func TestBadConfigSaysWhatToSet(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"a half Salesforce setup", map[string]string{"SWITCHBOARD_SF_LOGIN_URL": "https://login.salesforce.com"},
			[]string{"SWITCHBOARD_SF_CLIENT_ID", "SWITCHBOARD_SF_USERNAME", "SWITCHBOARD_SF_PRIVATE_KEY_FILE", "SWITCHBOARD_SESSION_KEYS", "SWITCHBOARD_PUBLIC_URL", "SWITCHBOARD_REDIS_URL"}},
		{"an unknown PBX driver", map[string]string{"SWITCHBOARD_PBX": "pots"}, []string{"SWITCHBOARD_PBX"}},
		{"a duration that is not one", map[string]string{"SWITCHBOARD_SESSION_TTL": "forever"}, []string{"SWITCHBOARD_SESSION_TTL"}},
		{"a public URL without scheme", map[string]string{"SWITCHBOARD_PUBLIC_URL": "cti.example.com"}, []string{"https://"}},
		{"a missing secret file", map[string]string{"SWITCHBOARD_SF_PRIVATE_KEY_FILE": "/nonexistent/key.pem"}, []string{"SWITCHBOARD_SF_PRIVATE_KEY_FILE"}},
		{"a region that is not one", map[string]string{"SWITCHBOARD_REGION": "Britain"}, []string{"SWITCHBOARD_REGION", "ISO 3166"}},
		{"a dialing prefix with letters", map[string]string{"SWITCHBOARD_DIAL_OUTSIDE_PREFIX": "nine"}, []string{"SWITCHBOARD_DIAL_*_PREFIX", "outside prefix"}},
		{"a Redis URL of no known form", map[string]string{"SWITCHBOARD_REDIS_URL": "memcached://cache:11211"}, []string{"SWITCHBOARD_REDIS_URL", "redis+cluster://"}},
		{"a Sentinel URL without the master's name", map[string]string{"SWITCHBOARD_REDIS_URL": "redis+sentinel://s1:26379,s2:26379"}, []string{"SWITCHBOARD_REDIS_URL", "master_name"}},
		{"a short admin token", map[string]string{"SWITCHBOARD_ADMIN_TOKEN": "short"}, []string{"SWITCHBOARD_ADMIN_TOKEN", "at least 32 characters"}},
		{"a negative outbox linger", map[string]string{"SWITCHBOARD_OUTBOX_LINGER": "-1s"}, []string{"SWITCHBOARD_OUTBOX_LINGER", "negative"}},
		{"a Flow token lifetime of 0", map[string]string{"SWITCHBOARD_FLOW_TOKEN_TTL": "0"}, []string{"SWITCHBOARD_FLOW_TOKEN_TTL", "10m"}},
		{"a negative Flow token lifetime", map[string]string{"SWITCHBOARD_FLOW_TOKEN_TTL": "-5m"}, []string{"SWITCHBOARD_FLOW_TOKEN_TTL"}},
		{"a Salesforce login URL with a path", map[string]string{"SWITCHBOARD_SF_LOGIN_URL": "https://login.salesforce.com/services/oauth2/token"}, []string{"SWITCHBOARD_SF_LOGIN_URL", "only https://host"}},
		{"a Redis port out of range", map[string]string{"SWITCHBOARD_REDIS_URL": "redis://127.0.0.1:99999/0"}, []string{"SWITCHBOARD_REDIS_URL", "not 1 to 65535"}},
		{"a Redis prefix with a brace", map[string]string{"SWITCHBOARD_REDIS_PREFIX": "{sb}:"}, []string{"SWITCHBOARD_REDIS_PREFIX", "hash tags"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(nil, func(k string) string { return tc.env[k] }, &strings.Builder{})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestTheRegionDefaultsToUSAndTheFormerSettingIsStillRead(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set: US, as before", nil, "US"},
		{"SWITCHBOARD_REGION", map[string]string{"SWITCHBOARD_REGION": "gb"}, "GB"},
		{"the former SWITCHBOARD_SF_REGION", map[string]string{"SWITCHBOARD_SF_REGION": "DE"}, "DE"},
		{"the new name wins", map[string]string{"SWITCHBOARD_REGION": "FR", "SWITCHBOARD_SF_REGION": "DE"}, "FR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(nil, func(k string) string { return tc.env[k] }, &strings.Builder{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Region != tc.want || c.SFRegion != tc.want {
				t.Errorf("Region %q SFRegion %q, want %q", c.Region, c.SFRegion, tc.want)
			}
		})
	}
}

func TestRedisSettingsTakeAClusterURLAndAPasswordFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "redis-password")
	os.WriteFile(file, []byte("s3cret\n"), 0o600)
	env := map[string]string{
		"SWITCHBOARD_REDIS_URL":           "redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000",
		"SWITCHBOARD_REDIS_PASSWORD_FILE": file,
	}
	c, err := loadConfig(nil, func(k string) string { return env[k] }, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RedisPassword != "s3cret" {
		t.Errorf("RedisPassword from _FILE = %q", c.RedisPassword)
	}
	for _, tc := range []struct{ in, want string }{
		{"redis://:pw@h:6379/0", "redis://***@h:6379/0"},
		{"redis+sentinel://s1:26379/0?master_name=m&password=pw&dial_timeout=1s", "redis+sentinel://s1:26379/0?master_name=m&password=***&dial_timeout=1s"},
		{"redis+cluster://u:pw@a:1,b:2", "redis+cluster://***@a:1,b:2"},
	} {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
