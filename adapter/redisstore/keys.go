package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key layout (SchemaVersion "v2"; P is "<prefix>v2:"). A part in braces
// is a Redis Cluster hash tag: keys with the same tag are in the same hash
// slot, so every script, MULTI and WATCH below touches one slot.
//
//	P{dev:<ext>}:calls      hash: a device's call records (field <call id>,
//	                        JSON) and their Task ids (field task:<call id>)
//	P{dev:<ext>}:seq        the device's event sequence number
//	P{dev:<ext>}:ev         pub/sub channel of the device's events (not a key)
//	P{dev:<ext>}:user       the agent signed in on the device
//	P{user:<uid>}:settings, :favorites, :history:<list>   an agent's own
//	P{lease}:<name>         leases (one slot: every lease of an instance is
//	                        renewed by one script call per 500)
//	P{outbox}, P{outbox}:delayed, :marks, :markage, :locks, :dead   the Task
//	                        outbox (one slot: its scripts move jobs between
//	                        these keys)
//	Pagent:<uid>, Psess:<sid>, Plogin:<state>, Pcache:<key>   one key per
//	                        command, no tag needed (spread over the slots)
//
// v1 had the same keys without the tags ("<prefix>v1:dev:<ext>:calls",
// "<prefix>v1:ev:<ext>", "<prefix>v1:lease:<name>", ...): MigrateV1 moves
// them.

func (s *Store) devKey(ext, what string) string  { return s.prefix + "{dev:" + ext + "}:" + what }
func (s *Store) userKey(uid, what string) string { return s.prefix + "{user:" + uid + "}:" + what }
func (s *Store) leaseKey(name string) string     { return s.prefix + "{lease}:" + name }

// v1Name is the v2 name of a v1 key (rest is the key without
// "<prefix>v1:"), or "" for a key that is not Switchboard's.
func (s *Store) v1Name(rest string) string {
	cut := func(p string) (string, bool) { return strings.CutPrefix(rest, p) }
	if r, ok := cut("dev:"); ok {
		i := strings.LastIndex(r, ":")
		if i <= 0 {
			return ""
		}
		return s.devKey(r[:i], r[i+1:])
	}
	if r, ok := cut("user:"); ok {
		uid, what, found := strings.Cut(r, ":")
		if !found {
			return ""
		}
		return s.userKey(uid, what)
	}
	if r, ok := cut("lease:"); ok {
		return s.leaseKey(r)
	}
	if r, ok := cut("outbox"); ok { // releases before the {outbox} tag
		return s.key("{outbox}") + r
	}
	for _, p := range []string{"{outbox}", "agent:", "sess:", "login:", "cache:"} {
		if strings.HasPrefix(rest, p) {
			return s.prefix + rest
		}
	}
	return ""
}

// MigrateV1 moves every key of the v1 layout under the store's prefix to
// its v2 name, with its TTL, on every master, and returns how many it moved. A v2 key that
// already exists wins (the v1 one is dropped). Safe to run again and from
// several instances at once: a key another instance moved first is skipped.
// Run it with no v1 instance left writing (README, "Redis").
func (s *Store) MigrateV1(ctx context.Context) (int, error) {
	old := strings.TrimSuffix(s.prefix, SchemaVersion+":") + "v1:"
	var mu sync.Mutex
	moved := 0
	err := ScanKeys(ctx, s.rdb, GlobEscape(old)+"*", func(_ redis.Cmdable, keys []string) error {
		for _, k := range keys {
			to := s.v1Name(strings.TrimPrefix(k, old))
			if to == "" {
				continue
			}
			ok, err := s.moveKey(ctx, k, to)
			if err != nil {
				return fmt.Errorf("redis: migrate %s: %w", k, err)
			}
			if ok {
				mu.Lock()
				moved++
				mu.Unlock()
			}
		}
		return nil
	})
	return moved, wrap("migrate v1 keys", err)
}

// moveKey moves one key, keeping its TTL: RENAMENX on one server; on a
// Cluster, where the new name may be in another slot, DUMP, RESTORE and
// UNLINK.
func (s *Store) moveKey(ctx context.Context, from, to string) (bool, error) {
	if _, ok := s.rdb.(*redis.ClusterClient); !ok {
		done, err := s.rdb.RenameNX(ctx, from, to).Result()
		if err != nil && strings.Contains(err.Error(), "no such key") {
			return false, nil // moved by another instance meanwhile
		}
		if err != nil || done {
			return done, err
		}
		return false, s.rdb.Unlink(ctx, from).Err() // the v2 key wins
	}
	dump, err := s.rdb.Dump(ctx, from).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ttl, err := s.rdb.PTTL(ctx, from).Result()
	if err != nil {
		return false, err
	}
	if ttl == -2*time.Nanosecond {
		return false, nil // expired meanwhile
	}
	if ttl < 0 {
		ttl = 0 // no expiry
	}
	err = s.rdb.Restore(ctx, to, ttl, dump).Err()
	done := err == nil
	if err != nil && !strings.Contains(err.Error(), "BUSYKEY") {
		return false, err
	}
	return done, s.rdb.Unlink(ctx, from).Err()
}

// schemaKey marks a prefix whose keys are all in the current layout.
func (s *Store) schemaKey() string { return s.prefix + "schema" }

// Upgrade brings the keys under the store's prefix to the current layout
// once: it runs MigrateV1 unless an earlier Upgrade finished (a marker
// key, "<prefix>v2:schema"), so later starts cost one round trip. It
// returns how many keys it moved.
func (s *Store) Upgrade(ctx context.Context) (int, error) {
	n, err := s.rdb.Exists(ctx, s.schemaKey()).Result()
	if err != nil {
		return 0, wrap("schema version", err)
	}
	if n == 1 {
		return 0, nil
	}
	moved, err := s.MigrateV1(ctx)
	if err != nil {
		return moved, err
	}
	return moved, wrap("schema version", s.rdb.Set(ctx, s.schemaKey(), SchemaVersion, 0).Err())
}
