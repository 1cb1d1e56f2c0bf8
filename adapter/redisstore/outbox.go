package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
)

// The outbox is a Redis stream read through a consumer group, so a job taken
// by an instance that stops is handed to another (XAUTOCLAIM), plus a sorted
// set of jobs waiting for their next attempt (score: when due, ms).

const outboxGroup = "writers"

func (s *Store) outboxKeys() (stream, delayed string) {
	return s.key("outbox"), s.key("outbox", "delayed")
}

func (s *Store) ensureGroup(ctx context.Context) error {
	stream, _ := s.outboxKeys()
	err := s.rdb.XGroupCreateMkStream(ctx, stream, outboxGroup, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return wrap("outbox group", err)
	}
	return nil
}

// EnqueueTask implements adapter.Store.
func (s *Store) EnqueueTask(ctx context.Context, job adapter.TaskJob) error {
	b, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("redis: encode task job: %w", err)
	}
	stream, _ := s.outboxKeys()
	return wrap("enqueue task", s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"job": b}}).Err())
}

var promoteScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, j in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', j)
  redis.call('ZREM', KEYS[1], j)
end
return #due`)

// NextTasks implements adapter.Store.
func (s *Store) NextTasks(ctx context.Context, consumer string, n int, stale time.Duration) ([]adapter.TaskJob, error) {
	if err := s.ensureGroup(ctx); err != nil {
		return nil, err
	}
	stream, delayed := s.outboxKeys()
	if err := promoteScript.Run(ctx, s.rdb, []string{delayed, stream}, s.now().UnixMilli()).Err(); err != nil {
		return nil, wrap("promote delayed tasks", err)
	}
	var msgs []redis.XMessage
	claimed, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: stream, Group: outboxGroup, Consumer: consumer, MinIdle: stale, Start: "0-0", Count: int64(n),
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap("claim stale tasks", err)
	}
	msgs = append(msgs, claimed...)
	if len(msgs) < n {
		res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: outboxGroup, Consumer: consumer, Streams: []string{stream, ">"}, Count: int64(n - len(msgs)), Block: -1,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, wrap("read tasks", err)
		}
		for _, st := range res {
			msgs = append(msgs, st.Messages...)
		}
	}
	jobs := make([]adapter.TaskJob, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values["job"].(string)
		var j adapter.TaskJob
		if err := json.Unmarshal([]byte(raw), &j); err != nil {
			// Not ours to understand: acknowledge so it cannot block.
			s.rdb.XAck(ctx, stream, outboxGroup, m.ID)
			continue
		}
		j.ID = m.ID
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// FinishTask implements adapter.Store.
func (s *Store) FinishTask(ctx context.Context, job adapter.TaskJob) error {
	stream, _ := s.outboxKeys()
	pipe := s.rdb.TxPipeline()
	pipe.XAck(ctx, stream, outboxGroup, job.ID)
	pipe.XDel(ctx, stream, job.ID)
	_, err := pipe.Exec(ctx)
	return wrap("finish task", err)
}

// RetryBackoff is the wait before attempt n+1 (doubling, at most 5 min).
func RetryBackoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 9)
	return min(d, 5*time.Minute)
}

// RetryTask implements adapter.Store.
func (s *Store) RetryTask(ctx context.Context, job adapter.TaskJob) error {
	id := job.ID
	job.ID = ""
	b, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("redis: encode task job: %w", err)
	}
	stream, delayed := s.outboxKeys()
	due := s.now().Add(RetryBackoff(job.Attempts)).UnixMilli()
	pipe := s.rdb.TxPipeline()
	pipe.ZAdd(ctx, delayed, redis.Z{Score: float64(due), Member: b})
	pipe.XAck(ctx, stream, outboxGroup, id)
	pipe.XDel(ctx, stream, id)
	_, err = pipe.Exec(ctx)
	return wrap("retry task", err)
}

// OutboxLen returns how many jobs wait (queued, taken, delayed): for metrics.
func (s *Store) OutboxLen(ctx context.Context) (int64, error) {
	stream, delayed := s.outboxKeys()
	pipe := s.rdb.Pipeline()
	a := pipe.XLen(ctx, stream)
	b := pipe.ZCard(ctx, delayed)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, wrap("outbox length", err)
	}
	return a.Val() + b.Val(), nil
}
