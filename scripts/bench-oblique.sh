#!/usr/bin/env bash
# The city twin's benchmark on oblique photography (issue 15; not part of the test run): an
# OSGB model in ContextCapture's layout built by OpenSceneGraph's osgconv from the Andorra DEM
# (TILES × TILES root tiles, each a coarse level and a finer file of two halves, textures
# inline — layers/tests/support/oblique.rs), flown by `jingwei-render bench-twin` like the
# 3D Tiles city: first frame, settled frame, frame times, memory against the budget, the share
# of resident tiles in view at rest, memory after removal.
#   scripts/bench-oblique.sh [TILES] [SECONDS] [BUDGET_MIB]
# Writes target/bench-oblique.json. Profile: release (PROFILE=dev for a quick look).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
TILES=${1:-16}
SECONDS_=${2:-600}
BUDGET=${3:-512}
PROFILE=${PROFILE:-release}
MODEL=${MODEL:-/tmp/jingwei-oblique-$TILES}
if [ ! -f "$MODEL/metadata.xml" ]; then
  JINGWEI_OBLIQUE_OUT="$MODEL" JINGWEI_OBLIQUE_TILES="$TILES" \
    cargo test --quiet --workspace --features jingwei-desktop/smoke --test osgb bench_model -- --ignored
fi
if [ "$PROFILE" = release ]; then
  cargo build --quiet --release --bin jingwei-render
  BIN="$CARGO_TARGET_DIR/release"
else
  cargo build --quiet --bin jingwei-render
  BIN="$CARGO_TARGET_DIR/debug"
fi
mkdir -p target
"$BIN/jingwei-render" bench-twin "$MODEL/metadata.xml" --seconds "$SECONDS_" --budget "$BUDGET" --size 960x540 > target/bench-oblique.json
python3 - <<'PY'
import json
d = json.load(open("target/bench-oblique.json"))
d.pop("samples")
for k, v in d.items():
    print(f"{k:32} {v}")
PY
