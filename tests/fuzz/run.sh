#!/usr/bin/env bash
# Builds every libFuzzer harness (tests/fuzz/fuzz_*.c) with clang and runs each
# for a bounded time on its seed corpus (tests/fuzz/corpus/<name>/).
# Usage: tests/fuzz/run.sh [SECONDS_PER_HARNESS=60] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-60}
shift || true
out=${FUZZ_OUT:-build-fuzz}
mkdir -p "$out"

core=$(ls common/*.c scopes/*.c tools/*.c audit/*.c server/*.c | grep -v '^server/main\.c$')
libs="libwebsockets jansson libcrypto libssl yaml-0.1 libsystemd libcurl sqlite3"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -DSM_VERSION=\"fuzz\" -I."

harnesses=("$@")
if [ "${#harnesses[@]}" -eq 0 ]; then
        for f in tests/fuzz/fuzz_*.c; do harnesses+=("$(basename "$f" .c | sed 's/^fuzz_//')"); done
fi

for h in "${harnesses[@]}"; do
        echo "=== fuzz_$h: building"
        # shellcheck disable=SC2086
        clang $cflags $(pkg-config --cflags $libs) "tests/fuzz/fuzz_$h.c" $core -o "$out/fuzz_$h" \
                $(pkg-config --libs $libs) -lresolv -lpthread
        corpus="$out/corpus-$h"
        mkdir -p "$corpus"
        [ -d "tests/fuzz/corpus/$h" ] && cp -n tests/fuzz/corpus/$h/* "$corpus"/ 2>/dev/null || true
        echo "=== fuzz_$h: running ${secs}s"
        "$out/fuzz_$h" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 |
                grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|crash-' || true
        if ls crash-* leak-* timeout-* >/dev/null 2>&1; then
                echo "!!! fuzz_$h found a problem (files crash-*/leak-*/timeout-* in $(pwd))"
                exit 1
        fi
done
