package salesforce

import (
	"context"
	"sync"
	"time"
)

// Cache keeps lookup results for a short time so repeat callers cost no
// API request. Implementations must be safe for concurrent use. Get returns
// ok false for a missing or expired key. Errors are treated as misses (a
// broken cache slows lookups down, it never fails them).
type Cache interface {
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// MemoryCache is an in-process Cache, for tests, benchmarks and single
// instances.
type MemoryCache struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]memEntry
}

type memEntry struct {
	val     []byte
	expires time.Time
}

var _ Cache = (*MemoryCache)(nil)

// NewMemoryCache returns an empty MemoryCache reading the clock from now
// (time.Now when nil).
func NewMemoryCache(now func() time.Time) *MemoryCache {
	if now == nil {
		now = time.Now
	}
	return &MemoryCache{now: now, entries: map[string]memEntry{}}
}

// Get returns the value stored under key unless it has expired.
func (m *MemoryCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, false, nil
	}
	if !m.now().Before(e.expires) {
		delete(m.entries, key)
		return nil, false, nil
	}
	return e.val, true, nil
}

// Set stores val under key for ttl. Expired entries are swept when the
// cache grows past 10,000 keys.
func (m *MemoryCache) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.entries) >= 10000 {
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
	}
	m.entries[key] = memEntry{val: append([]byte(nil), val...), expires: now.Add(ttl)}
	return nil
}
