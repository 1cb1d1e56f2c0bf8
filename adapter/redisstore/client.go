package redisstore

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Topology is how Switchboard reaches Redis: one server, a Redis Cluster,
// or a master found through Sentinel.
type Topology string

// The topologies a Redis URL can name (by its scheme).
const (
	Server   Topology = "server"
	Cluster  Topology = "cluster"
	Sentinel Topology = "sentinel"
)

// Endpoint is a parsed Redis URL: the topology and go-redis's options for
// it (exactly one of Server, Cluster, Sentinel is set).
type Endpoint struct {
	Topology Topology
	Server   *redis.Options
	Cluster  *redis.ClusterOptions
	Sentinel *redis.FailoverOptions
}

// ParseURL reads a Redis URL. The scheme names the topology:
//
//	redis://[user:password@]host:6379/0        one server (redis.ParseURL);
//	rediss://...                               the same over TLS;
//	unix:///run/redis.sock?db=0                one server on a Unix socket;
//	redis+cluster://[user:password@]host:7000,host:7001,host:7002
//	                                           Redis Cluster (redis.ParseClusterURL;
//	                                           rediss+cluster:// for TLS): the seed
//	                                           nodes, comma-separated or as
//	                                           ?addr=host:port parameters;
//	redis+sentinel://[user:password@]host:26379,host:26380/0?master_name=mymaster
//	                                           the master named master_name, found
//	                                           through these Sentinels
//	                                           (redis.ParseFailoverURL; rediss+sentinel://
//	                                           for TLS): user:password are the
//	                                           Sentinels' own, the data nodes' go
//	                                           in ?password= (or the password argument).
//
// Every other query parameter is go-redis's own (dial_timeout, pool_size,
// ...; go-redis refuses unknown ones). password, when not empty, is the
// data nodes' password and replaces the URL's (SWITCHBOARD_REDIS_PASSWORD).
// The error names the part of the URL that is wrong; it never repeats a
// password.
func ParseURL(raw, password string) (Endpoint, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Endpoint{}, fmt.Errorf("redis URL: no scheme: use redis://, rediss://, unix://, redis+cluster:// or redis+sentinel://")
	}
	base, topo, _ := strings.Cut(scheme, "+")
	if base != "redis" && base != "rediss" && !(base == "unix" && topo == "") {
		return Endpoint{}, fmt.Errorf("redis URL: scheme %q: use redis://, rediss://, unix://, redis+cluster:// or redis+sentinel://", scheme)
	}
	var e Endpoint
	var err error
	switch topo {
	case "":
		e.Topology = Server
		e.Server, err = redis.ParseURL(raw)
		if err == nil && password != "" {
			e.Server.Password = password
		}
	case "cluster":
		e.Topology = Cluster
		var u string
		if u, err = spreadHosts(base, rest); err == nil {
			e.Cluster, err = redis.ParseClusterURL(u)
		}
		if err == nil && password != "" {
			e.Cluster.Password = password
		}
	case "sentinel":
		e.Topology = Sentinel
		var u string
		if u, err = spreadHosts(base, rest); err == nil {
			e.Sentinel, err = redis.ParseFailoverURL(u)
		}
		if err == nil && password != "" {
			e.Sentinel.Password = password
		}
		if err == nil && e.Sentinel.MasterName == "" {
			err = fmt.Errorf("no master_name parameter (e.g. ?master_name=mymaster)")
		}
	default:
		return Endpoint{}, fmt.Errorf("redis URL: scheme %q: use redis+cluster:// or redis+sentinel://", scheme)
	}
	if err == nil {
		err = checkPorts(e)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("redis URL (%s): %s", e.Topology, scrub(err.Error(), raw))
	}
	return e, nil
}

// checkPorts refuses a TCP address whose port is not 1 to 65535: go-redis
// takes redis://host:99999 and fails only when it dials.
func checkPorts(e Endpoint) error {
	var addrs []string
	switch {
	case e.Server != nil && e.Server.Network != "unix":
		addrs = []string{e.Server.Addr}
	case e.Cluster != nil:
		addrs = e.Cluster.Addrs
	case e.Sentinel != nil:
		addrs = e.Sentinel.SentinelAddrs
	}
	for _, a := range addrs {
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			return fmt.Errorf("address %q: %v", a, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("address %q: port %q is not 1 to 65535", a, port)
		}
	}
	return nil
}

// scrub keeps a URL's password out of an error message.
func scrub(msg, raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "***")
		}
	}
	return msg
}

// spreadHosts turns "user@h1:1,h2:2/0?x=y" into "<base>://user@h1:1/0?x=y&addr=h2:2",
// the form go-redis's cluster and failover URL parsers take.
func spreadHosts(base, rest string) (string, error) {
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	user := ""
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		user, authority = authority[:at+1], authority[at+1:]
	}
	hosts := strings.Split(authority, ",")
	for _, h := range hosts {
		if strings.TrimSpace(h) == "" {
			return "", fmt.Errorf("empty host in %q", authority)
		}
	}
	u := base + "://" + user + hosts[0] + tail
	if len(hosts) > 1 {
		extra := url.Values{}
		for _, h := range hosts[1:] {
			extra.Add("addr", h)
		}
		sep := "?"
		if strings.Contains(tail, "?") {
			sep = "&"
		}
		u += sep + extra.Encode()
	}
	return u, nil
}

// Client returns a new go-redis client for e (it connects on first use).
func (e Endpoint) Client() redis.UniversalClient {
	switch e.Topology {
	case Cluster:
		return redis.NewClusterClient(e.Cluster)
	case Sentinel:
		return redis.NewFailoverClient(e.Sentinel)
	}
	return redis.NewClient(e.Server)
}

// Addrs are the addresses the URL names (seed nodes, Sentinels or the
// server), for messages.
func (e Endpoint) Addrs() []string {
	switch e.Topology {
	case Cluster:
		return e.Cluster.Addrs
	case Sentinel:
		return e.Sentinel.SentinelAddrs
	}
	return []string{e.Server.Addr}
}

// NewClient parses raw (ParseURL) and returns a client for it.
func NewClient(raw, password string) (redis.UniversalClient, error) {
	e, err := ParseURL(raw, password)
	if err != nil {
		return nil, err
	}
	return e.Client(), nil
}

// ScanKeys calls f with the keys matching a SCAN MATCH pattern, in
// batches, on every master of a Redis Cluster (each node holds only its
// own slots' keys) or on the one server. f may run concurrently for
// different masters.
func ScanKeys(ctx context.Context, rdb redis.UniversalClient, pattern string, f func(node redis.Cmdable, keys []string) error) error {
	scan := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				if err := f(c, keys); err != nil {
					return err
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	}
	return scan(ctx, rdb)
}

// DeleteKeys removes every key under prefix (a whole deployment's, or a
// test's), on every master; it returns how many it removed. Keys are
// unlinked one by one in pipelines (a multi-key DEL would cross hash
// slots on a Cluster).
func DeleteKeys(ctx context.Context, rdb redis.UniversalClient, prefix string) (int, error) {
	var mu sync.Mutex
	n := 0
	err := ScanKeys(ctx, rdb, GlobEscape(prefix)+"*", func(node redis.Cmdable, keys []string) error {
		pipe := node.Pipeline()
		for _, k := range keys {
			pipe.Unlink(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		mu.Lock()
		n += len(keys)
		mu.Unlock()
		return nil
	})
	return n, err
}

// GlobEscape quotes the characters a SCAN MATCH or PSUBSCRIBE pattern
// treats specially, so s matches itself.
func GlobEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
