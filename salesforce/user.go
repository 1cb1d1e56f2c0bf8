package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// User is a Salesforce user as the adapter needs it.
type User struct {
	// ID is the user id (005...).
	ID string `json:"id"`
	// Username is the login name (an email-like string).
	Username string `json:"username"`
	// Name is the full name.
	Name string `json:"name"`
	// Email is the user's email.
	Email string `json:"email"`
	// Extension is the PBX extension from Config.UserExtensionField
	// (standard User.Extension by default).
	Extension string `json:"extension"`
	// ACDAgentID is the ACD agent id the user may log in with, from
	// Config.UserACDAgentField (standard User.EmployeeNumber by default).
	ACDAgentID string `json:"acdAgentId,omitempty"`
}

// User reads one user by id. ErrNotFound when there is none, ErrInvalid
// for a malformed id (nothing sent).
func (c *Client) User(ctx context.Context, userID string) (User, error) {
	if !IsID(userID) {
		return User{}, fmt.Errorf("salesforce: user: %w", &Error{StatusCode: http.StatusBadRequest, ErrorCode: "MALFORMED_ID", Message: "not a user id", Fields: []string{"Id"}})
	}
	return c.userWhere(ctx, "Id", userID)
}

// UserByUsername reads one user by username.
func (c *Client) UserByUsername(ctx context.Context, username string) (User, error) {
	return c.userWhere(ctx, "Username", username)
}

// UserByExtension reads the active user with the given extension.
func (c *Client) UserByExtension(ctx context.Context, ext string) (User, error) {
	return c.userWhere(ctx, c.cfg.UserExtensionField, ext)
}

func (c *Client) userWhere(ctx context.Context, field, value string) (User, error) {
	ext := c.cfg.UserExtensionField
	if !isAPIName(ext) {
		return User{}, fmt.Errorf("salesforce: user: %w", &Error{StatusCode: http.StatusBadRequest, ErrorCode: "INVALID_FIELD", Message: "bad extension field name", Fields: []string{ext}})
	}
	fields := "Id, Username, Name, Email"
	if ext != "Id" && ext != "Username" && ext != "Name" && ext != "Email" {
		fields += ", " + ext
	}
	acd := c.cfg.UserACDAgentField
	if acd == "-" {
		acd = ""
	}
	if acd != "" && !isAPIName(acd) {
		return User{}, fmt.Errorf("salesforce: user: %w", &Error{StatusCode: http.StatusBadRequest, ErrorCode: "INVALID_FIELD", Message: "bad ACD agent field name", Fields: []string{acd}})
	}
	if acd != "" && !strings.Contains(", "+fields+", ", ", "+acd+", ") {
		fields += ", " + acd
	}
	soql := "SELECT " + fields + " FROM User WHERE " + field + " = " + QuoteSOQL(value)
	if field != "Id" {
		soql += " AND IsActive = true"
	}
	soql += " LIMIT 2"
	recs, err := c.Query(ctx, soql)
	if err != nil {
		return User{}, fmt.Errorf("salesforce: user by %s: %w", field, err)
	}
	if len(recs) == 0 {
		return User{}, fmt.Errorf("salesforce: user by %s: %w", field, &Error{StatusCode: http.StatusNotFound, ErrorCode: "NOT_FOUND", Message: "no such user"})
	}
	r := recs[0]
	return User{ID: r.ID(), Username: r.String("Username"), Name: r.String("Name"), Email: r.String("Email"), Extension: r.String(ext), ACDAgentID: r.String(acd)}, nil
}
