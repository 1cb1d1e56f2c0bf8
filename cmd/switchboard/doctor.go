package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// `switchboard doctor` checks a deployment's configuration and prints what
// is wrong and how to fix it: the settings, the public URL, Redis (reachable
// and persistent), the PBX link, the Salesforce JWT login, the call center
// definition and the CSP frame-ancestors. It exits non-zero when a check
// fails. It takes the same flags and SWITCHBOARD_* variables as the
// service.

// check is one line of the report.
type check struct {
	name   string
	ok     bool
	warn   bool // passes, with a note worth reading
	detail string
	fix    string
}

// doctorTimeout bounds each network check.
const doctorTimeout = 5 * time.Second

func doctor(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	return doctorWith(ctx, args, getenv, out, salesforce.NewHTTPClient())
}

// doctorWith is doctor with the HTTP client that reaches Salesforce (a
// test's fake org serves TLS with its own certificate).
func doctorWith(ctx context.Context, args []string, getenv func(string) string, out io.Writer, hc *http.Client) error {
	cfg, err := loadConfig(args, getenv, out)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	var checks []check
	if err != nil {
		if cfg == (Config{}) { // flags did not parse
			return err
		}
		for line := range strings.SplitSeq(strings.TrimPrefix(err.Error(), "configuration:\n"), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				name, fix, _ := strings.Cut(line, ": ")
				checks = append(checks, check{name: "setting " + name, detail: "invalid or missing", fix: fix})
			}
		}
	} else {
		checks = append(checks, check{name: "settings", ok: true, detail: "every setting is valid"})
	}
	public := strings.TrimSuffix(cfg.PublicURL, "/")
	if public == "" {
		public = defaultPublicURL(cfg.Addr, configAddr(cfg.Addr))
	}
	checks = append(checks, checkPublicURL(cfg, public))
	checks = append(checks, checkRedis(ctx, cfg)...)
	checks = append(checks, checkPBX(ctx, cfg))
	sfCheck, instanceURL := checkSalesforce(ctx, cfg, hc)
	checks = append(checks, sfCheck)
	checks = append(checks, checkCallCenter(cfg, public))
	checks = append(checks, checkFrameAncestors(cfg, instanceURL))
	checks = append(checks, checkFlowAPI(cfg, public))

	mode := ""
	if cfg.Demo {
		mode = " (demo mode)"
	}
	fmt.Fprintf(out, "Switchboard doctor%s\n\n", mode)
	failed := 0
	for _, c := range checks {
		status := "ok  "
		switch {
		case !c.ok:
			status = "FAIL"
			failed++
		case c.warn:
			status = "note"
		}
		fmt.Fprintf(out, "  %s  %-26s %s\n", status, c.name, c.detail)
		if c.fix != "" {
			fmt.Fprintf(out, "        %-26s fix: %s\n", "", c.fix)
		}
	}
	fmt.Fprintln(out)
	if failed > 0 {
		fmt.Fprintf(out, "%d problem(s) found.\n", failed)
		return fmt.Errorf("doctor: %d problem(s) found", failed)
	}
	fmt.Fprintln(out, "No problems found.")
	return nil
}

func checkPublicURL(cfg Config, public string) check {
	c := check{name: "public URL"}
	if cfg.Demo && cfg.PublicURL == "" {
		c.ok, c.detail = true, public+" (demo mode; Salesforce needs an https URL in production)"
		return c
	}
	u, err := url.Parse(public)
	switch {
	case err != nil || u.Host == "":
		c.detail, c.fix = fmt.Sprintf("%q is not a URL", public), "set SWITCHBOARD_PUBLIC_URL to the https URL users reach Switchboard at, like https://cti.example.com"
	case u.Scheme != "https":
		c.detail, c.fix = public+" is not https: Lightning Experience frames only https pages",
			"serve Switchboard behind TLS and set SWITCHBOARD_PUBLIC_URL=https://..."
	case isLocalHost(u.Hostname()):
		c.detail, c.fix = public+" is a local address that Salesforce users cannot reach", "set SWITCHBOARD_PUBLIC_URL to the deployment's public host name"
	case u.Path != "" && u.Path != "/" || u.RawQuery != "":
		c.detail, c.fix = public+" has a path or query", "set SWITCHBOARD_PUBLIC_URL to the base URL only, like https://cti.example.com"
	default:
		c.ok, c.detail = true, public
	}
	return c
}

func isLocalHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified())
}

func checkRedis(ctx context.Context, cfg Config) []check {
	if cfg.RedisURL == "" {
		c := check{name: "Redis", detail: "embedded in-memory Redis: every call log waiting in the outbox and every session is lost on exit"}
		if cfg.Demo {
			c.ok, c.detail = true, "embedded in-memory Redis (demo mode; production needs SWITCHBOARD_REDIS_URL)"
		} else {
			c.fix = "set SWITCHBOARD_REDIS_URL=redis://host:6379/0"
		}
		return []check{c}
	}
	e, err := redisstore.ParseURL(cfg.RedisURL, cfg.RedisPassword)
	if err != nil {
		return []check{{name: "Redis", detail: "SWITCHBOARD_REDIS_URL does not parse: " + err.Error(), fix: "use redis://[user:password@]host:6379/0 (rediss:// for TLS), redis+cluster://host:7000,host:7001 or redis+sentinel://host:26379/0?master_name=mymaster"}}
	}
	switch e.Topology {
	case redisstore.Cluster:
		e.Cluster.MaxRetries, e.Cluster.DialTimeout = 0, doctorTimeout
	case redisstore.Sentinel:
		e.Sentinel.MaxRetries, e.Sentinel.DialTimeout = 0, doctorTimeout
	default:
		e.Server.MaxRetries, e.Server.DialTimeout = 0, doctorTimeout
	}
	rdb := e.Client()
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	defer cancel()
	where := redactURL(cfg.RedisURL)
	if err := rdb.Ping(ctx).Err(); err != nil {
		return []check{{name: "Redis reachable", detail: where + ": " + err.Error(),
			fix: "start Redis or correct SWITCHBOARD_REDIS_URL (host, port, password, rediss:// for TLS); check firewalls"}}
	}
	out := []check{{name: "Redis reachable", ok: true, detail: where}}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		// Each master keeps its own slots' keys: the least persistent
		// one is what the outbox can count on.
		var mu sync.Mutex
		var worst check
		masters := 0
		rank := func(c check) int { // fail 0, warn 1, ok 2
			switch {
			case !c.ok:
				return 0
			case c.warn:
				return 1
			}
			return 2
		}
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			c := persistenceCheck(ctx, node)
			c.detail = node.Options().Addr + ": " + c.detail
			mu.Lock()
			masters++
			if worst.name == "" || rank(c) < rank(worst) {
				worst = c
			}
			mu.Unlock()
			return nil
		})
		if err != nil {
			return append(out, check{name: "Redis persistent", ok: true, warn: true, detail: "the cluster's masters could not be listed (" + err.Error() + ")",
				fix: "make sure every master keeps data on disk (appendonly yes): the Task outbox lives there"})
		}
		if rank(worst) == 2 {
			worst.detail = fmt.Sprintf("all %d masters: append-only file on", masters)
		}
		return append(out, worst)
	}
	return append(out, persistenceCheck(ctx, rdb))
}

// persistenceCheck says whether one Redis server keeps data on disk.
func persistenceCheck(ctx context.Context, rdb redis.Cmdable) check {
	info, err := rdb.Info(ctx, "persistence").Result()
	if err != nil {
		return check{name: "Redis persistent", ok: true, warn: true, detail: "INFO persistence is not allowed here (" + err.Error() + ")",
			fix: "make sure the Redis service keeps data on disk (appendonly yes): the Task outbox lives there"}
	}
	if strings.Contains(info, "aof_enabled:1") {
		return check{name: "Redis persistent", ok: true, detail: "append-only file on"}
	}
	save := ""
	if v, err := rdb.ConfigGet(ctx, "save").Result(); err == nil {
		save = strings.TrimSpace(v["save"])
	}
	if save != "" {
		return check{name: "Redis persistent", ok: true, warn: true, detail: "RDB snapshots only (save " + save + "): call logs queued since the last snapshot are lost in a crash",
			fix: "set appendonly yes (appendfsync everysec) in redis.conf"}
	}
	return check{name: "Redis persistent", detail: "Redis keeps nothing on disk: a restart loses the Task outbox (call logs not yet in Salesforce) and every session",
		fix: "set appendonly yes in redis.conf (or CONFIG SET appendonly yes, then CONFIG REWRITE)"}
}

