#!/usr/bin/env bash
# The shared store's benchmark (not part of the test run): 8 writers × 60 s over TLS against the
# throwaway PostgreSQL + PostGIS cluster of scripts/pg-store.sh, with a listener; prints one JSON
# line with the update and notification latencies (p50/p95/p99, ms) and the throughput; then the
# field-app API (`jingwei serve`) under 8 users' PATCHes over TLS, one line of figures.
#   JINGWEI_STORE_LOAD_SECS=60 JINGWEI_SERVE_BENCH_SECS=20 scripts/bench-store.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
export JINGWEI_PG_RUN="${TMPDIR:-/tmp}/jingwei-pg-bench-$$"
trap 'scripts/pg-store.sh stop' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo test --quiet --locked -p jingwei-store --test bench -- --ignored --nocapture 2>/dev/null | grep '^{'
cargo test --quiet --locked -p jingwei-serve --test bench -- --ignored --nocapture 2>/dev/null | grep '^serve bench'
