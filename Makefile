# Nimbus: `make up` builds and starts the all-in-one cloud; `make test` runs every test.
SHELL := /bin/bash
GO_BIN := $(shell ./scripts/ensure-go.sh)
export PATH := $(GO_BIN):$(PATH)
GOFLAGS ?= -buildvcs=false
export GOFLAGS

.PHONY: build up test test-unit vet bench clean test-image

build:
	go build -o bin/nimbus ./cmd/nimbus

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
