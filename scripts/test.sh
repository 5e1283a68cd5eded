#!/usr/bin/env bash
# The second README command: installs what the tests need (apt + npm, pinned by
# tests/integration/package-lock.json) and runs every test, in a normal build
# and in an ASan+UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh test
jobs=$(nproc)
passed=0
failed=0

run_suite() { # name, command...
        local name=$1
        shift
        echo
        echo "=== $name"
        if "$@"; then
                passed=$((passed + 1))
        else
                failed=$((failed + 1))
                echo "!!! $name FAILED"
        fi
}

build() { # dir, extra cmake args...
        local dir=$1
        shift
        cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSM_WERROR=ON "$@" >/dev/null &&
                cmake --build "$dir" -j"$jobs" 2>&1 | grep -vE '^\[|^-- ' || true
        [ -x "$dir/systemmanager-mcp" ]
}

run_suite "build (normal, -Werror)" build build-test
run_suite "unit tests (normal)" ctest --test-dir build-test --output-on-failure -j"$jobs"
run_suite "build (ASan+UBSan, -Werror)" build build-asan -DSM_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite "unit tests (ASan+UBSan)" ctest --test-dir build-asan --output-on-failure -j"$jobs"
run_suite "integration tests (official MCP clients, normal build)" env SM_BUILD_DIR="$PWD/build-test" tests/integration/run.sh
run_suite "integration tests (official MCP clients, ASan+UBSan build)" env SM_BUILD_DIR="$PWD/build-asan" tests/integration/run.sh

echo
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
