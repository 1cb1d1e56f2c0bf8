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

	Outbox

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

// CallsBatcher is what a Store may also do: read the call records of
// many devices in one round trip. The Service uses it to resync every
// device it claimed at start (else it calls Calls once per device).
type CallsBatcher interface {
	// CallsMany returns each device's call records, as Calls does, by
	// extension; a device with none may be missing from the map.
	// ErrUnavailable (wrapped) when the store cannot be reached.
	CallsMany(ctx context.Context, exts []string) (map[string][]CallRecord, error)
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

// Outbox is the durable queue of Task writes (a Redis stream with a
// consumer group in adapter/redisstore). A job is handed to one consumer at
// a time; one that a stopped consumer took is handed out again after it has
// been idle for stale. Every method returns ErrUnavailable (wrapped) when
// the store cannot be reached.
type Outbox interface {
	// EnqueueTask adds a Task write to the durable outbox, due now (or at
	// job.NotBefore when that is later).
	EnqueueTask(ctx context.Context, job TaskJob) error
	// NextTasks hands out up to n jobs to consumer: due ones, and ones
	// another consumer took more than stale ago without finishing (those
	// have Reclaimed set: an attempt may have been sent).
	NextTasks(ctx context.Context, consumer string, n int, stale time.Duration) ([]TaskJob, error)
	// FinishTask removes a job from the outbox for good.
	FinishTask(ctx context.Context, job TaskJob) error
	// RetryTask puts a job back for a later attempt, due at job.NotBefore.
	RetryTask(ctx context.Context, job TaskJob) error
	// BeginTasks takes the write lock of each job's call log for owner
	// (for ttl) and returns, in order, whether it got it and the last
	// Task written for that call log.
	BeginTasks(ctx context.Context, owner string, jobs []TaskJob, ttl time.Duration) ([]TaskMark, error)
	// EndTasks settles jobs taken with BeginTasks in one step: each is
	// finished (with the Task written, when Mark is set), put back for
	// later, or moved to the dead-letter list; its lock is released.
	EndTasks(ctx context.Context, owner string, ends []TaskEnd) error
	// SetCallTasks records the Task ids of several call logs, as
	// SetCallTask does.
	SetCallTasks(ctx context.Context, marks []CallTask) error

	// DeadLetters returns up to limit dead letters, oldest first, and how
	// many there are.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, int, error)
	// ReplayDeadLetter puts a dead letter's job back in the outbox (due
	// now, attempts and repairs reset). ErrNotFound.
	ReplayDeadLetter(ctx context.Context, id string) (TaskJob, error)
	// DeleteDeadLetter discards a dead letter. ErrNotFound.
	DeleteDeadLetter(ctx context.Context, id string) error
}

// TaskMark is what BeginTasks says about one job's call log.
type TaskMark struct {
	// Locked: the caller holds the call log's write lock now.
	Locked bool
	// TaskID is the Task last written for the call log ("" when none),
	// Version the Created time (UnixNano) of the job that wrote it.
	TaskID  string
	Version int64
}

// TaskEndKind is how EndTasks settles a job.
type TaskEndKind int

// How a job ends.
const (
	// TaskDone: written (Mark.TaskID set) or superseded; removed.
	TaskDone TaskEndKind = iota + 1
	// TaskRetry: put back, due at Job.NotBefore.
	TaskRetry
	// TaskDead: moved to the dead-letter list with Reason and Code.
	TaskDead
)

// TaskEnd settles one job.
type TaskEnd struct {
	Kind TaskEndKind
	Job  TaskJob
	// Mark is the Task written, for TaskDone after a write.
	Mark *TaskMark
	// Reason and Code say why Salesforce refused it (TaskDead).
	Reason, Code string
}

// CallTask is the Task id of one call log, for SetCallTasks.
type CallTask struct{ Extension, CallID, TaskID string }

// DeadLetter is a call log Salesforce refused even after one repair: the
// whole job (Task included) and why. It stays until replayed or deleted.
type DeadLetter struct {
	ID     string    `json:"id"`
	Job    TaskJob   `json:"job"`
	Reason string    `json:"reason"`
	Code   string    `json:"code"`
	At     time.Time `json:"at"`
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
	AsUsername string `json:"asUsername,omitempty"`
	// Attempts counts the attempts so far (a lost one, by a consumer that
	// stopped, included); there is no cap: a job waits until Salesforce
	// takes it or refuses it for good (then it is a dead letter).
	Attempts int       `json:"attempts"`
	Created  time.Time `json:"created"`
	// NotBefore is when the job is due (retries, grace-period writes).
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Uncertain: an earlier create may have reached Salesforce with its
	// answer lost (timeout, dropped connection, crash): look for the Task
	// before creating one.
	Uncertain bool `json:"uncertain,omitempty"`
	// Repaired: the Task was repaired once after Salesforce refused it;
	// a second refusal makes it a dead letter.
	Repaired bool `json:"repaired,omitempty"`
	// Grace: the server-side write of a call left in post-call: the Task
	// is built from the call record as it is when the job runs.
	Grace bool `json:"grace,omitempty"`
	// LastError is the last failure, for the operator.
	LastError string `json:"lastError,omitempty"`
	// Reclaimed is set by NextTasks on a job another consumer had taken.
	Reclaimed bool `json:"-"`
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
