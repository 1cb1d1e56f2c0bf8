package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/phone"
)

// Config is every setting of the service. Each comes from a flag or from
// the environment variable SWITCHBOARD_<NAME> (flags win); secrets may also
// come from a file named by SWITCHBOARD_<NAME>_FILE.
type Config struct {
	Addr      string
	PublicURL string
	LogLevel  string
	LogFormat string

	// RedisURL names one server, a Redis Cluster or Sentinel
	// (redisstore.ParseURL); RedisPassword, when set, is the data nodes'
	// password.
	RedisURL      string
	RedisPassword string
	RedisPrefix   string

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
	SFUserACDField string

	SessionKeys string
	SessionTTL  time.Duration
	TokenTTL    time.Duration

	FrameAncestors string

	AdminToken   string
	OutboxLinger time.Duration

	PBX      string
	AMI      AMIConfig // SWITCHBOARD_PBX=asterisk (pbx.go)
	LeaseTTL time.Duration
	// SimExtensions is how many extra regular extensions (100000 up) the
	// simulator has, for load tests (cmd/switchboard-load).
	SimExtensions int
	simExtensions string

	// The Flow API (/api/flow/v1): Named Credential JWTs and OAuth clients.
	FlowJWTIssuer      string
	FlowJWTAudience    string
	FlowJWTCert        string // PEM certificate or public key
	FlowJWTScopes      string
	FlowJWTMaxLifetime time.Duration
	FlowClients        string
	FlowTokenTTL       time.Duration
	FlowRateLimit      string

	// Region is the default region of national numbers (dialing and
	// Salesforce lookups).
	Region string
	// The call center's dialing options (reqDialingOptions), applied to
	// outgoing external calls.
	DialOutsidePrefix       string
	DialLongDistancePrefix  string
	DialInternationalPrefix string

	// SimAPIToken, when set outside demo mode, mounts the simulator's
	// control API (/sim/v1) behind "Authorization: Bearer <token>"; it is
	// also the token sent to a shared simulator (SimURL).
	SimAPIToken string
	// SimURL, when set, is a simulator running as its own process
	// (`switchboard sim`) that every instance shares, instead of the
	// embedded one (pbx/simremote).
	SimURL string

	// Demo is set when no Salesforce setting at all is given: the demo
	// org, demo users, the demo page and the simulator's control API.
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
	return append([]setting{
		{name: "addr", usage: "listen address", str: &c.Addr, def: ":8080"},
		{name: "public-url", usage: "public base URL of this deployment (https in production; used in the call center definition and OAuth redirect); default http://localhost<addr>", str: &c.PublicURL},
		{name: "log-level", usage: "debug, info, warn or error", str: &c.LogLevel, def: "info"},
		{name: "log-format", usage: "json or console", str: &c.LogFormat, def: "json"},
		{name: "redis-url", usage: "Redis URL: one server redis://[user:password@]host:6379/0 (rediss:// for TLS), a Redis Cluster redis+cluster://host:7000,host:7001,host:7002, or Sentinel redis+sentinel://host:26379,host:26380/0?master_name=mymaster; empty runs an embedded in-memory Redis (demo only: state is lost on exit)", str: &c.RedisURL, secret: true},
		{name: "redis-password", usage: "password of the Redis data nodes, replacing the URL's (use _FILE)", str: &c.RedisPassword, secret: true},
		{name: "redis-prefix", usage: "prefix of every Redis key (no braces: keys carry Redis Cluster hash tags after it)", str: &c.RedisPrefix, def: "sb:"},
		{name: "sf-login-url", usage: "Salesforce login URL: https://login.salesforce.com, https://test.salesforce.com or your My Domain; empty runs the demo org", str: &c.SFLoginURL},
		{name: "sf-client-id", usage: "connected app consumer key", str: &c.SFClientID},
		{name: "sf-client-secret", usage: "connected app consumer secret, if the app requires one for the web-server flow", str: &c.SFClientSecret, secret: true},
		{name: "sf-username", usage: "integration user for lookups and Task writes (JWT bearer flow)", str: &c.SFUsername},
		{name: "sf-audience", usage: "JWT audience; default the login URL's (login.salesforce.com or test.salesforce.com)", str: &c.SFAudience},
		{name: "sf-private-key", usage: "PEM RSA private key of the connected app's certificate (use _FILE)", str: &c.SFPrivateKey, secret: true},
		{name: "sf-api-version", usage: "REST API version", str: &c.SFAPIVersion, def: "67.0"},
		{name: "sf-write-as", usage: "who creates Tasks: integration (the integration user, OwnerId = agent) or agent (JWT as the agent)", str: &c.SFWriteAs, def: "integration"},
		{name: "region", usage: "default region of phone numbers written without country code, for dialing and Salesforce lookups (ISO 3166 code: US, GB, DE, ...)", str: &c.Region, def: "US"},
		{name: "sf-region", usage: "former name of region (used when region is not set)", str: &c.SFRegion},
		{name: "dial-outside-prefix", usage: "dialing option Outside Prefix: dialled before every external number to get an outside line (e.g. 9); never before internal extensions", str: &c.DialOutsidePrefix},
		{name: "dial-long-distance-prefix", usage: "dialing option Long Distance Prefix: dialled before a national number with area code (e.g. 1 in North America, 0 in the UK)", str: &c.DialLongDistancePrefix},
		{name: "dial-international-prefix", usage: "dialing option International Prefix: dialled before the country code of a number abroad (e.g. 011, 00); empty uses the region's own when another option is set", str: &c.DialInternationalPrefix},
		{name: "sf-pop-order", usage: "admin default Pop-Up Order: comma-separated of ani,dnis,digits,new_contact (agents may reorder theirs)", str: &c.SFPopOrder, def: "ani,dnis,digits,new_contact"},
		{name: "sf-user-extension-field", usage: "User field holding the agent's extension", str: &c.SFUserExtField, def: "Extension"},
		{name: "sf-user-acd-agent-field", usage: "User field holding the one ACD agent id the user may log in with (make it read-only to agents; - for none: ACD login refused)", str: &c.SFUserACDField, def: "EmployeeNumber"},
		{name: "sf-campaign-dnis-field", usage: "Campaign field holding the DNIS that pops it", str: &c.SFCampaignDNIS},
		{name: "sf-case-digits-field", usage: "Case field matched against collected digits", str: &c.SFCaseDigits, def: "CaseNumber"},
		{name: "session-keys", usage: "HMAC keys for agent session tokens, comma-separated id:secret, the first signs (rotate by prepending); random in demo mode", str: &c.SessionKeys, secret: true},
		{name: "session-ttl", usage: "how long an agent stays signed in without activity", dur: &c.SessionTTL, def: "12h"},
		{name: "token-ttl", usage: "lifetime of one session token (refreshed by the softphone)", dur: &c.TokenTTL, def: "15m"},
		{name: "frame-ancestors", usage: "who may frame the softphone (CSP frame-ancestors); default Salesforce's domains, none in demo mode", str: &c.FrameAncestors},
		{name: "lease-ttl", usage: "how long an instance owns a device's events without renewing (renewed every second, all devices in one Redis round trip); an instance that dies is replaced after it, one that stops cleanly within a second", dur: &c.LeaseTTL, def: "5s"},
		{name: "outbox-linger", usage: "how long new call logs gather before they are sent to Salesforce together (one request per up to 200); 0 sends each at once", dur: &c.OutboxLinger, def: "2s"},
		{name: "admin-token", usage: "bearer token of the admin API (/admin/v1/: dead-letter call logs); empty turns the admin API off", str: &c.AdminToken, secret: true},
		{name: "pbx", usage: "phone system driver: sim (the embedded simulator) or asterisk (Asterisk over AMI; see the ami-* settings)", str: &c.PBX, def: "sim"},
		{name: "flow-jwt-issuer", usage: "Flow API: the iss claim of the JWTs the Salesforce Named Credential mints", str: &c.FlowJWTIssuer},
		{name: "flow-jwt-audience", usage: "Flow API: the aud claim those JWTs must carry; default the public URL", str: &c.FlowJWTAudience},
		{name: "flow-jwt-cert", usage: "Flow API: PEM certificate (or public key) the Named Credential signs with (use _FILE)", str: &c.FlowJWTCert, secret: true},
		{name: "flow-jwt-scopes", usage: "Flow API: scopes granted to the Named Credential, space-separated; default all (calls.read calls.write presence.read presence.write codes.read tasks.write)", str: &c.FlowJWTScopes},
		{name: "flow-jwt-max-lifetime", usage: "Flow API: longest JWT lifetime (exp - iat) accepted", dur: &c.FlowJWTMaxLifetime, def: "5m"},
		{name: "flow-clients", usage: "Flow API: OAuth client-credentials clients, comma-separated id:secret[:scopes] (secret >= 32 characters); a demo client in demo mode", str: &c.FlowClients, secret: true},
		{name: "flow-token-ttl", usage: "Flow API: lifetime of access tokens from /api/flow/v1/oauth/token", dur: &c.FlowTokenTTL, def: "10m"},
		{name: "flow-rate-limit", usage: "Flow API: requests per minute per client", str: &c.FlowRateLimit, def: "120"},
		{name: "sim-api-token", usage: "outside demo mode, serve the simulator's control API (/sim/v1) to callers sending Authorization: Bearer <token> (at least 32 characters); unset, /sim/v1 exists only in demo mode", str: &c.SimAPIToken, secret: true},
		{name: "sim-url", usage: "SWITCHBOARD_PBX=sim: the URL of a simulator running as its own process (switchboard sim), shared by every instance (http://host:7070); empty runs the simulator inside this instance (one instance only)", str: &c.SimURL},
		{name: "sim-extensions", usage: "extra regular extensions 100000, 100001, ... in the simulator, for load tests (switchboard-load); 0 to 100000", str: &c.simExtensions, def: "0"},
	}, c.amiSettings()...)
}

