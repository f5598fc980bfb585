# Nimbus: `make up` builds and starts the all-in-one cloud; `make test` runs every test.
SHELL := /bin/bash
GO_BIN := $(shell ./scripts/ensure-go.sh)
export PATH := $(GO_BIN):$(PATH)
GOFLAGS ?= -buildvcs=false
export GOFLAGS

.PHONY: build up test test-unit vet bench clean test-image novnc

build: novnc
	go build -o bin/nimbus ./cmd/nimbus

# The noVNC library the console proxy serves, from the npm package, into a
# git-ignored directory the binary embeds; quick when already there. Without
# npm the binary is built without it (and says so).
NOVNC_VERSION := 1.7.0
NOVNC_DIR := internal/console/novncproxy/novnc
novnc:
	@if ! grep -qs '"version": "$(NOVNC_VERSION)"' $(NOVNC_DIR)/package.json; then \
		command -v npm >/dev/null || { echo "warning: npm (Node.js) not found: building without the noVNC web client; the console proxy will answer 503" >&2; exit 0; }; \
		tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		npm pack --silent --pack-destination "$$tmp" @novnc/novnc@$(NOVNC_VERSION) >/dev/null && \
		tar -xzf "$$tmp"/novnc-novnc-$(NOVNC_VERSION).tgz -C "$$tmp" && \
		rm -f "$$tmp"/package/README.md && \
		find $(NOVNC_DIR) -mindepth 1 ! -name README.md -exec rm -rf {} + && \
		cp -R "$$tmp"/package/. $(NOVNC_DIR)/ && \
		echo "noVNC $(NOVNC_VERSION) in $(NOVNC_DIR)"; \
	fi

# A new cloud offers the tiny test guest as image nimbus-tiny: build it first
# (quick when built); without it the cloud starts all the same.
up: build
	@./scripts/build-test-image.sh >/dev/null || echo "make up: no test image (see above); the cloud offers no image" >&2
	./bin/nimbus up $(ARGS)

vet:
	go vet ./...

# Every test: unit, store suites on SQLite, MariaDB and PostgreSQL, and the
# in-process cloud over HTTP. Servers that cannot be had make their tests skip.
test: vet
	eval "$$(./scripts/test-services.sh)"; go test -race -count=1 -timeout 20m ./...

test-unit:
	go test -count=1 ./...

# Inner-loop benchmarks, then the whole cloud measured by bench/run.sh.
bench: build
	go test -run '^$$' -bench . -benchmem ./internal/...
	bench/run.sh

# The tiny guest the QEMU driver's tests boot, built from Debian packages into
# $NIMBUS_TEST_IMAGE_DIR (default ~/.cache/nimbus/test-image); quick when built.
test-image:
	./scripts/build-test-image.sh

clean:
	rm -rf bin
