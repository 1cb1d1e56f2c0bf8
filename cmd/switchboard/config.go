package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Config is every setting of the service. Each comes from a flag or from
// the environment variable SWITCHBOARD_<NAME> (flags win); secrets may also
// come from a file named by SWITCHBOARD_<NAME>_FILE.
type Config struct {
	Addr      string
	PublicURL string
	LogLevel  string
	LogFormat string

	RedisURL    string
	RedisPrefix string

	SFLoginURL     string
	SFClientID     string
	SFClientSecret string
	SFUsername     string
	SFAudience     string
	SFPrivateKey   string // PEM
	SFAPIVersion   string
	SFWriteAs      string
	SFRegion       string
	SFPopOrder     string
	SFCampaignDNIS string
	SFCaseDigits   string
	SFUserExtField string

	SessionKeys string
	SessionTTL  time.Duration
	TokenTTL    time.Duration

	FrameAncestors string

	AdminToken string

	PBX      string
	LeaseTTL time.Duration

	// Demo is set when no Salesforce settings are given: the demo org,
	// demo users and the demo page.
	Demo bool
}

type setting struct {
	name, usage string
	secret      bool
	str         *string
	dur         *time.Duration
	def         string
}

func (c *Config) settings() []setting {
	return []setting{
		{name: "addr", usage: "listen address", str: &c.Addr, def: ":8080"},
		{name: "public-url", usage: "public base URL of this deployment (https in production; used in the call center definition and OAuth redirect); default http://localhost<addr>", str: &c.PublicURL},
		{name: "log-level", usage: "debug, info, warn or error", str: &c.LogLevel, def: "info"},
		{name: "log-format", usage: "json or console", str: &c.LogFormat, def: "json"},
		{name: "redis-url", usage: "Redis URL (redis://host:6379/0); empty runs an embedded in-memory Redis (demo only: state is lost on exit)", str: &c.RedisURL},
		{name: "redis-prefix", usage: "prefix of every Redis key", str: &c.RedisPrefix, def: "sb:"},
		{name: "sf-login-url", usage: "Salesforce login URL: https://login.salesforce.com, https://test.salesforce.com or your My Domain; empty runs the demo org", str: &c.SFLoginURL},
		{name: "sf-client-id", usage: "connected app consumer key", str: &c.SFClientID},
		{name: "sf-client-secret", usage: "connected app consumer secret, if the app requires one for the web-server flow", str: &c.SFClientSecret, secret: true},
		{name: "sf-username", usage: "integration user for lookups and Task writes (JWT bearer flow)", str: &c.SFUsername},
		{name: "sf-audience", usage: "JWT audience; default the login URL's (login.salesforce.com or test.salesforce.com)", str: &c.SFAudience},
		{name: "sf-private-key", usage: "PEM RSA private key of the connected app's certificate (use _FILE)", str: &c.SFPrivateKey, secret: true},
		{name: "sf-api-version", usage: "REST API version", str: &c.SFAPIVersion, def: "67.0"},
		{name: "sf-write-as", usage: "who creates Tasks: integration (the integration user, OwnerId = agent) or agent (JWT as the agent)", str: &c.SFWriteAs, def: "integration"},
		{name: "sf-region", usage: "default phone region for numbers without country code (ISO 3166)", str: &c.SFRegion, def: "US"},
		{name: "sf-pop-order", usage: "admin default Pop-Up Order: comma-separated of ani,dnis,digits,new_contact (agents may reorder theirs)", str: &c.SFPopOrder, def: "ani,dnis,digits,new_contact"},
		{name: "sf-user-extension-field", usage: "User field holding the agent's extension", str: &c.SFUserExtField, def: "Extension"},
		{name: "sf-campaign-dnis-field", usage: "Campaign field holding the DNIS that pops it", str: &c.SFCampaignDNIS},
		{name: "sf-case-digits-field", usage: "Case field matched against collected digits", str: &c.SFCaseDigits, def: "CaseNumber"},
		{name: "session-keys", usage: "HMAC keys for agent session tokens, comma-separated id:secret, the first signs (rotate by prepending); random in demo mode", str: &c.SessionKeys, secret: true},
		{name: "session-ttl", usage: "how long an agent stays signed in without activity", dur: &c.SessionTTL, def: "12h"},
		{name: "token-ttl", usage: "lifetime of one session token (refreshed by the softphone)", dur: &c.TokenTTL, def: "15m"},
		{name: "frame-ancestors", usage: "who may frame the softphone (CSP frame-ancestors); default Salesforce's domains, none in demo mode", str: &c.FrameAncestors},
		{name: "lease-ttl", usage: "how long an instance owns a device's events without renewing; another instance takes over after it", dur: &c.LeaseTTL, def: "15s"},
		{name: "admin-token", usage: "bearer token of the admin API (/admin/v1/: dead-letter call logs); empty turns the admin API off", str: &c.AdminToken, secret: true},
		{name: "pbx", usage: "phone system driver: sim (the embedded simulator)", str: &c.PBX, def: "sim"},
	}
}