func checkPBX(ctx context.Context, cfg Config) check {
	c := check{name: "PBX link"}
	switch {
	case cfg.PBX == "sim" && cfg.SimURL != "":
		return checkSharedSim(ctx, cfg)
	case cfg.PBX == "sim":
		sw, err := sim.New(sim.DemoConfig(), sim.RealClock())
		if err == nil {
			err = sw.Ping(ctx)
		}
		switch {
		case err != nil:
			c.detail, c.fix = "simulator: "+err.Error(), "report this as a bug"
		case cfg.Demo:
			c.ok, c.detail = true, "embedded PBX simulator (demo mode)"
		default:
			c.ok, c.warn, c.detail = true, true, "SWITCHBOARD_PBX=sim: the embedded simulator, no real phones ring"
			c.fix = "set SWITCHBOARD_PBX to your phone system's driver"
		}
	case cfg.PBX == "asterisk":
		return checkAsterisk(ctx, cfg)
	default:
		c.detail, c.fix = fmt.Sprintf("SWITCHBOARD_PBX=%q is not a known driver", cfg.PBX), "use sim or asterisk"
	}
	return c
}

// checkSalesforce logs in with the JWT bearer flow as the integration user
// and makes one REST call; it returns the org's instance URL on success.
func checkSalesforce(ctx context.Context, cfg Config, hc *http.Client) (check, string) {
	c := check{name: "Salesforce JWT login"}
	if cfg.Demo {
		c.ok, c.detail = true, "the embedded demo org (demo mode)"
		return c, ""
	}
	if cfg.SFLoginURL == "" || cfg.SFClientID == "" || cfg.SFUsername == "" || cfg.SFPrivateKey == "" {
		c.detail, c.fix = "not configured", "set SWITCHBOARD_SF_LOGIN_URL, SWITCHBOARD_SF_CLIENT_ID, SWITCHBOARD_SF_USERNAME and SWITCHBOARD_SF_PRIVATE_KEY_FILE"
		return c, ""
	}
	key, err := salesforce.LoadPrivateKey([]byte(cfg.SFPrivateKey))
	if err != nil {
		c.detail, c.fix = "SWITCHBOARD_SF_PRIVATE_KEY_FILE: "+err.Error(), "give the PEM RSA private key whose certificate is uploaded to the connected app"
		return c, ""
	}
	ctx, cancel := context.WithTimeout(ctx, 2*doctorTimeout)
	defer cancel()
	src := salesforce.NewJWTSource(salesforce.JWTConfig{LoginURL: cfg.SFLoginURL, ClientID: cfg.SFClientID, Username: cfg.SFUsername, Audience: cfg.SFAudience, Key: key, HTTPClient: hc})
	tok, err := src.Token(ctx)
	if err != nil {
		c.detail, c.fix = err.Error(), jwtFix(err)
		return c, ""
	}
	client := salesforce.NewClient(salesforce.Config{APIVersion: cfg.SFAPIVersion, HTTPClient: hc, Tokens: src, UserExtensionField: cfg.SFUserExtField})
	if err := client.Ping(ctx); err != nil {
		c.detail = "logged in to " + tok.InstanceURL + " but the REST API refused: " + err.Error()
		c.fix = "give the integration user the API Enabled permission; check SWITCHBOARD_SF_API_VERSION"
		return c, tok.InstanceURL
	}
	c.ok, c.detail = true, cfg.SFUsername+" at "+tok.InstanceURL
	return c, tok.InstanceURL
}

