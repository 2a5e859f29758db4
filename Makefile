# skiff — two commands: `make run` starts a single-node cluster, `make test`
# runs every test. Both install the Debian packages they need on first use.

GO        ?= go
BIN       := bin/skiff
DATA_DIR  ?= .skiff
PORT      ?= 6443
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_DATE := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X github.com/skiffhq/skiff/internal/version.gitCommit=$(GIT_COMMIT) \
             -X github.com/skiffhq/skiff/internal/version.buildDate=$(BUILD_DATE)

# Debian packages: a command (or absolute path) each provides, and its name.
RUN_PKGS  := containerd:containerd runc:runc crun:crun /usr/lib/cni/bridge:containernetworking-plugins /usr/share/doc/busybox-static:busybox-static iptables:iptables ip:iproute2
TEST_PKGS := $(RUN_PKGS) etcd:etcd-server kubectl:kubectl

.PHONY: all build run test test-short bench deps-run deps-test vet fmt clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/skiff

# Install a Debian package for every missing command (needs root and apt).
define ensure_pkgs
	@missing=""; for pair in $(1); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || test -e $$cmd || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

deps-run:
	$(call ensure_pkgs,$(RUN_PKGS))

deps-test:
	$(call ensure_pkgs,$(TEST_PKGS))

run: deps-run build
	./$(BIN) server --data-dir $(DATA_DIR) --https-listen-port $(PORT)

test: deps-test vet
	$(GO) test -count=1 -timeout 25m ./...

test-short: vet
	$(GO) test -count=1 -short ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x ./test/bench/...

vet:
	@test -z "$$(gofmt -l cmd internal test)" || (gofmt -l cmd internal test; echo "gofmt needed"; exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin
