package adapter

import (
	"github.com/switchboard-cti/switchboard/pbx"
)

// Agent is a Salesforce user working at an extension.
type Agent struct {
	// UserID is the Salesforce User Id (005...).
	UserID   string `json:"userId"`
	Username string `json:"username"`
	Name     string `json:"name"`
	// Extension is the device the agent controls; empty for a hot-desk user
	// or ACD agent who has not logged in yet.
	Extension string         `json:"extension"`
	Kind      pbx.DeviceKind `json:"kind"`
	// HomeExtension is the extension mapped to the user in Salesforce (the
	// User.Extension field): the regular phone, the hot-desk extension or
	// the ACD set.
	HomeExtension string `json:"homeExtension"`
	// ACDAgentID is the only ACD agent id the user may log in with (from
	// a Salesforce User field an admin sets; empty: none).
	ACDAgentID string `json:"acdAgentId,omitempty"`
}

// CanLogOut reports whether the softphone offers a log-out button (hot-desk
// users and ACD agents only, as the guide says).
func (a Agent) CanLogOut() bool { return a.Kind == pbx.KindHotDesk || a.Kind == pbx.KindACD }