// jwtFix says what to change for a refused JWT bearer login (the OAuth
// error descriptions Salesforce answers with).
func jwtFix(err error) string {
	m := strings.ToLower(err.Error())
	switch {
	case strings.Contains(m, "approved"):
		return "pre-authorize the integration user: connected app > Manage > Edit Policies > Permitted Users: Admin approved users are pre-authorized, then add the user's profile or a permission set"
	case strings.Contains(m, "audience"):
		return "set SWITCHBOARD_SF_AUDIENCE: https://login.salesforce.com for production, https://test.salesforce.com for a sandbox"
	case strings.Contains(m, "invalid_client"):
		return "set SWITCHBOARD_SF_CLIENT_ID to the connected app's Consumer Key (and wait up to 10 minutes after creating the app)"
	case strings.Contains(m, "user"):
		return "set SWITCHBOARD_SF_USERNAME to an active user's username (a sandbox appends .sandboxname)"
	case strings.Contains(m, "invalid assertion"), strings.Contains(m, "signature"), strings.Contains(m, "invalid_grant"):
		return "upload the certificate of SWITCHBOARD_SF_PRIVATE_KEY_FILE to the connected app (Use digital signatures), and check the server clock"
	case strings.Contains(m, "no such host"), strings.Contains(m, "connection refused"), strings.Contains(m, "timeout"):
		return "check SWITCHBOARD_SF_LOGIN_URL and that this host can reach Salesforce over https"
	}
	return "check the connected app (OAuth enabled, Use digital signatures, the certificate) and the SWITCHBOARD_SF_* settings"
}

func checkCallCenter(cfg Config, public string) check {
	c := check{name: "call center definition"}
	render := public
	if cfg.Demo && strings.HasPrefix(public, "http://") {
		// Demo mode serves plain http; check the rules as they apply
		// once it is behind https.
		render = "https://" + strings.TrimPrefix(public, "http://")
	}
	problems := validateCallCenter(callCenterXMLFor(render, cfg.Dialing()))
	if len(problems) == 0 {
		c.ok, c.detail = true, "valid; import "+public+"/callcenter-definition.xml in Setup > Call Centers"
		if render != public {
			c.detail = "valid once served over https (demo mode serves http)"
		}
		return c
	}
	c.detail = strings.Join(problems, "; ")
	c.fix = "set SWITCHBOARD_PUBLIC_URL to the https base URL (the definition points the softphone at it)"
	return c
}

// orgFrameOrigins are the origins that frame the softphone for an org
// whose My Domain host is given (acme.my.salesforce.com or
// acme--dev.sandbox.my.salesforce.com): Lightning, Classic, Visualforce and
// Setup pages.
func orgFrameOrigins(host string) []string {
	name, sandbox := "", false
	switch {
	case strings.HasSuffix(host, ".sandbox.my.salesforce.com"):
		name, sandbox = strings.TrimSuffix(host, ".sandbox.my.salesforce.com"), true
	case strings.HasSuffix(host, ".my.salesforce.com"):
		name = strings.TrimSuffix(host, ".my.salesforce.com")
	default:
		return nil
	}
	if sandbox {
		return []string{"https://" + name + ".sandbox.lightning.force.com", "https://" + host,
			"https://" + name + "--c.sandbox.vf.force.com", "https://" + name + ".sandbox.my.salesforce-setup.com"}
	}
	return []string{"https://" + name + ".lightning.force.com", "https://" + host,
		"https://" + name + "--c.vf.force.com", "https://" + name + ".my.salesforce-setup.com"}
}

// cspAllows reports whether a CSP source list lets origin frame the page
// (scheme-host sources with an optional leading *. wildcard; CSP Level 3).
func cspAllows(sources, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	for _, src := range strings.Fields(sources) {
		if src == "*" {
			return true
		}
		scheme, host, ok := strings.Cut(src, "://")
		if !ok {
			scheme, host = "", src
		}
		if scheme != "" && scheme != u.Scheme || scheme == "" && u.Scheme != "https" && u.Scheme != "http" {
			continue
		}
		host = strings.TrimSuffix(host, "/")
		if strings.HasPrefix(host, "*.") {
			if strings.HasSuffix(u.Host, host[1:]) {
				return true
			}
		} else if host == u.Host {
			return true
		}
	}
	return false
}

