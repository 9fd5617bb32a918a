#!/usr/bin/env bash
# Run every Jingwei test: core crates, CLI end to end, viewer, the desktop app under Xvfb, and
# the workspace's dependency rules. Installs what it needs first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# The tests read the shared real-world data next to the checkout (../shared/data), or where
# JINGWEI_SHARED_DATA points.
DATA="${JINGWEI_SHARED_DATA:-$PWD/../shared/data}"
if [ ! -f "$DATA/MANIFEST.md" ]; then
  echo "test-all: the test data is missing: expected $DATA (the shared/ folder beside this checkout, or set JINGWEI_SHARED_DATA)" >&2
  exit 1
fi
scripts/setup.sh
. scripts/env.sh
# The map-service tests start MapServer and MapProxy on 127.0.0.1 (scripts/map-services.sh);
# they are stopped when the run ends, whatever its outcome.
export JINGWEI_SERVICES_RUN="${TMPDIR:-/tmp}/jingwei-services-test-$$"
# The shared store's tests start a throwaway PostgreSQL + PostGIS cluster (scripts/pg-store.sh),
# removed with its data when the run ends.
export JINGWEI_PG_RUN="${TMPDIR:-/tmp}/jingwei-pg-test-$$"
trap 'scripts/map-services.sh stop; rm -rf "$JINGWEI_SERVICES_RUN"; scripts/pg-store.sh stop' EXIT
if cargo fmt --version >/dev/null 2>&1; then
  echo "test-all: cargo fmt --check"
  cargo fmt --all -- --check
else
  echo "test-all: rustfmt is not installed; formatting not checked"
fi
# The app's smoke hooks exist only in a build with its `smoke` feature (never in a release).
FEATURES=(--features jingwei-desktop/smoke)
echo "test-all: cargo test --workspace (target dir $CARGO_TARGET_DIR)"
cargo test --workspace --locked --no-fail-fast "${FEATURES[@]}"
if cargo clippy --version >/dev/null 2>&1; then
  echo "test-all: cargo clippy -D warnings"
  cargo clippy --workspace --all-targets --locked "${FEATURES[@]}" -- -D warnings
else
  echo "test-all: clippy is not installed; lints not checked" >&2
  exit 1
fi
echo "test-all: cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked "${FEATURES[@]}"
echo "test-all: done in $(( $(date +%s) - start )) s"
