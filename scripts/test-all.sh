#!/usr/bin/env bash
# Run every Jingwei test: core crates, CLI end to end, viewer, the desktop app under Xvfb, and
# the workspace's dependency rules. Installs what it needs first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
. scripts/env.sh
echo "test-all: cargo test --workspace (target dir $CARGO_TARGET_DIR)"
cargo test --workspace --locked --no-fail-fast
echo "test-all: done in $(( $(date +%s) - start )) s"
