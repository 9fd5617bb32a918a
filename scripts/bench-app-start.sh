#!/usr/bin/env bash
# Benchmark: cold start of the release desktop app to the first 3D frame of the demo city, and
# the interaction latency of five orbit steps with the map canvas at 1280×720, under Xvfb (software Vulkan when there is no GPU).
# Prints the app's own JSON report of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
# The whole workspace, as the tests build it: one feature set, no second Bevy build.
cargo build --release --locked --workspace
APP="$CARGO_TARGET_DIR/release/jingwei-desktop"
for run in 1 2 3; do
  out=$(mktemp); scratch=$(mktemp -d)
  # Run 1 after a build finds the libraries less warm than runs 2 and 3.
  JINGWEI_SMOKE_FILE="$out" JINGWEI_DEMO="$PWD/assets/demo/catalog.json" NO_AT_BRIDGE=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 \
    JINGWEI_CASES="$scratch/ws.gpkg" JINGWEI_EXPORT_DIR="$scratch" XDG_CONFIG_HOME="$scratch" \
    JINGWEI_SMOKE_CANVAS=1280x720 timeout 180 xvfb-run -a -s "-screen 0 1920x1080x24" "$APP" >/dev/null 2>&1 || true
  echo "run $run: $(cat "$out" 2>/dev/null || echo 'no report')"
  rm -rf "$out" "$scratch"
done
