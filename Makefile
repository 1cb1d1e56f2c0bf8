# Switchboard. `make test` runs every test (Go with the race detector, and
# the softphone in headless Chromium); it installs and starts what the tests
# need when missing (scripts/test-deps.sh).
GO ?= go
BIN := bin/switchboard
LDFLAGS := -s -w

.PHONY: test deps vet go-test browser-test real-pbx-test build run bench fuzz

test: deps vet go-test build browser-test real-pbx-test

deps:
	@bash scripts/test-deps.sh

vet:
	$(GO) vet ./...

go-test:
	$(GO) test -race -count=1 ./...

# The same static build the Dockerfile makes.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/switchboard

browser-test: build
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN) bash scripts/browser-test.sh

# The real-PBX tier: a real Asterisk (fetched from Debian's archive into
# ~/.cache/switchboard), baresip phones and SIPp on loopback. Fails loudly
# when Asterisk cannot be fetched; SWITCHBOARD_SKIP_REAL_PBX=1 skips it.
real-pbx-test:
	bash scripts/asterisk-lab.sh test

run:
	$(GO) run ./cmd/switchboard

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCommands -fuzztime 30s ./pbx/sim