func envName(flagName string) string {
	return "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// loadConfig reads flags, then the environment for what flags left unset.
func loadConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	fs.SetOutput(out)
	ss := c.settings()
	for _, s := range ss {
		u := fmt.Sprintf("%s (env %s", s.usage, envName(s.name))
		if s.secret {
			u += ", or " + envName(s.name) + "_FILE"
		}
		u += ")"
		if s.str != nil {
			fs.StringVar(s.str, s.name, s.def, u)
		} else {
			d, _ := time.ParseDuration(s.def)
			fs.DurationVar(s.dur, s.name, d, u)
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: switchboard [flags]\n\nSwitchboard: Salesforce Open CTI adapter. With no Salesforce settings it runs in demo mode\n(demo org, simulated PBX, embedded Redis, demo page on the listen address).\n\nFlags (each also from the environment):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range ss {
		if set[s.name] {
			continue
		}
		v := getenv(envName(s.name))
		if v == "" && s.secret {
			if path := getenv(envName(s.name) + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					return Config{}, fmt.Errorf("%s_FILE: %w", envName(s.name), err)
				}
				v = strings.TrimSpace(string(b))
				if s.name == "sf-private-key" {
					v = string(b)
				}
			}
		}
		if v == "" {
			continue
		}
		if s.str != nil {
			*s.str = v
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %q is not a duration like 12h or 90s", envName(s.name), v)
		}
		*s.dur = d
	}
	c.Demo = c.SFLoginURL == "" && c.SFClientID == "" && c.SFUsername == ""
	return c, c.validate()
}

func (c *Config) validate() error {
	var problems []string
	if c.PBX != "sim" {
		problems = append(problems, fmt.Sprintf("SWITCHBOARD_PBX: %q is not a known driver (use sim)", c.PBX))
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		problems = append(problems, "SWITCHBOARD_LOG_FORMAT: use json or console")
	}
	if c.SFWriteAs != "integration" && c.SFWriteAs != "agent" {
		problems = append(problems, "SWITCHBOARD_SF_WRITE_AS: use integration or agent")
	}
	if c.LeaseTTL < time.Second {
		problems = append(problems, "SWITCHBOARD_LEASE_TTL: at least 1s")
	}
	if c.SessionTTL < time.Minute || c.TokenTTL < 30*time.Second || c.TokenTTL > c.SessionTTL {
		problems = append(problems, "SWITCHBOARD_SESSION_TTL / SWITCHBOARD_TOKEN_TTL: token TTL at least 30s and at most the session TTL")
	}
	if !c.Demo {
		for _, req := range []struct{ v, name string }{
			{c.SFLoginURL, "SWITCHBOARD_SF_LOGIN_URL"}, {c.SFClientID, "SWITCHBOARD_SF_CLIENT_ID"},
			{c.SFUsername, "SWITCHBOARD_SF_USERNAME"}, {c.SFPrivateKey, "SWITCHBOARD_SF_PRIVATE_KEY_FILE"},
			{c.SessionKeys, "SWITCHBOARD_SESSION_KEYS"}, {c.PublicURL, "SWITCHBOARD_PUBLIC_URL"},
			{c.RedisURL, "SWITCHBOARD_REDIS_URL"},
		} {
			if req.v == "" {
				problems = append(problems, req.name+": required outside demo mode")
			}
		}
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		problems = append(problems, "SWITCHBOARD_PUBLIC_URL: must start with https:// (or http:// for local use)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
