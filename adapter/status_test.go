package adapter_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

func TestEveryLayersErrorsMapToOneHTTPStatus(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
		wantCode   string
	}{
		{fmt.Errorf("number: not a phone number: %w", adapter.ErrInvalid), http.StatusBadRequest, "invalid_input"},
		{fmt.Errorf("hold: %w", pbx.ErrUnknownCall), http.StatusNotFound, "not_found"},
		{fmt.Errorf("conference: this PBX has no ConfBridge: %w", pbx.ErrNotSupported), http.StatusNotImplemented, "not_supported"},
		{fmt.Errorf("lookup: %w", salesforce.ErrUnavailable), http.StatusServiceUnavailable, "unavailable"},
		{fmt.Errorf("task: %w", salesforce.ErrInvalid), http.StatusBadGateway, "salesforce_rejected"},
	}
	for _, tc := range tests {
		status, code, ok := adapter.HTTPStatus(tc.err)
		if !ok || status != tc.wantStatus || code != tc.wantCode {
			t.Errorf("HTTPStatus(%v) = %d %q %v, want %d %q", tc.err, status, code, ok, tc.wantStatus, tc.wantCode)
		}
	}
	if _, _, ok := adapter.HTTPStatus(errors.New("a nil map")); ok {
		t.Error("an error of no vocabulary maps to a status; want ok false (internal error)")
	}
}
