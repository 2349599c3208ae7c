# Cordon: two commands do all set-up on a fresh Debian 12 machine with the Swift toolchain:
#   make demo   builds and runs a shipped plugin confined by the default policy
#   make test   builds and runs the whole test suite (what .ci/run calls)
SWIFT ?= swift
SCRATCH ?= .build
BIN = $(SCRATCH)/debug
RELEASE_BIN = $(SCRATCH)/release

.PHONY: deps demo build test bench fuzz clean

deps:
	@scripts/ensure-deps.sh

build: deps
	$(SWIFT) build --scratch-path $(SCRATCH)

demo: deps
	@$(SWIFT) build --scratch-path $(SCRATCH) --product cordon-worker
	@$(SWIFT) build --scratch-path $(SCRATCH) --product cordon
	@$(BIN)/cordon demo

test: deps
	$(SWIFT) build --scratch-path $(SCRATCH) --build-tests
	$(SWIFT) test --scratch-path $(SCRATCH) --skip-build
	@if [ -x Tests/Fuzz/ci.sh ]; then Tests/Fuzz/ci.sh; fi

bench: deps
	@scripts/ensure-deps.sh --with-bench
	$(SWIFT) build -c release --scratch-path $(SCRATCH) --product cordon-worker
	$(SWIFT) build -c release --scratch-path $(SCRATCH) --product CordonTestPeer
	$(SWIFT) build -c release --scratch-path $(SCRATCH) --product cordon-bench
	$(RELEASE_BIN)/cordon-bench all

fuzz: deps
	Tests/Fuzz/run.sh $(TARGET) $(SECONDS)

clean:
	rm -rf $(SCRATCH)