// Dialing returns the call center's dialing options.
func (c *Config) Dialing() phone.Options {
	return phone.Options{Outside: c.DialOutsidePrefix, LongDistance: c.DialLongDistancePrefix, International: c.DialInternationalPrefix}
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
		fmt.Fprintf(out, "Usage: switchboard [flags]\n       switchboard doctor [flags]   check the configuration and say what to fix\n       switchboard sim [flags]      run the PBX simulator as its own process, shared by several instances\n\nSwitchboard: Salesforce Open CTI adapter. With no Salesforce setting at all it runs in demo mode\n(demo org, simulated PBX, embedded Redis, demo page on the listen address); never expose demo mode.\n\nFlags (each also from the environment):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unknown command %q (flags start with -): %w", clipArg(fs.Arg(0)), errUsage)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	regionSet := set["region"] || getenv(envName("region")) != ""
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
				if s.name == "sf-private-key" || s.name == "flow-jwt-cert" {
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
	// Demo mode only when no Salesforce setting at all is given: a partial
	// set is an error naming what is missing, never a silent demo.
	c.Demo = true
	for _, v := range c.salesforceSettings() {
		if v.value != "" {
			c.Demo = false
		}
	}
	if !regionSet && c.SFRegion != "" {
		c.Region = c.SFRegion
	}
	if r, ok := phone.Region(c.Region); ok {
		c.Region = r
	}
	c.SFRegion = c.Region
	return c, c.validate()
}

func (c *Config) validate() error {
	var problems []string
	if c.PBX != "sim" && c.PBX != "asterisk" {
		problems = append(problems, fmt.Sprintf("SWITCHBOARD_PBX: %q is not a known driver (use sim or asterisk)", c.PBX))
	}
	problems = append(problems, c.validateAMI()...)
	if c.LogFormat != "json" && c.LogFormat != "console" {
		problems = append(problems, "SWITCHBOARD_LOG_FORMAT: use json or console")
	}
	if c.SFWriteAs != "integration" && c.SFWriteAs != "agent" {
		problems = append(problems, "SWITCHBOARD_SF_WRITE_AS: use integration or agent")
	}
	if n, err := strconv.Atoi(c.simExtensions); err != nil || n < 0 || n > 100000 {
		problems = append(problems, fmt.Sprintf("SWITCHBOARD_SIM_EXTENSIONS: %q is not a number from 0 to 100000", c.simExtensions))
	} else {
		c.SimExtensions = n
	}
	if _, ok := phone.Region(c.Region); !ok {
		problems = append(problems, fmt.Sprintf("SWITCHBOARD_REGION: %q is not a region (use an ISO 3166 code like US, GB or DE)", c.Region))
	}
	if err := c.Dialing().Validate(); err != nil {
		problems = append(problems, "SWITCHBOARD_DIAL_*_PREFIX: "+strings.TrimSuffix(err.Error(), ": "+phone.ErrInvalid.Error()))
	}
	if c.LeaseTTL < time.Second {
		problems = append(problems, "SWITCHBOARD_LEASE_TTL: at least 1s")
	}
	if c.SessionTTL < time.Minute || c.TokenTTL < 30*time.Second || c.TokenTTL > c.SessionTTL {
		problems = append(problems, "SWITCHBOARD_SESSION_TTL / SWITCHBOARD_TOKEN_TTL: token TTL at least 30s and at most the session TTL")
	}
	if !c.Demo {
		var given []string
		for _, v := range c.salesforceSettings() {
			if v.value != "" {
				given = append(given, v.name)
			}
		}
		for _, req := range []struct{ v, name string }{
			{c.SFLoginURL, "SWITCHBOARD_SF_LOGIN_URL"}, {c.SFClientID, "SWITCHBOARD_SF_CLIENT_ID"},
			{c.SFUsername, "SWITCHBOARD_SF_USERNAME"}, {c.SFPrivateKey, "SWITCHBOARD_SF_PRIVATE_KEY_FILE"},
			{c.SessionKeys, "SWITCHBOARD_SESSION_KEYS"}, {c.PublicURL, "SWITCHBOARD_PUBLIC_URL"},
			{c.RedisURL, "SWITCHBOARD_REDIS_URL"},
		} {
			if req.v == "" {
				problems = append(problems, fmt.Sprintf("%s: required outside demo mode (Salesforce settings given: %s; give none of them for demo mode)", req.name, strings.Join(given, ", ")))
			}
		}
		if c.SFLoginURL != "" {
			if msg := httpsURLProblem(c.SFLoginURL); msg != "" {
				problems = append(problems, "SWITCHBOARD_SF_LOGIN_URL: "+msg+" (e.g. https://login.salesforce.com, https://test.salesforce.com or https://<my-domain>.my.salesforce.com)")
			}
		}
		if c.SFAudience != "" && httpsURLProblem(c.SFAudience) != "" {
			problems = append(problems, "SWITCHBOARD_SF_AUDIENCE: "+httpsURLProblem(c.SFAudience))
		}
	}
	if c.SimURL != "" {
		if c.PBX != "sim" {
			problems = append(problems, "SWITCHBOARD_SIM_URL: only with SWITCHBOARD_PBX=sim (unset it for "+c.PBX+")")
		}
		if u, err := url.Parse(c.SimURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			problems = append(problems, fmt.Sprintf("SWITCHBOARD_SIM_URL: %q is not the simulator's base URL, like http://127.0.0.1:7070", c.SimURL))
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < 32 {
		problems = append(problems, "SWITCHBOARD_ADMIN_TOKEN: at least 32 characters (e.g. openssl rand -hex 32), or unset to turn the admin API off")
	}
	if c.OutboxLinger < 0 {
		problems = append(problems, fmt.Sprintf("SWITCHBOARD_OUTBOX_LINGER: %v is negative; 0 sends each call log at once, e.g. 2s gathers them", c.OutboxLinger))
	}
	if c.FlowTokenTTL <= 0 {
		problems = append(problems, fmt.Sprintf("SWITCHBOARD_FLOW_TOKEN_TTL: %v; give the Flow API access tokens' lifetime, e.g. 10m", c.FlowTokenTTL))
	}
	if c.SimAPIToken != "" && len(c.SimAPIToken) < 32 {
		problems = append(problems, "SWITCHBOARD_SIM_API_TOKEN: at least 32 characters (e.g. openssl rand -hex 32)")
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		problems = append(problems, "SWITCHBOARD_PUBLIC_URL: must start with https:// (or http:// for local use)")
	}
	problems = append(problems, c.flowProblems()...)
	if c.RedisURL != "" {
		if _, err := redisstore.ParseURL(c.RedisURL, c.RedisPassword); err != nil {
			problems = append(problems, "SWITCHBOARD_REDIS_URL: "+err.Error()+"; use redis://[user:password@]host:6379/0 (rediss:// for TLS), redis+cluster://host:7000,host:7001 or redis+sentinel://host:26379/0?master_name=mymaster")
		}
	}
	if strings.ContainsAny(c.RedisPrefix, "{}") {
		problems = append(problems, fmt.Sprintf("SWITCHBOARD_REDIS_PREFIX: %q has a brace; keys carry Redis Cluster hash tags ({dev:1001}) after the prefix, so it may not (e.g. sb:)", c.RedisPrefix))
	}
	if len(problems) > 0 {
		return fmt.Errorf("configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

type namedValue struct{ name, value string }

// salesforceSettings are the settings that leave demo mode when any is
// given.
func (c *Config) salesforceSettings() []namedValue {
	return []namedValue{
		{"SWITCHBOARD_SF_LOGIN_URL", c.SFLoginURL}, {"SWITCHBOARD_SF_CLIENT_ID", c.SFClientID},
		{"SWITCHBOARD_SF_CLIENT_SECRET", c.SFClientSecret}, {"SWITCHBOARD_SF_USERNAME", c.SFUsername},
		{"SWITCHBOARD_SF_AUDIENCE", c.SFAudience}, {"SWITCHBOARD_SF_PRIVATE_KEY_FILE", c.SFPrivateKey},
	}
}

// httpsURLProblem says what is wrong with a URL that must be an https
// origin, or "" when nothing is.
func httpsURLProblem(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL", raw)
	case u.Scheme != "https":
		return fmt.Sprintf("%q must start with https:// (Salesforce is only reached over TLS)", raw)
	case u.Host == "":
		return fmt.Sprintf("%q has no host name", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
		return fmt.Sprintf("%q must be only https://host (no path, query or user)", raw)
	}
	return ""
}
