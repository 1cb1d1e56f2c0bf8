package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-cti/switchboard/adapter"
)

// The admin API: dead letters (call logs Salesforce refused for good).
//
//	GET    /admin/v1/dead-letters?limit=N      -> {"total":T,"deadLetters":[DeadLetter...]}
//	POST   /admin/v1/dead-letters/{id}/replay  -> {"replayed":id,"job":TaskJob}
//	DELETE /admin/v1/dead-letters/{id}         -> 204
//
// Authentication: "Authorization: Bearer <SWITCHBOARD_ADMIN_TOKEN>",
// compared in constant time. Agents' session tokens never work here. When
// no admin token is configured the admin API answers 404 admin_disabled.

// maxDeadLetterList bounds one listing.
const maxDeadLetterList = 1000

func (s *Server) adminRoutes(g *echo.Group) {
	// The check is per route, not g.Use: a group middleware makes Echo
	// answer a wrong method 404 instead of 405 with Allow.
	g.GET("/dead-letters", s.listDeadLetters, s.requireAdmin)
	g.POST("/dead-letters/:id/replay", s.replayDeadLetter, s.requireAdmin)
	g.DELETE("/dead-letters/:id", s.deleteDeadLetter, s.requireAdmin)
}

func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.cfg.AdminToken == "" || s.cfg.DeadLetters == nil {
			return c.JSON(http.StatusNotFound, map[string]errorBody{"error": {Code: "admin_disabled", Message: "the admin API is off: set SWITCHBOARD_ADMIN_TOKEN to turn it on"}})
		}
		got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		want := sha256.Sum256([]byte(s.cfg.AdminToken))
		have := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="switchboard-admin"`)
			return fmt.Errorf("admin API: send Authorization: Bearer <SWITCHBOARD_ADMIN_TOKEN>: %w", adapter.ErrUnauthorized)
		}
		return next(c)
	}
}

func (s *Server) listDeadLetters(c *echo.Context) error {
	limit := 100
	if q := c.QueryParam("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > maxDeadLetterList {
			return fmt.Errorf("limit: a number from 1 to %d: %w", maxDeadLetterList, adapter.ErrInvalid)
		}
		limit = n
	}
	list, total, err := s.cfg.DeadLetters.List(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []adapter.DeadLetter{}
	}
	return c.JSON(http.StatusOK, map[string]any{"total": total, "deadLetters": list})
}

func (s *Server) replayDeadLetter(c *echo.Context) error {
	id := c.Param("id")
	job, err := s.cfg.DeadLetters.Replay(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"replayed": id, "job": job})
}

func (s *Server) deleteDeadLetter(c *echo.Context) error {
	if err := s.cfg.DeadLetters.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
