package adapter

import (
	"context"
	"fmt"

	"github.com/switchboard-cti/switchboard/salesforce"
)

// Settings returns the agent's settings; a Pop-Up Order never chosen is
// the admin's default.
func (s *Service) Settings(ctx context.Context, a Agent) (Settings, error) {
	st, err := s.Store.Settings(ctx, a.UserID)
	if err != nil {
		return Settings{}, err
	}
	if st.PopOrder == nil {
		st.PopOrder = append([]salesforce.PopRule{}, s.DefaultPopOrder...)
	}
	return st, nil
}

// PutSettings validates and stores the agent's settings and tells the
// agent's other tabs.
func (s *Service) PutSettings(ctx context.Context, a Agent, st Settings) (Settings, error) {
	if err := st.Validate(); err != nil {
		return Settings{}, err
	}
	if err := s.Store.PutSettings(ctx, a.UserID, st); err != nil {
		return Settings{}, err
	}
	s.notify(ctx, a, EventSettings)
	return st, nil
}

func (s *Service) notify(ctx context.Context, a Agent, t AgentEventType) {
	if a.Extension != "" {
		_ = s.Bus.Publish(ctx, a.Extension, AgentEvent{Type: t})
	}
}

// Favorites returns the agent's favorites, alphabetical.
func (s *Service) Favorites(ctx context.Context, a Agent) ([]Favorite, error) {
	return s.Store.Favorites(ctx, a.UserID)
}

// AddFavorite adds a favorite (ErrLimit past MaxFavorites).
func (s *Service) AddFavorite(ctx context.Context, a Agent, f Favorite) (Favorite, error) {
	if err := f.Validate(); err != nil {
		return Favorite{}, err
	}
	if _, _, err := s.Numbers.Dial(f.Number); err != nil {
		return Favorite{}, err
	}
	if err := s.Store.AddFavorite(ctx, a.UserID, f); err != nil {
		return Favorite{}, err
	}
	s.notify(ctx, a, EventFavorites)
	return f, nil
}

// RemoveFavorite removes a favorite (ErrNotFound).
func (s *Service) RemoveFavorite(ctx context.Context, a Agent, id string) error {
	if id == "" || len(id) > 255 {
		return fmt.Errorf("favorite id: required: %w", ErrInvalid)
	}
	if err := s.Store.RemoveFavorite(ctx, a.UserID, id); err != nil {
		return err
	}
	s.notify(ctx, a, EventFavorites)
	return nil
}

// History returns one of the agent's call history lists, newest first.
func (s *Service) History(ctx context.Context, a Agent, list string) ([]HistoryEntry, error) {
	if list == "" {
		list = string(HistoryAll)
	}
	for _, l := range HistoryLists {
		if string(l) == list {
			return s.Store.History(ctx, a.UserID, l)
		}
	}
	return nil, fmt.Errorf("list: %q is not one of all, missed, received, outgoing: %w", clip(list, 20), ErrInvalid)
}
