package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
)

// Dead letters: call logs Salesforce refused for good, kept whole in the
// outbox's "dead" hash until an operator replays or deletes them.

// DeadLetters implements adapter.Store.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]adapter.DeadLetter, int, error) {
	m, err := s.rdb.HGetAll(ctx, s.outboxKeys().dead).Result()
	if err != nil {
		return nil, 0, wrap("list dead letters", err)
	}
	out := make([]adapter.DeadLetter, 0, len(m))
	for id, v := range m {
		var d adapter.DeadLetter
		if json.Unmarshal([]byte(v), &d) != nil {
			d = adapter.DeadLetter{ID: id, Reason: "undecodable entry"}
		}
		d.ID = id
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	total := len(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, total, nil
}

// DeadLetterCount returns how many dead letters there are: for metrics.
func (s *Store) DeadLetterCount(ctx context.Context) (int64, error) {
	n, err := s.rdb.HLen(ctx, s.outboxKeys().dead).Result()
	return n, wrap("count dead letters", err)
}

var replayScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])
return 1`)

// ReplayDeadLetter implements adapter.Store: the entry leaves the dead
// letters and enters the stream in one script.
func (s *Store) ReplayDeadLetter(ctx context.Context, id string) (adapter.TaskJob, error) {
	k := s.outboxKeys()
	raw, err := s.rdb.HGet(ctx, k.dead, id).Result()
	if err != nil {
		return adapter.TaskJob{}, wrap("dead letter "+clipID(id), err)
	}
	var d adapter.DeadLetter
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return adapter.TaskJob{}, fmt.Errorf("redis: dead letter %s does not decode (delete it): %w", clipID(id), adapter.ErrConflict)
	}
	job := d.Job
	job.ID, job.Attempts, job.Repaired, job.NotBefore, job.Grace = "", 0, false, time.Time{}, false
	job.LastError = "replayed after: " + d.Reason
	b, err := json.Marshal(job)
	if err != nil {
		return adapter.TaskJob{}, fmt.Errorf("redis: encode task job: %w", err)
	}
	n, err := replayScript.Run(ctx, s.rdb, []string{k.dead, k.stream}, id, b).Int()
	if err != nil {
		return adapter.TaskJob{}, wrap("replay dead letter", err)
	}
	if n == 0 {
		return adapter.TaskJob{}, wrap("dead letter "+clipID(id), redis.Nil)
	}
	return job, nil
}

// DeleteDeadLetter implements adapter.Store.
func (s *Store) DeleteDeadLetter(ctx context.Context, id string) error {
	n, err := s.rdb.HDel(ctx, s.outboxKeys().dead, id).Result()
	if err != nil {
		return wrap("delete dead letter", err)
	}
	if n == 0 {
		return wrap("dead letter "+clipID(id), redis.Nil)
	}
	return nil
}

func clipID(id string) string {
	if len(id) > 60 {
		return id[:60] + "..."
	}
	return id
}
