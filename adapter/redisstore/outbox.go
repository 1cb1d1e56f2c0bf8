package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
)

// The outbox is a Redis stream read through a consumer group, so a job taken
// by an instance that stops is handed to another (XAUTOCLAIM), plus:
//   - a sorted set of jobs waiting for their next attempt (score: when
//     due, ms);
//   - a hash of the last Task written per call log ("<task id>|<version>")
//     and a sorted set of when each was written (pruned after 7 days);
//   - a hash of per-call-log write locks ("<owner>|<expiry ms>");
//   - a hash of dead letters (id -> adapter.DeadLetter JSON).
//
// Every outbox key is "<prefix>v2:{outbox}..." (hash tag "outbox"), so each
// script and transaction touches one hash slot (Redis Cluster), and every
// key stays under the prefix.

const outboxGroup = "writers"

type outboxKeys struct{ stream, delayed, marks, markAge, locks, dead string }

func (s *Store) outboxKeys() outboxKeys {
	tag := s.key("{outbox}")
	return outboxKeys{stream: tag, delayed: tag + ":delayed", marks: tag + ":marks", markAge: tag + ":markage", locks: tag + ":locks", dead: tag + ":dead"}
}

// outboxState is per-Store memory of the outbox: whether the consumer
// group is known to exist.
type outboxState struct {
	grouped atomic.Bool
}

func (s *Store) ensureGroup(ctx context.Context) error {
	if s.ob.grouped.Load() {
		return nil
	}
	err := s.rdb.XGroupCreateMkStream(ctx, s.outboxKeys().stream, outboxGroup, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return wrap("outbox group", err)
	}
	s.ob.grouped.Store(true)
	return nil
}

// EnqueueTask implements adapter.Store.
func (s *Store) EnqueueTask(ctx context.Context, job adapter.TaskJob) error {
	job.ID = ""
	b, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("redis: encode task job: %w", err)
	}
	k := s.outboxKeys()
	if job.NotBefore.After(s.now()) {
		return wrap("enqueue task", s.rdb.ZAdd(ctx, k.delayed, redis.Z{Score: float64(job.NotBefore.UnixMilli()), Member: b}).Err())
	}
	return wrap("enqueue task", s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: k.stream, Values: map[string]any{"job": b}}).Err())
}

var promoteScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, j in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', j)
  redis.call('ZREM', KEYS[1], j)
end
return #due`)

// NextTasks implements adapter.Store: due retries are moved to the stream,
// jobs idle in a stopped consumer are claimed, and new ones read, in one
// pipeline.
func (s *Store) NextTasks(ctx context.Context, consumer string, n int, stale time.Duration) ([]adapter.TaskJob, error) {
	if err := s.ensureGroup(ctx); err != nil {
		return nil, err
	}
	k := s.outboxKeys()
	if err := promoteScript.Run(ctx, s.rdb, []string{k.delayed, k.stream}, s.now().UnixMilli(), max(n, 100)).Err(); err != nil {
		return nil, wrap("promote delayed tasks", err)
	}
	pipe := s.rdb.Pipeline()
	claim := pipe.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: k.stream, Group: outboxGroup, Consumer: consumer, MinIdle: stale, Start: "0-0", Count: int64(n),
	})
	read := pipe.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: outboxGroup, Consumer: consumer, Streams: []string{k.stream, ">"}, Count: int64(n), Block: -1,
	})
	_, err := pipe.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		if strings.Contains(err.Error(), "NOGROUP") {
			s.ob.grouped.Store(false) // Redis lost the group (restarted empty)
		}
		return nil, wrap("read tasks", err)
	}
	claimed, _, _ := claim.Result()
	var jobs []adapter.TaskJob
	decode := func(m redis.XMessage, reclaimed bool) {
		raw, _ := m.Values["job"].(string)
		var j adapter.TaskJob
		if err := json.Unmarshal([]byte(raw), &j); err != nil {
			// Not ours to understand: acknowledge so it cannot block.
			s.rdb.XAck(ctx, k.stream, outboxGroup, m.ID)
			return
		}
		j.ID, j.Reclaimed = m.ID, reclaimed
		jobs = append(jobs, j)
	}
	for _, m := range claimed {
		decode(m, true)
	}
	res, _ := read.Result()
	for _, st := range res {
		for _, m := range st.Messages {
			decode(m, false)
		}
	}
	return jobs, nil
}

// FinishTask implements adapter.Store.
func (s *Store) FinishTask(ctx context.Context, job adapter.TaskJob) error {
	return s.EndTasks(ctx, "", []adapter.TaskEnd{{Kind: adapter.TaskDone, Job: job}})
}

// RetryTask implements adapter.Store.
func (s *Store) RetryTask(ctx context.Context, job adapter.TaskJob) error {
	return s.EndTasks(ctx, "", []adapter.TaskEnd{{Kind: adapter.TaskRetry, Job: job}})
}

var beginScript = redis.NewScript(`
local now = tonumber(ARGV[2])
local exp = now + tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV do
  local k = ARGV[i]
  local v = redis.call('HGET', KEYS[1], k)
  local ok = 1
  if v then
    local o, e = string.match(v, '^(.*)|(%d+)$')
    if o ~= ARGV[1] and e and tonumber(e) > now then ok = 0 end
  end
  if ok == 1 then redis.call('HSET', KEYS[1], k, ARGV[1] .. '|' .. exp) end
  out[#out+1] = ok
  out[#out+1] = redis.call('HGET', KEYS[2], k) or ''
end
return out`)

