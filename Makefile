# The two set-up commands of the README are `make devnet` and `make test`; each installs what a
# fresh machine lacks (libclang for RocksDB's bindings) before building. Without cargo-nextest
# (whose `ci` profile runs the multi-validator tests one at a time), tests run one at a time:
# several loopback networks at once would compete for two cores.

CARGO ?= cargo
# Extra arguments for `babel devnet`, e.g. DEVNET_ARGS="--duration-secs 60 --reset".
DEVNET_ARGS ?=

.PHONY: devnet test lint setup

setup:
	@scripts/ensure-libclang.sh

devnet: setup
	$(CARGO) run --release --bin babel -- devnet $(DEVNET_ARGS)

test: setup
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --profile ci; \
	else \
		$(CARGO) test --workspace -- --test-threads=1; \
	fi

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
