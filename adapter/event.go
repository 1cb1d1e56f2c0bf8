package adapter

import "github.com/switchboard-cti/switchboard/pbx"

// AgentEventType names what an AgentEvent carries.
type AgentEventType string

// Agent event types (the WebSocket protocol, docs/agent-api.md).
const (
	EventCall      AgentEventType = "call"       // Call appeared or changed
	EventCallEnded AgentEventType = "call_ended" // the agent left Call
	EventDevice    AgentEventType = "device"     // Device changed
	EventTask      AgentEventType = "task"       // CallID's Task was written
	EventSettings  AgentEventType = "settings"   // settings changed in another tab
	EventFavorites AgentEventType = "favorites"  // favorites changed
	EventHistory   AgentEventType = "history"    // a call entered the history
	// EventResync: events may have been lost (the bus reconnected); every
	// client must fetch the state again.
	EventResync AgentEventType = "resync"
)

// AgentEvent is pushed to every socket of the agent on a device.
type AgentEvent struct {
	Type AgentEventType `json:"type"`
	// Seq increases by one for each event of the device (assigned by Bus).
	Seq    uint64           `json:"seq"`
	Call   *CallRecord      `json:"call,omitempty"`
	Device *pbx.DeviceState `json:"device,omitempty"`
	CallID string           `json:"callId,omitempty"`
	TaskID string           `json:"taskId,omitempty"`
}
