#!/usr/bin/env bash
# Benchmark: cold start of the release desktop app to the first 3D frame of the demo city, and
# the interaction latency of five orbit steps with the map canvas at 1280×720, under Xvfb (software Vulkan when there is no GPU).
# Prints the app's own JSON report of each run.
#
# CITY=DIR opens a city of the peer benchmark instead (DIR holds its buildings.gpkg, e.g.
# /tmp/jingwei-peerbench/data/1000000): each run then times the orbit steps at the framed view
# and ten times closer, identify at nine points of the canvas, and reports the process's memory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
# The whole workspace, as the tests build it (the smoke hooks drive the run): one feature set,
# no second Bevy build.
cargo build --release --locked --workspace --features jingwei-desktop/smoke
APP="$CARGO_TARGET_DIR/release/jingwei-desktop"
CATALOG="$PWD/assets/demo/catalog.json"; SCENARIO=
if [ -n "${CITY:-}" ]; then
  [ -f "$CITY/buildings.gpkg" ] || { echo "bench-app-start: $CITY/buildings.gpkg: no such file" >&2; exit 1; }
  city_dir=$(mktemp -d); trap 'rm -rf "$city_dir"' EXIT
  CATALOG="$city_dir/catalog.json"; SCENARIO=bench
  cat >"$CATALOG" <<JSON
{"title_zh": "基准城市", "title_en": "Benchmark city",
 "attribution": ["SYNTHETIC: the peer benchmark's generator (../shared/bench/gen/gen_city.py)"],
 "layers": [{"id": "buildings", "title_zh": "建筑", "title_en": "Buildings", "group": "status_quo",
   "file": "$(cd "$CITY" && pwd)/buildings.gpkg", "layer": "buildings", "synthetic": true}]}
JSON
fi
for run in 1 2 3; do
  out=$(mktemp); scratch=$(mktemp -d)
  # Run 1 after a build finds the libraries less warm than runs 2 and 3.
  JINGWEI_SMOKE_FILE="$out" JINGWEI_DEMO="$CATALOG" JINGWEI_SMOKE_SCENARIO="$SCENARIO" NO_AT_BRIDGE=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 \
    JINGWEI_CASES="$scratch/ws.gpkg" JINGWEI_EXPORT_DIR="$scratch" XDG_CONFIG_HOME="$scratch" \
    JINGWEI_SMOKE_CANVAS=1280x720 timeout 180 xvfb-run -a -s "-screen 0 1920x1080x24" "$APP" >/dev/null 2>&1 || true
  echo "run $run: $(cat "$out" 2>/dev/null || echo 'no report')"
  rm -rf "$out" "$scratch"
done
