package adapter

import (
	"context"
	"fmt"

	"github.com/switchboard-cti/switchboard/pbx"
)

// Phone logins: hot-desk users log in to an extension with a PIN, ACD agents
// log in to their set with an agent id. Regular users are always on their
// phone and cannot log out (the guide).

// HotDeskLogin logs the agent in to a hot-desk extension.
func (s *Service) HotDeskLogin(ctx context.Context, a Agent, ext, pin string) (Agent, error) {
	if a.Kind != pbx.KindHotDesk {
		return Agent{}, fmt.Errorf("hot-desk login: only for hot-desk users: %w", ErrForbidden)
	}
	if ext == "" {
		ext = a.HomeExtension
	}
	if ext != a.HomeExtension {
		return Agent{}, fmt.Errorf("hot-desk login: extension %s is not yours (%s): %w", clip(ext, 20), a.HomeExtension, ErrForbidden)
	}
	if pin == "" || len(pin) > 16 {
		return Agent{}, fmt.Errorf("pin: required, at most 16 digits: %w", ErrInvalid)
	}
	if err := s.Switch.HotDeskLogin(ctx, ext, pin); err != nil {
		return Agent{}, fmt.Errorf("hot-desk login: %w", err)
	}
	return s.bindDevice(ctx, a, ext)
}

// ACDLogin logs an ACD agent in to the agent's set.
func (s *Service) ACDLogin(ctx context.Context, a Agent, agentID string) (Agent, error) {
	if a.Kind != pbx.KindACD {
		return Agent{}, fmt.Errorf("ACD login: only for ACD agents: %w", ErrForbidden)
	}
	if agentID == "" || len(agentID) > 16 {
		return Agent{}, fmt.Errorf("agentId: required, at most 16 characters: %w", ErrInvalid)
	}
	// An agent id is bound to one Salesforce user: nobody logs in as
	// another agent.
	if a.ACDAgentID == "" {
		return Agent{}, fmt.Errorf("ACD login: no agent id is assigned to you: an admin must set it on your Salesforce user (SWITCHBOARD_SF_USER_ACD_AGENT_FIELD): %w", ErrForbidden)
	}
	if agentID != a.ACDAgentID {
		return Agent{}, fmt.Errorf("ACD login: agent id %s is not yours: %w", clip(agentID, 16), ErrForbidden)
	}
	if err := s.Switch.ACDLogin(ctx, a.HomeExtension, agentID); err != nil {
		return Agent{}, fmt.Errorf("ACD login: %w", err)
	}
	return s.bindDevice(ctx, a, a.HomeExtension)
}

func (s *Service) bindDevice(ctx context.Context, a Agent, ext string) (Agent, error) {
	a.Extension = ext
	if err := s.Store.SetDeviceUser(ctx, ext, a.UserID); err != nil {
		return Agent{}, err
	}
	if err := s.Store.PutAgent(ctx, a); err != nil {
		return Agent{}, err
	}
	return a, nil
}

// PhoneLogout logs a hot-desk user or ACD agent out of the phone.
func (s *Service) PhoneLogout(ctx context.Context, a Agent) (Agent, error) {
	if !a.CanLogOut() {
		return Agent{}, fmt.Errorf("log out: regular users stay on their phone: %w", ErrForbidden)
	}
	if a.Extension == "" {
		return a, nil
	}
	var err error
	if a.Kind == pbx.KindACD {
		err = s.Switch.ACDLogout(ctx, a.Extension)
	} else {
		err = s.Switch.HotDeskLogout(ctx, a.Extension)
	}
	if err != nil {
		return Agent{}, fmt.Errorf("log out: %w", err)
	}
	if err := s.Store.SetDeviceUser(ctx, a.Extension, ""); err != nil {
		return Agent{}, err
	}
	a.Extension = ""
	if err := s.Store.PutAgent(ctx, a); err != nil {
		return Agent{}, err
	}
	return a, nil
}
