package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
)

// Settings implements adapter.Store.
func (s *Store) Settings(ctx context.Context, userID string) (adapter.Settings, error) {
	b, err := s.rdb.Get(ctx, s.userKey(userID, "settings")).Bytes()
	if errors.Is(err, redis.Nil) {
		return adapter.DefaultSettings(), nil
	}
	if err != nil {
		return adapter.Settings{}, wrap("get settings", err)
	}
	st := adapter.DefaultSettings()
	if err := json.Unmarshal(b, &st); err != nil {
		return adapter.Settings{}, fmt.Errorf("redis: decode settings: %w", err)
	}
	return st, nil
}

// PutSettings implements adapter.Store.
func (s *Store) PutSettings(ctx context.Context, userID string, st adapter.Settings) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("redis: encode settings: %w", err)
	}
	return wrap("put settings", s.rdb.Set(ctx, s.userKey(userID, "settings"), b, 0).Err())
}

var addFavoriteScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0`)

// Favorites implements adapter.Store.
func (s *Store) Favorites(ctx context.Context, userID string) ([]adapter.Favorite, error) {
	out, err := hashValues[adapter.Favorite](ctx, s, s.userKey(userID, "favorites"), "list favorites")
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Name), strings.ToLower(out[j].Name)
		if a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// AddFavorite implements adapter.Store.
func (s *Store) AddFavorite(ctx context.Context, userID string, f adapter.Favorite) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("redis: encode favorite: %w", err)
	}
	n, err := addFavoriteScript.Run(ctx, s.rdb, []string{s.userKey(userID, "favorites")}, f.ID, b, adapter.MaxFavorites).Int()
	if err != nil {
		return wrap("add favorite", err)
	}
	if n == 0 {
		return fmt.Errorf("favorites: at most %d; remove one first: %w", adapter.MaxFavorites, adapter.ErrLimit)
	}
	return nil
}

// RemoveFavorite implements adapter.Store.
func (s *Store) RemoveFavorite(ctx context.Context, userID, id string) error {
	n, err := s.rdb.HDel(ctx, s.userKey(userID, "favorites"), id).Result()
	if err != nil {
		return wrap("remove favorite", err)
	}
	if n == 0 {
		return fmt.Errorf("favorite %q: %w", id, adapter.ErrNotFound)
	}
	return nil
}

// AddHistory implements adapter.Store: the entry is pushed on each of its
// lists and each list trimmed to its size in one transaction.
func (s *Store) AddHistory(ctx context.Context, userID string, e adapter.HistoryEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("redis: encode history: %w", err)
	}
	pipe := s.rdb.TxPipeline()
	for _, l := range e.Lists() {
		k := s.userKey(userID, "history:"+string(l))
		pipe.LPush(ctx, k, b)
		pipe.LTrim(ctx, k, 0, int64(l.Size()-1))
	}
	_, err = pipe.Exec(ctx)
	return wrap("add history", err)
}

// History implements adapter.Store.
func (s *Store) History(ctx context.Context, userID string, l adapter.HistoryList) ([]adapter.HistoryEntry, error) {
	vs, err := s.rdb.LRange(ctx, s.userKey(userID, "history:"+string(l)), 0, int64(l.Size()-1)).Result()
	if err != nil {
		return nil, wrap("history", err)
	}
	out := make([]adapter.HistoryEntry, 0, len(vs))
	for _, v := range vs {
		var e adapter.HistoryEntry
		if json.Unmarshal([]byte(v), &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}
