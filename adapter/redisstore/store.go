// Package redisstore keeps Switchboard's per-agent state in Redis (go-redis
// v9): calls, agents, sessions, settings, favorites, history, the Task
// outbox, leases, and the pub/sub bus between instances. It implements
// adapter.Store and adapter.Bus.
//
// Keys are namespaced and versioned: "<prefix>v2:...". SchemaVersion names
// the layout so a later release can migrate (keys.go lists every key).
// Keys that one script or transaction touches together share a Redis
// Cluster hash tag, so the store runs on one server, behind Sentinel or on
// a Redis Cluster (ParseURL). Every key that can grow is
// bounded (lists trimmed atomically, hashes capped) or has a TTL.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
)

// SchemaVersion is the key layout version, part of every key.
const SchemaVersion = "v2"

// Store is the Redis implementation of adapter.Store and adapter.Bus.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	ob     *outboxState
}

var (
	_ adapter.Store        = (*Store)(nil)
	_ adapter.Bus          = (*Store)(nil)
	_ adapter.CallsBatcher = (*Store)(nil)
)

// New returns a Store on rdb. prefix namespaces every key (e.g. "sb:");
// tests give each run its own. now may be nil (time.Now).
func New(rdb redis.UniversalClient, prefix string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, prefix: prefix + SchemaVersion + ":", now: now, ob: &outboxState{}}
}

func (s *Store) key(parts ...string) string { return s.prefix + strings.Join(parts, ":") }

// wrap turns Redis errors into the adapter's vocabulary.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis: %s: %w", op, adapter.ErrNotFound)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return fmt.Errorf("redis: %s: %w: %v", op, adapter.ErrUnavailable, err)
}

// Ping implements adapter.Store.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping", s.rdb.Ping(ctx).Err())
}

// A device's calls live in one hash, "<prefix>v2:{dev:<ext>}:calls": field
// <call id> holds the record as JSON, field "task:<call id>" the Task id of
// its call log (written by the outbox alone, so it never rewrites the
// record). One key per device keeps every change to a call in one hash slot.

func (s *Store) callsKey(ext string) string { return s.devKey(ext, "calls") }

const taskField = "task:"

// callTTL: a device's calls expire a day after the last change, so a lost
// clear cannot leave a call behind for ever.
const callTTL = 24 * time.Hour

// PutCall implements adapter.Store.
func (s *Store) PutCall(ctx context.Context, c adapter.CallRecord) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("redis: encode call: %w", err)
	}
	k := s.callsKey(c.Extension)
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, k, c.ID, b)
	pipe.Expire(ctx, k, callTTL)
	_, err = pipe.Exec(ctx)
	return wrap("put call", err)
}

// maxCallTries bounds UpdateCall's optimistic retries (each one means
// another writer changed the same device's calls meanwhile).
const maxCallTries = 100

// UpdateCall implements adapter.Store with WATCH/MULTI on the device's hash:
// the transaction fails, and f runs again on fresh data, when any other
// writer changed that hash between the read and the write.
func (s *Store) UpdateCall(ctx context.Context, ext, id string, f func(*adapter.CallRecord, bool) (adapter.CallChange, error)) (adapter.CallRecord, error) {
	k := s.callsKey(ext)
	var out adapter.CallRecord
	var own error // an error of f or of decoding: passed on as it is
	txf := func(tx *redis.Tx) error {
		vals, err := tx.HMGet(ctx, k, id, taskField+id).Result()
		if err != nil {
			return err
		}
		var rec adapter.CallRecord
		exists := false
		if raw, ok := vals[0].(string); ok {
			if err := json.Unmarshal([]byte(raw), &rec); err != nil {
				own = fmt.Errorf("redis: decode call %s: %w", id, err)
				return own
			}
			exists = true
			if tid, ok := vals[1].(string); ok {
				rec.TaskID = tid
			}
		}
		change, err := f(&rec, exists)
		if err != nil {
			own = err
			return err
		}
		out = rec
		switch change {
		case adapter.CallPut:
			if rec.ID != id || rec.Extension != ext {
				own = fmt.Errorf("redis: update call %s: record renamed to %s/%s: %w", id, rec.Extension, rec.ID, adapter.ErrInvalid)
				return own
			}
			b, err := json.Marshal(rec)
			if err != nil {
				own = fmt.Errorf("redis: encode call: %w", err)
				return own
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, k, id, b)
				p.Expire(ctx, k, callTTL)
				return nil
			})
			return err
		case adapter.CallDelete:
			if !exists {
				return nil
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HDel(ctx, k, id, taskField+id)
				return nil
			})
			return err
		}
		return nil
	}
	for range maxCallTries {
		own = nil
		err := s.rdb.Watch(ctx, txf, k)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue
		case err != nil && own != nil:
			return adapter.CallRecord{}, own
		case err != nil:
			return adapter.CallRecord{}, wrap("update call", err)
		}
		return out, nil
	}
	return adapter.CallRecord{}, fmt.Errorf("redis: update call %s: %d writers in a row changed it first: %w", id, maxCallTries, adapter.ErrUnavailable)
}

var setTaskScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0`)

// SetCallTask implements adapter.Store.
func (s *Store) SetCallTask(ctx context.Context, ext, id, taskID string) error {
	return wrap("set call task", setTaskScript.Run(ctx, s.rdb, []string{s.callsKey(ext)}, id, taskField+id, taskID).Err())
}

// Call implements adapter.Store.
func (s *Store) Call(ctx context.Context, ext, id string) (adapter.CallRecord, error) {
	vals, err := s.rdb.HMGet(ctx, s.callsKey(ext), id, taskField+id).Result()
	if err != nil {
		return adapter.CallRecord{}, wrap("get call", err)
	}
	raw, ok := vals[0].(string)
	if !ok {
		return adapter.CallRecord{}, wrap("get call", redis.Nil)
	}
	var c adapter.CallRecord
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return adapter.CallRecord{}, fmt.Errorf("redis: decode call %s: %w", id, err)
	}
	if tid, ok := vals[1].(string); ok {
		c.TaskID = tid
	}
	return c, nil
}

// Calls implements adapter.Store.
func (s *Store) Calls(ctx context.Context, ext string) ([]adapter.CallRecord, error) {
	m, err := s.rdb.HGetAll(ctx, s.callsKey(ext)).Result()
	if err != nil {
		return nil, wrap("list calls", err)
	}
	return callRecords(m), nil
}

// CallsMany implements adapter.CallsBatcher: one pipeline of HGETALLs (on
// a Redis Cluster, go-redis splits it by slot into one pipeline per
// master, sent in parallel).
func (s *Store) CallsMany(ctx context.Context, exts []string) (map[string][]adapter.CallRecord, error) {
	out := make(map[string][]adapter.CallRecord)
	if len(exts) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(exts))
	for i, ext := range exts {
		cmds[i] = pipe.HGetAll(ctx, s.callsKey(ext))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrap("list calls of many devices", err)
	}
	for i, c := range cmds {
		if m := c.Val(); len(m) > 0 {
			out[exts[i]] = callRecords(m)
		}
	}
	return out, nil
}

// callRecords decodes a device's calls hash, oldest first.
func callRecords(m map[string]string) []adapter.CallRecord {
	out := make([]adapter.CallRecord, 0, len(m))
	for f, v := range m {
		if strings.HasPrefix(f, taskField) {
			continue
		}
		var c adapter.CallRecord
		// A record that does not decode (written by a newer release, or
		// damaged) is skipped: one bad entry must not hide the others.
		if json.Unmarshal([]byte(v), &c) != nil {
			continue
		}
		if tid, ok := m[taskField+f]; ok {
			c.TaskID = tid
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// hashValues decodes every JSON value of a hash. An entry that does not
// decode (written by a newer release, or damaged) is skipped, not fatal:
// one bad entry must not hide the others.
func hashValues[T any](ctx context.Context, s *Store, key, op string) ([]T, error) {
	m, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]T, 0, len(m))
	for _, v := range m {
		var x T
		if json.Unmarshal([]byte(v), &x) == nil {
			out = append(out, x)
		}
	}
	return out, nil
}

// DeleteCall implements adapter.Store.
func (s *Store) DeleteCall(ctx context.Context, ext, id string) error {
	return wrap("delete call", s.rdb.HDel(ctx, s.callsKey(ext), id, taskField+id).Err())
}

// PutAgent implements adapter.Store.
func (s *Store) PutAgent(ctx context.Context, a adapter.Agent) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("redis: encode agent: %w", err)
	}
	return wrap("put agent", s.rdb.Set(ctx, s.key("agent", a.UserID), b, 30*24*time.Hour).Err())
}

// Agent implements adapter.Store.
func (s *Store) Agent(ctx context.Context, userID string) (adapter.Agent, error) {
	b, err := s.rdb.Get(ctx, s.key("agent", userID)).Bytes()
	if err != nil {
		return adapter.Agent{}, wrap("get agent", err)
	}
	var a adapter.Agent
	if err := json.Unmarshal(b, &a); err != nil {
		return adapter.Agent{}, fmt.Errorf("redis: decode agent: %w", err)
	}
	return a, nil
}

// DeviceUser implements adapter.Store.
func (s *Store) DeviceUser(ctx context.Context, ext string) (string, error) {
	v, err := s.rdb.Get(ctx, s.devKey(ext, "user")).Result()
	return v, wrap("device user", err)
}

// SetDeviceUser implements adapter.Store.
func (s *Store) SetDeviceUser(ctx context.Context, ext, userID string) error {
	k := s.devKey(ext, "user")
	if userID == "" {
		return wrap("clear device user", s.rdb.Del(ctx, k).Err())
	}
	return wrap("set device user", s.rdb.Set(ctx, k, userID, 30*24*time.Hour).Err())
}

var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Claim implements adapter.Store.
func (s *Store) Claim(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	n, err := claimScript.Run(ctx, s.rdb, []string{s.leaseKey(name)}, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, wrap("claim "+name, err)
	}
	return n == 1, nil
}

// Release implements adapter.Store.
func (s *Store) Release(ctx context.Context, name, owner string) error {
	return wrap("release "+name, releaseScript.Run(ctx, s.rdb, []string{s.leaseKey(name)}, owner).Err())
}

// PutSession implements adapter.Store.
func (s *Store) PutSession(ctx context.Context, sid, userID string, ttl time.Duration) error {
	return wrap("put session", s.rdb.Set(ctx, s.key("sess", sid), userID, ttl).Err())
}

// Session implements adapter.Store.
func (s *Store) Session(ctx context.Context, sid string) (string, error) {
	v, err := s.rdb.Get(ctx, s.key("sess", sid)).Result()
	return v, wrap("get session", err)
}

// DeleteSession implements adapter.Store.
func (s *Store) DeleteSession(ctx context.Context, sid string) error {
	return wrap("delete session", s.rdb.Del(ctx, s.key("sess", sid)).Err())
}

// PutLogin implements adapter.Store.
func (s *Store) PutLogin(ctx context.Context, state string, l adapter.PendingLogin, ttl time.Duration) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("redis: encode login: %w", err)
	}
	return wrap("put login", s.rdb.Set(ctx, s.key("login", state), b, ttl).Err())
}

// TakeLogin implements adapter.Store.
func (s *Store) TakeLogin(ctx context.Context, state string) (adapter.PendingLogin, error) {
	b, err := s.rdb.GetDel(ctx, s.key("login", state)).Bytes()
	if err != nil {
		return adapter.PendingLogin{}, wrap("take login", err)
	}
	var l adapter.PendingLogin
	if err := json.Unmarshal(b, &l); err != nil {
		return adapter.PendingLogin{}, fmt.Errorf("redis: decode login: %w", err)
	}
	return l, nil
}

// Cache implements adapter.Store.
func (s *Store) Cache(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := s.rdb.Get(ctx, s.key("cache", key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap("cache get", err)
	}
	return b, true, nil
}

// SetCache implements adapter.Store.
func (s *Store) SetCache(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return wrap("cache set", s.rdb.Set(ctx, s.key("cache", key), val, ttl).Err())
}

// Persistence says how the Redis in use keeps data across a restart:
// "aof", "rdb", "aof+rdb" or "none" (from CONFIG GET appendonly and save);
// when CONFIG is not allowed (some managed services), "aof" or "unknown"
// from INFO persistence. The outbox and sessions live in Redis, so "none"
// means a Redis restart loses queued call logs.
func (s *Store) Persistence(ctx context.Context) (string, error) {
	aof, err1 := s.rdb.ConfigGet(ctx, "appendonly").Result()
	save, err2 := s.rdb.ConfigGet(ctx, "save").Result()
	if err1 == nil && err2 == nil && len(aof) > 0 {
		a := aof["appendonly"] == "yes"
		r := strings.TrimSpace(save["save"]) != ""
		switch {
		case a && r:
			return "aof+rdb", nil
		case a:
			return "aof", nil
		case r:
			return "rdb", nil
		}
		return "none", nil
	}
	info, err := s.rdb.Info(ctx, "persistence").Result()
	if err != nil {
		return "unknown", wrap("persistence", err)
	}
	if strings.Contains(info, "aof_enabled:1") {
		return "aof", nil
	}
	return "unknown", nil
}
