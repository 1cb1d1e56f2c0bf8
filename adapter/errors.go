// Package adapter is Switchboard's domain: agents, their calls, call logs,
// settings, favorites and history, and the Service that turns switch events
// into screen pops, pushes to the agent's softphone and Salesforce Tasks.
//
// adapter declares the small interfaces it needs (Store, Bus, CRM) and
// imports no HTTP framework and no Redis client: those live in the
// subpackages adapter/httpapi and adapter/redisstore, which never import each
// other. It may use the value types of pbx and salesforce.
package adapter

import "errors"

// The error vocabulary of the adapter. Every error that leaves the package
// wraps one of these (or a pbx / salesforce sentinel) with %w and context;
// HTTPStatus (status.go) maps them to HTTP status codes in one table.
var (
	// ErrInvalid: the input is malformed; the message says what to fix.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound: no such call, favorite, agent, ...
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: no, expired or forged credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: authenticated, but not allowed to touch this resource.
	ErrForbidden = errors.New("forbidden")
	// ErrConflict: the resource is not in a state that allows the request.
	ErrConflict = errors.New("conflict")
	// ErrLimit: a per-agent limit was reached (51st favorite, ...).
	ErrLimit = errors.New("limit reached")
	// ErrTooLarge: the input exceeds a size limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable: a dependency (Redis, the switch, Salesforce) is down.
	ErrUnavailable = errors.New("unavailable")
)
