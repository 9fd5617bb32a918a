#!/usr/bin/env bash
# The city twin's benchmark (issue 15; not part of the test run): the peer benchmark's synthetic
# city (../shared/bench, 1,000,000 buildings by default) made into 3D Tiles by
# `jingwei tileset-build`, then `jingwei-render bench-twin` flies it for ten minutes — first
# frame, settled frame, frame times flying and orbiting, resident memory every second against the
# budget, the share of resident tiles in the view at rest, memory after the tileset is removed
# (twice, to tell a pool from a leak).
#   scripts/bench-twin.sh [BUILDINGS] [SECONDS] [BUDGET_MIB]
# Writes target/bench-twin.json. Profile: release (PROFILE=dev for a quick look).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
N=${1:-1000000}
SECONDS_=${2:-600}
BUDGET=${3:-512}
PROFILE=${PROFILE:-release}
export PEERBENCH_HOME=${PEERBENCH_HOME:-/tmp/jingwei-peerbench}
../shared/bench/setup.sh >/dev/null
../shared/bench/gen/gen_all.sh "$N"
if [ "$PROFILE" = release ]; then
  cargo build --quiet --release --bin jingwei --bin jingwei-render
  BIN="$CARGO_TARGET_DIR/release"
else
  cargo build --quiet --bin jingwei --bin jingwei-render
  BIN="$CARGO_TARGET_DIR/debug"
fi
OUT="$PEERBENCH_HOME/tiles/$N"
if [ ! -f "$OUT/tileset.json" ]; then
  /usr/bin/time -f "tileset-build: %e s, %M KB peak" "$BIN/jingwei" tileset-build "$PEERBENCH_HOME/data/$N/buildings.gpkg" --out "$OUT" --leaf 2000
fi
mkdir -p target
"$BIN/jingwei-render" bench-twin "$OUT/tileset.json" --seconds "$SECONDS_" --budget "$BUDGET" --size 960x540 > target/bench-twin.json
python3 - <<'PY'
import json
d = json.load(open("target/bench-twin.json"))
d.pop("samples")
for k, v in d.items():
    print(f"{k:32} {v}")
PY