func checkFrameAncestors(cfg Config, instanceURL string) check {
	c := check{name: "CSP frame-ancestors"}
	fa := frameAncestors(cfg)
	if cfg.Demo && fa == "" {
		c.ok, c.detail = true, "not set (demo mode: any page may frame the softphone)"
		return c
	}
	if strings.Contains(" "+fa+" ", " * ") || strings.Contains(fa, "'none'") {
		c.detail = "frame-ancestors " + fa + ": * lets any site frame the softphone, 'none' lets no one"
		c.fix = "leave SWITCHBOARD_FRAME_ANCESTORS empty (Salesforce's domains) or list your org's domains"
		return c
	}
	host := ""
	for _, u := range []string{instanceURL, cfg.SFLoginURL} {
		if pu, err := url.Parse(u); err == nil && orgFrameOrigins(pu.Host) != nil {
			host = pu.Host
			break
		}
	}
	if host == "" {
		for _, o := range []string{"https://x.lightning.force.com", "https://x.my.salesforce.com"} {
			if !cspAllows(fa, o) {
				c.detail = "frame-ancestors " + fa + " does not cover " + o
				c.fix = "leave SWITCHBOARD_FRAME_ANCESTORS empty, or include https://*.force.com https://*.salesforce.com"
				return c
			}
		}
		c.ok, c.warn, c.detail = true, true, "covers Salesforce's domains; the org's My Domain is not known (neither the login nor the instance URL is a My Domain), so its hosts were not checked one by one"
		return c
	}
	var missing []string
	for _, o := range orgFrameOrigins(host) {
		if !cspAllows(fa, o) {
			missing = append(missing, o)
		}
	}
	if len(missing) > 0 {
		c.detail = "frame-ancestors " + fa + " does not cover " + strings.Join(missing, ", ") + ": the softphone panel stays blank there"
		c.fix = "add them to SWITCHBOARD_FRAME_ANCESTORS, or leave it empty for Salesforce's domains"
		return c
	}
	c.ok, c.detail = true, "covers "+host+" (Lightning, Classic, Visualforce, Setup)"
	return c
}

// checkFlowAPI says how Flows authenticate, and warns about a Named
// Credential certificate that is about to expire.
func checkFlowAPI(cfg Config, public string) check {
	c := check{name: "Flow API"}
	auth, err := flowAuth(cfg, public)
	if err != nil {
		c.detail, c.fix = err.Error(), "see docs/admin.md, section Flows"
		return c
	}
	var ways []string
	if nc := auth.NamedCredential; nc != nil {
		ways = append(ways, fmt.Sprintf("Named Credential JWTs (iss %q, aud %q)", nc.Issuer, nc.Audience))
		if blk, _ := pem.Decode([]byte(cfg.FlowJWTCert)); blk != nil && blk.Type == "CERTIFICATE" {
			if cert, err := x509.ParseCertificate(blk.Bytes); err == nil {
				if left := time.Until(cert.NotAfter); left < 30*24*time.Hour {
					c.detail = fmt.Sprintf("the Named Credential's certificate expires %s", cert.NotAfter.Format(time.DateOnly))
					c.fix = "create a new certificate in Setup > Certificate and Key Management, use it in the External Credential, and set SWITCHBOARD_FLOW_JWT_CERT_FILE to it"
					if left > 0 {
						c.ok, c.warn = true, true
					}
					return c
				}
			}
		}
	}
	if n := len(auth.Clients); n > 0 {
		if cfg.Demo && cfg.FlowClients == "" {
			ways = append(ways, "the demo client "+demoFlowClientID)
		} else {
			ways = append(ways, fmt.Sprintf("%d OAuth client(s)", n))
		}
	}
	if len(ways) == 0 {
		c.ok, c.warn = true, true
		c.detail = "no clients: Flows cannot call /api/flow/v1"
		c.fix = "to use Flows, set SWITCHBOARD_FLOW_JWT_ISSUER and SWITCHBOARD_FLOW_JWT_CERT_FILE, or SWITCHBOARD_FLOW_CLIENTS (docs/admin.md)"
		return c
	}
	c.ok, c.detail = true, strings.Join(ways, " and ")+"; External Service schema at "+public+"/api/flow/v1/openapi.json"
	return c
}
