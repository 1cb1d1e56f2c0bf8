package adapter

import (
	"context"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce"
)

// Store keeps per-agent state so that any number of stateless instances can
// serve the same agents. adapter/redisstore implements it on Redis.
//
// Methods return ErrNotFound for a missing item and ErrUnavailable (wrapped)
// when the store cannot be reached.
type Store interface {
	// Ping reports whether the store is usable.
	Ping(ctx context.Context) error

	// PutCall stores (creates or replaces) a call record of a device,
	// unconditionally: for seeding tests only. Every change the service
	// makes goes through UpdateCall.
	PutCall(ctx context.Context, c CallRecord) error
	// UpdateCall changes one call record atomically against every other
	// writer: f gets the current record (exists false and a zero record
	// when there is none), changes it in place and says what to store.
	// When another writer changed the record meanwhile, f runs again on
	// the new version, so f must have no side effects. It returns the
	// record as stored (or as deleted), or the error f returned.
	UpdateCall(ctx context.Context, ext, id string, f func(rec *CallRecord, exists bool) (CallChange, error)) (CallRecord, error)
	// SetCallTask records the Salesforce Task id of a call log, in a field
	// of its own (no other field of the record is read or written). No
	// effect when the call record is gone.
	SetCallTask(ctx context.Context, ext, id, taskID string) error
	// Call returns one call record of a device. ErrNotFound.
	Call(ctx context.Context, ext, id string) (CallRecord, error)
	// Calls returns a device's call records, oldest first.
	Calls(ctx context.Context, ext string) ([]CallRecord, error)
	// DeleteCall removes a call record (no error if missing).
	DeleteCall(ctx context.Context, ext, id string) error

	// PutAgent stores an agent's profile; Agent returns it (ErrNotFound).
	PutAgent(ctx context.Context, a Agent) error
	Agent(ctx context.Context, userID string) (Agent, error)
	// DeviceUser returns the user id of the agent on a device (ErrNotFound
	// when nobody is); SetDeviceUser sets or (with "") clears it.
	DeviceUser(ctx context.Context, ext string) (string, error)
	SetDeviceUser(ctx context.Context, ext, userID string) error

	// Claim takes a named lease for ttl if nobody holds it, or renews it if
	// owner already holds it. It reports whether owner holds it now.
	Claim(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Release gives a lease up if owner holds it.
	Release(ctx context.Context, name, owner string) error

	// EnqueueTask adds a Task write to the durable outbox.
	EnqueueTask(ctx context.Context, job TaskJob) error
	// NextTasks hands out up to n jobs to consumer: new ones, and ones
	// another consumer took more than stale ago without finishing.
	NextTasks(ctx context.Context, consumer string, n int, stale time.Duration) ([]TaskJob, error)
	// FinishTask removes a job from the outbox for good.
	FinishTask(ctx context.Context, job TaskJob) error
	// RetryTask puts a job back for a later attempt (Attempts incremented).
	RetryTask(ctx context.Context, job TaskJob) error

	// Settings returns an agent's settings (DefaultSettings when unset).
	Settings(ctx context.Context, userID string) (Settings, error)
	// PutSettings stores an agent's settings.
	PutSettings(ctx context.Context, userID string, s Settings) error
	// Favorites returns an agent's favorites, alphabetical.
	Favorites(ctx context.Context, userID string) ([]Favorite, error)
	// AddFavorite adds (or updates) a favorite; ErrLimit past MaxFavorites.
	AddFavorite(ctx context.Context, userID string, f Favorite) error
	// RemoveFavorite removes one (ErrNotFound when missing).
	RemoveFavorite(ctx context.Context, userID, id string) error
	// AddHistory records a finished call in the agent's lists (trimmed
	// atomically to their sizes).
	AddHistory(ctx context.Context, userID string, e HistoryEntry) error
	// History returns one list, newest first.
	History(ctx context.Context, userID string, list HistoryList) ([]HistoryEntry, error)

	// PutSession stores a session for ttl; Session returns its user id
	// (ErrNotFound when expired or ended); DeleteSession ends it.
	PutSession(ctx context.Context, sid, userID string, ttl time.Duration) error
	Session(ctx context.Context, sid string) (string, error)
	DeleteSession(ctx context.Context, sid string) error

	// PutLogin keeps a pending OAuth login (state -> PKCE verifier and
	// return path) for ttl; TakeLogin returns it once (ErrNotFound).
	PutLogin(ctx context.Context, state string, l PendingLogin, ttl time.Duration) error
	TakeLogin(ctx context.Context, state string) (PendingLogin, error)

	// CachedMatches / CacheMatches: a short-lived number -> matches cache.
	Cache(ctx context.Context, key string) ([]byte, bool, error)
	SetCache(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// CallChange says what UpdateCall stores.
type CallChange int

// What UpdateCall does with the record f returns.
const (
	// CallKeep writes nothing.
	CallKeep CallChange = iota
	// CallPut stores the record.
	CallPut
	// CallDelete removes the record.
	CallDelete
)

// PendingLogin is an OAuth login between authorize and callback.
type PendingLogin struct {
	Verifier string `json:"verifier"`
	Return   string `json:"return"`
	// Base is the browser's base URL the sign-in returns to, when the
	// IdentityProvider is a BaseURLProvider (demo mode).
	Base string `json:"base,omitempty"`
}

// TaskJob is one Salesforce Task write waiting in the outbox.
type TaskJob struct {
	// ID is the outbox's own id (set by the store).
	ID string `json:"-"`
	// Key identifies the call log: "<call id>/<extension>".
	Key       string          `json:"key"`
	UserID    string          `json:"userId"`
	Extension string          `json:"extension"`
	CallID    string          `json:"callId"`
	Task      salesforce.Task `json:"task"`
	// TaskID is set for an update of a Task already written.
	TaskID string `json:"taskId,omitempty"`
	// AsUsername is the agent's Salesforce username, for orgs where Tasks
	// are written as the agent (salesforce.Task.AsUsername is not stored).
	AsUsername string    `json:"asUsername,omitempty"`
	Attempts   int       `json:"attempts"`
	Created    time.Time `json:"created"`
}

// Bus carries agent events between instances: the instance that handles a
// switch event publishes, every instance with a socket of that agent
// delivers. adapter/redisstore implements it on Redis pub/sub.
type Bus interface {
	// Publish assigns the device's next sequence number to ev and sends it
	// to every instance.
	Publish(ctx context.Context, ext string, ev AgentEvent) error
	// Seq returns the device's last sequence number.
	Seq(ctx context.Context, ext string) (uint64, error)
	// Listen calls f for every event published by any instance, in order
	// per device, until ctx ends. ready is closed once listening.
	Listen(ctx context.Context, ready chan<- struct{}, f func(ext string, ev AgentEvent)) error
}
