# strait: the two commands of the quick start, and the builds behind them.
#   make test   installs what is missing, builds, runs every test (unit tests under ASan+UBSan, e2e, fuzz)
#   make bench  the benchmarks side by side with HAProxy and nginx
# Build trees: build/ (release: binaries, e2e), build-asan/ (unit tests, sanitizers), build-fuzz/ (clang).

SHELL := /bin/bash
JOBS ?= $(shell nproc)
CMAKE_COMMON := -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
export CCACHE_DIR ?= $(HOME)/.cache/strait-ccache

.PHONY: all deps build build-asan build-fuzz test unit e2e fuzz bench demo clean format

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B build $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRAIT_UNIT_TESTS=OFF -DSTRAIT_E2E=ON -DSTRAIT_BENCH=ON >/dev/null
	@cmake --build build -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DSTRAIT_SANITIZE=ON -DSTRAIT_UNIT_TESTS=ON >/dev/null
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

demo:
	@echo "make demo arrives with the first-run work (issue 7); see README.md" >&2; exit 2

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-asan build-fuzz
