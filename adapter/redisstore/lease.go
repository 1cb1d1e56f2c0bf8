package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
)

// claimManyScript claims or renews many leases for one owner: KEYS are
// the leases, ARGV[1] the owner, ARGV[2] the TTL in ms; it answers 1 or 0
// per key (as claimScript does for one).
var claimManyScript = redis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == false then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
    out[i] = 1
  elseif v == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out`)

var releaseManyScript = redis.NewScript(`
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then n = n + redis.call('DEL', k) end
end
return n`)

// leaseBatch is how many leases one script call handles.
const leaseBatch = 500

// ClaimMany implements adapter.LeaseBatcher: every lease in one pipeline
// (one round trip), leaseBatch per script call.
func (s *Store) ClaimMany(ctx context.Context, names []string, owner string, ttl time.Duration) ([]bool, error) {
	out := make([]bool, 0, len(names))
	err := s.leaseBatches(ctx, names, func(p redis.Pipeliner, keys []string) *redis.Cmd {
		return claimManyScript.EvalSha(ctx, p, keys, owner, ttl.Milliseconds())
	}, func(p redis.Pipeliner, keys []string) *redis.Cmd {
		return claimManyScript.Eval(ctx, p, keys, owner, ttl.Milliseconds())
	}, func(c *redis.Cmd) error {
		vals, err := c.Int64Slice()
		for _, v := range vals {
			out = append(out, v == 1)
		}
		return err
	})
	if err != nil {
		return nil, wrap("claim leases", err)
	}
	return out, nil
}

// ReleaseMany implements adapter.LeaseBatcher.
func (s *Store) ReleaseMany(ctx context.Context, names []string, owner string) error {
	err := s.leaseBatches(ctx, names, func(p redis.Pipeliner, keys []string) *redis.Cmd {
		return releaseManyScript.EvalSha(ctx, p, keys, owner)
	}, func(p redis.Pipeliner, keys []string) *redis.Cmd {
		return releaseManyScript.Eval(ctx, p, keys, owner)
	}, func(c *redis.Cmd) error { return c.Err() })
	return wrap("release leases", err)
}

// leaseBatches runs one script call per batch of leases in one pipeline,
// sending the script itself when the server does not know it yet.
func (s *Store) leaseBatches(ctx context.Context, names []string, sha, eval func(redis.Pipeliner, []string) *redis.Cmd, read func(*redis.Cmd) error) error {
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = s.leaseKey(n)
	}
	run := func(call func(redis.Pipeliner, []string) *redis.Cmd) ([]*redis.Cmd, error) {
		pipe := s.rdb.Pipeline()
		var cmds []*redis.Cmd
		for i := 0; i < len(keys); i += leaseBatch {
			cmds = append(cmds, call(pipe, keys[i:min(i+leaseBatch, len(keys))]))
		}
		if len(cmds) == 0 {
			return nil, nil
		}
		_, err := pipe.Exec(ctx)
		return cmds, err
	}
	cmds, err := run(sha)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmds, err = run(eval)
	}
	if err != nil {
		return err
	}
	for _, c := range cmds {
		if err := read(c); err != nil {
			return err
		}
	}
	return nil
}

var _ adapter.LeaseBatcher = (*Store)(nil)
