# Switchboard. `make test` runs every test (Go with the race detector, and
# the softphone in headless Chromium); it installs and starts what the tests
# need when missing (scripts/test-deps.sh).
GO ?= go
BIN := bin/switchboard
LDFLAGS := -s -w

.PHONY: test deps vet tidy-check go-test cluster-test browser-test real-pbx-test build run bench fuzz screenshots load-smoke load

test: deps vet tidy-check go-test cluster-test build load-smoke browser-test real-pbx-test

deps:
	@bash scripts/test-deps.sh

vet:
	$(GO) vet ./...

# go.mod and go.sum must be what `go mod tidy` makes (it prints the diff
# and fails otherwise).
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy and commit the result" >&2; exit 1; }

# Tests use their own Redis key prefix and delete their keys; the check
# after the run fails if any test left a key under the test prefixes. The
# call log fault suite (cmd/switchboard, TestCallLogs...) runs its full
# 1,000 calls here: 50-75 s with the race detector on 2 busy cores.
go-test:
	$(GO) test -race -count=1 ./...

# The Redis tests again on a real three-master Redis Cluster (and a
# server behind a Sentinel) that scripts/redis-cluster.sh starts on free
# loopback ports and removes afterwards: the store's own tests, then the
# end-to-end tests with the whole program on the cluster
# (SWITCHBOARD_TEST_REDIS_URL=redis+cluster://).
CLUSTER_E2E ?= TestAnAgentOnInstanceB|TestWhenAnInstanceStops|TestSeveralTabs|TestInboundCallIsPopped|TestASupervisedTransfer|TestAnUnansweredTransfer|TestACallOfAnAgentWhoNever|TestAnOutgoingCall|TestARefusedCallLog|TestASlowSalesforce|TestACallThatRang|ShareOneSimulator|SimulatorRunningAsItsOwnProcess|OnRedisCluster|TestACallThatEndedWhileNoInstanceRan
cluster-test:
	bash scripts/redis-cluster.sh run bash -c '$(GO) test -race -count=1 ./adapter/redisstore && \
		SWITCHBOARD_TEST_REDIS_URL=redis+cluster://$$SWITCHBOARD_TEST_REDIS_CLUSTER $(GO) test -race -count=1 -run "$(CLUSTER_E2E)" ./cmd/switchboard'

# The same static build the Dockerfile makes.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/switchboard

# Browser test screenshots go to tests/browser/out/ (ignored): `make test`
# leaves the tree clean.
browser-test: build
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN) bash scripts/browser-test.sh

# The real-PBX tier: a real Asterisk (fetched from Debian's archive into
# ~/.cache/switchboard), baresip phones and SIPp on loopback. Fails loudly
# when Asterisk cannot be fetched; SWITCHBOARD_SKIP_REAL_PBX=1 skips it.
real-pbx-test:
	bash scripts/asterisk-lab.sh test

# Rewrites the README's screenshots in docs/screenshots/ (the browser tests
# that take them).
screenshots: deps build
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN) SWITCHBOARD_SCREENSHOTS=docs bash scripts/browser-test.sh idle.test.js calls.test.js settings.test.js agents.test.js demo.test.js

# A small load run whose figures are printed (cmd/switchboard-load).
load-smoke: build
	$(GO) run ./cmd/switchboard-load -bin $(BIN) -agents 50 -rate 20 -duration 3s -progress 0

# A full-size load run: make load AGENTS=10000 RATE=200 ORG_LATENCY=50ms
AGENTS ?= 1000
RATE ?= 200
ORG_LATENCY ?= 0s
DURATION ?= 30s
load: build
	$(GO) run ./cmd/switchboard-load -bin $(BIN) -agents $(AGENTS) -rate $(RATE) -org-latency $(ORG_LATENCY) -duration $(DURATION)

run:
	$(GO) run ./cmd/switchboard

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCommands -fuzztime 30s ./pbx/sim
