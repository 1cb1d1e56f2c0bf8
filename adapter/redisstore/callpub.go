package redisstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
)

// The ringing path: UpdateCallPublish changes a call record and numbers
// and publishes the event carrying it in one script (one round trip),
// compare-and-set on the record's JSON: the script writes only when the
// record is still, byte for byte, the one f changed (or still absent, for
// a new call). Otherwise it answers the current record and f runs again
// on it, as UpdateCall's WATCH would make it (issue 9: a writer never
// writes back what another changed meanwhile). Both kinds of writer stay
// atomic against each other: a script's write fails a concurrent WATCH,
// and a WATCH writer's change fails the script's comparison. The Task id
// field is never written here (SetCallTask owns it).
//
// A new call is tried as absent first, without reading: f runs on a zero
// record and, when it stores it, the script creates it (ARGV[2] ""); when
// the call existed after all, the script's answer is the read.

// casCallScript: KEYS = the device's calls hash, sequence, channel; ARGV =
// call id, expected record JSON ("" for absent), new record JSON ("" to
// delete), event JSON, TTL seconds, Task id field. It answers {1} when
// written, else {0, current record or nil, current Task id or nil}.
var casCallScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then
  return {0, cur, redis.call('HGET', KEYS[1], ARGV[6])}
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1], ARGV[6])
  return {1}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
local s = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 2592000)
redis.call('PUBLISH', KEYS[3], s .. '\n' .. ARGV[4])
return {1}`)

// UpdateCallPublish implements adapter.CallPublisher: a new call is
// stored and published in one round trip, a change to an existing one in
// two (read, then compare-and-set with the publish).
func (s *Store) UpdateCallPublish(ctx context.Context, ext, id string, f func(*adapter.CallRecord, bool) (adapter.CallChange, error)) (adapter.CallRecord, error) {
	keys := []string{s.callsKey(ext), s.devKey(ext, "seq"), s.devKey(ext, "ev")}
	var (
		raw    string // the record as last read ("" when absent)
		taskID string
		known  bool // raw was read (false: absent is a guess)
	)
	for range maxCallTries {
		var rec adapter.CallRecord
		exists := raw != ""
		if exists {
			if err := json.Unmarshal([]byte(raw), &rec); err != nil {
				return adapter.CallRecord{}, fmt.Errorf("redis: decode call %s: %w", id, err)
			}
			rec.TaskID = taskID
		}
		change, err := f(&rec, exists)
		if !known && (err != nil || change != adapter.CallPut) {
			// Only a store may go ahead on a guess: read, then decide.
			raw, taskID, err = s.readCall(ctx, ext, id)
			if err != nil {
				return adapter.CallRecord{}, err
			}
			known = true
			continue
		}
		if err != nil {
			return adapter.CallRecord{}, err
		}
		next := ""
		switch change {
		case adapter.CallKeep:
			return rec, nil
		case adapter.CallDelete:
			if !exists {
				return rec, nil
			}
		case adapter.CallPut:
			if rec.ID != id || rec.Extension != ext {
				return adapter.CallRecord{}, fmt.Errorf("redis: update call %s: record renamed to %s/%s: %w", id, rec.Extension, rec.ID, adapter.ErrInvalid)
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return adapter.CallRecord{}, fmt.Errorf("redis: encode call: %w", err)
			}
			next = string(b)
		}
		ev := ""
		if next != "" {
			ev = callEvent(next)
		}
		res, err := casCallScript.Run(ctx, s.rdb, keys, id, raw, next, ev, int(callTTL.Seconds()), taskField+id).Slice()
		if err != nil {
			return adapter.CallRecord{}, wrap("update call", err)
		}
		if n, _ := res[0].(int64); n == 1 {
			return rec, nil
		}
		// Another writer was first: f runs again on what it wrote.
		raw, taskID, known = "", "", true
		if len(res) > 1 {
			raw, _ = res[1].(string)
		}
		if len(res) > 2 {
			taskID, _ = res[2].(string)
		}
	}
	return adapter.CallRecord{}, fmt.Errorf("redis: update call %s: %d writers in a row changed it first: %w", id, maxCallTries, adapter.ErrUnavailable)
}

// callEvent is json.Marshal(AgentEvent{Type: EventCall, Call: rec}) for
// the record's JSON, without encoding the record a second time.
func callEvent(recJSON string) string {
	return `{"type":"` + string(adapter.EventCall) + `","seq":0,"call":` + recJSON + `}`
}

// readCall reads a call record's JSON and Task id ("" when absent).
func (s *Store) readCall(ctx context.Context, ext, id string) (raw, taskID string, err error) {
	vals, err := s.rdb.HMGet(ctx, s.callsKey(ext), id, taskField+id).Result()
	if err != nil {
		return "", "", wrap("get call", err)
	}
	raw, _ = vals[0].(string)
	taskID, _ = vals[1].(string)
	return raw, taskID, nil
}

var _ adapter.CallPublisher = (*Store)(nil)