// BeginTasks implements adapter.Store in one script.
func (s *Store) BeginTasks(ctx context.Context, owner string, jobs []adapter.TaskJob, ttl time.Duration) ([]adapter.TaskMark, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	k := s.outboxKeys()
	args := []any{owner, s.now().UnixMilli(), ttl.Milliseconds()}
	for _, j := range jobs {
		args = append(args, j.Key)
	}
	res, err := beginScript.Run(ctx, s.rdb, []string{k.locks, k.marks}, args...).Slice()
	if err != nil {
		return nil, wrap("begin task writes", err)
	}
	if len(res) != 2*len(jobs) {
		return nil, fmt.Errorf("redis: begin task writes: %d answers for %d jobs: %w", len(res), len(jobs), adapter.ErrUnavailable)
	}
	out := make([]adapter.TaskMark, len(jobs))
	for i := range jobs {
		n, _ := res[2*i].(int64)
		out[i].Locked = n == 1
		mark, _ := res[2*i+1].(string)
		id, v, _ := strings.Cut(mark, "|")
		out[i].TaskID = id
		out[i].Version, _ = strconv.ParseInt(v, 10, 64)
	}
	return out, nil
}

var endScript = redis.NewScript(`
local owner, now, group = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local function release(k)
  if owner == '' then return end
  local v = redis.call('HGET', KEYS[5], k)
  if v then
    local o = string.match(v, '^(.*)|%d+$')
    if o == owner then redis.call('HDEL', KEYS[5], k) end
  end
end
local function ack(id)
  if id ~= '' then
    redis.call('XACK', KEYS[1], group, id)
    redis.call('XDEL', KEYS[1], id)
  end
end
for i = 4, #ARGV, 5 do
  local kind, id, k, a, b = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4]
  if kind == 'd' then
    if a ~= '' then
      redis.call('HSET', KEYS[3], k, a)
      redis.call('ZADD', KEYS[4], now, k)
    end
  elseif kind == 'r' then
    redis.call('ZADD', KEYS[2], tonumber(a), b)
  elseif kind == 'x' then
    redis.call('HSET', KEYS[6], a, b)
  end
  ack(id)
  release(k)
end
local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - 604800000, 'LIMIT', 0, 100)
for _, k in ipairs(old) do
  redis.call('HDEL', KEYS[3], k)
  redis.call('ZREM', KEYS[4], k)
end
return 1`)

// markTTL: how long the last Task written per call log is remembered.
const markTTL = 7 * 24 * time.Hour

// EndTasks implements adapter.Store in one script.
func (s *Store) EndTasks(ctx context.Context, owner string, ends []adapter.TaskEnd) error {
	if len(ends) == 0 {
		return nil
	}
	k := s.outboxKeys()
	now := s.now()
	args := []any{owner, now.UnixMilli(), outboxGroup}
	for _, e := range ends {
		id := e.Job.ID
		job := e.Job
		job.ID = ""
		switch e.Kind {
		case adapter.TaskDone:
			mark := ""
			if e.Mark != nil && e.Mark.TaskID != "" {
				mark = e.Mark.TaskID + "|" + strconv.FormatInt(e.Mark.Version, 10)
			}
			args = append(args, "d", id, job.Key, mark, "")
		case adapter.TaskRetry:
			b, err := json.Marshal(job)
			if err != nil {
				return fmt.Errorf("redis: encode task job: %w", err)
			}
			due := job.NotBefore
			if due.IsZero() {
				due = now
			}
			args = append(args, "r", id, job.Key, due.UnixMilli(), b)
		case adapter.TaskDead:
			dl := adapter.DeadLetter{ID: deadID(job, now), Job: job, Reason: e.Reason, Code: e.Code, At: now}
			b, err := json.Marshal(dl)
			if err != nil {
				return fmt.Errorf("redis: encode dead letter: %w", err)
			}
			args = append(args, "x", id, job.Key, dl.ID, b)
		default:
			return fmt.Errorf("redis: end task: kind %d: %w", e.Kind, adapter.ErrInvalid)
		}
	}
	err := endScript.Run(ctx, s.rdb, []string{k.stream, k.delayed, k.marks, k.markAge, k.locks, k.dead}, args...).Err()
	return wrap("end task writes", err)
}

// deadID names a dead letter: the call log and when it died.
func deadID(job adapter.TaskJob, now time.Time) string {
	return strings.ReplaceAll(job.Key, "/", "-") + "-" + strconv.FormatInt(now.UnixMilli(), 36)
}

var setTasksScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
end
return 1`)

// SetCallTasks implements adapter.Store, pipelined (one script per device
// key, each in its own slot).
func (s *Store) SetCallTasks(ctx context.Context, marks []adapter.CallTask) error {
	if len(marks) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for _, m := range marks {
		pipe.EvalSha(ctx, setTasksScript.Hash(), []string{s.callsKey(m.Extension)}, m.CallID, taskField+m.CallID, m.TaskID)
	}
	_, err := pipe.Exec(ctx)
	if err != nil && strings.Contains(err.Error(), "NOSCRIPT") {
		if err := setTasksScript.Load(ctx, s.rdb).Err(); err != nil {
			return wrap("load call task script", err)
		}
		return s.SetCallTasks(ctx, marks)
	}
	return wrap("set call tasks", err)
}

// OutboxLen returns how many jobs wait (queued, taken, delayed): for metrics.
func (s *Store) OutboxLen(ctx context.Context) (int64, error) {
	k := s.outboxKeys()
	pipe := s.rdb.Pipeline()
	a := pipe.XLen(ctx, k.stream)
	b := pipe.ZCard(ctx, k.delayed)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, wrap("outbox length", err)
	}
	return a.Val() + b.Val(), nil
}
