# strait: the two commands of the quick start, and the builds behind them.
#   make demo   installs what is missing, builds, and runs a live local mesh (straitctl demo)
#   make test   installs what is missing, builds, runs every test (unit tests under ASan+UBSan, e2e, fuzz)
#   make bench  the benchmarks side by side with HAProxy and nginx
# Build trees: build/ (release: binaries, the dashboard, e2e), build-asan/ (unit tests, sanitizers;
# without the dashboard and the sample application, which only the e2e tests use), build-fuzz/ (clang).

SHELL := /bin/bash
JOBS ?= $(shell nproc)
CMAKE_COMMON := -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
export CCACHE_DIR ?= $(HOME)/.cache/strait-ccache
CONFIGURE_RELEASE := cmake -S . -B build $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRAIT_UNIT_TESTS=OFF -DSTRAIT_E2E=ON -DSTRAIT_BENCH=ON >/dev/null

.PHONY: all deps build build-asan build-fuzz test unit e2e fuzz bench demo clean format

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@$(CONFIGURE_RELEASE)
	@cmake --build build -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DSTRAIT_SANITIZE=ON -DSTRAIT_UNIT_TESTS=ON -DSTRAIT_DASHBOARD=OFF -DSTRAIT_SAMPLE=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)

# clang 16: the config parsers' fuzzers need std::expected (see fuzz/CMakeLists.txt).
build-fuzz: deps
	@cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

unit: build-asan
	ctest --test-dir build-asan --output-on-failure -j $(JOBS)

e2e: build
	ctest --test-dir build --output-on-failure

fuzz: build-fuzz
	ctest --test-dir build-fuzz --output-on-failure

# Unit tests first (fast feedback), then the fuzz smoke run, then the end-to-end suite last so that
# its ctest summary closes the output.
test: unit fuzz e2e

bench: build
	@./scripts/install-deps.sh --bench
	./bench/run-bench.sh

# The four binaries the demo runs and the dashboard, then straitctl demo in the foreground (Ctrl-C stops it all).
# make demo DEMO_FLAGS="--api-port 0 --grpc-port 0" when 15014/15012 are taken.
DEMO_FLAGS ?=
demo: deps
	@echo "make demo: building straitd, strait-proxy, straitctl, strait-sample and the dashboard in build/ (the first time takes a while)"
	@$(CONFIGURE_RELEASE)
	@cmake --build build -j $(JOBS) --target straitd strait-proxy straitctl strait-sample dashboard
	@exec build/bin/straitctl demo $(DEMO_FLAGS)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-asan build-fuzz
