# Switchboard. `make test` runs every test (Go with the race detector, and
# the softphone in headless Chromium); it installs and starts what the tests
# need when missing (scripts/test-deps.sh).
GO ?= go
BIN := bin/switchboard
LDFLAGS := -s -w

.PHONY: test deps vet tidy-check go-test browser-test build run bench fuzz

test: deps vet tidy-check go-test build browser-test

deps:
	@bash scripts/test-deps.sh

vet:
	$(GO) vet ./...

# go.mod and go.sum must be what `go mod tidy` makes (it prints the diff
# and fails otherwise).
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy and commit the result" >&2; exit 1; }

# Tests use their own Redis key prefix and delete their keys; the check
# after the run fails if any test left a key under the test prefixes.
go-test:
	$(GO) test -race -count=1 ./...

# The same static build the Dockerfile makes.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/switchboard

browser-test: build
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN) bash scripts/browser-test.sh

run:
	$(GO) run ./cmd/switchboard

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCommands -fuzztime 30s ./pbx/sim
