#!/usr/bin/env bash
# Build and start the Jingwei desktop app on the bundled demo city (陆家嘴, Shanghai).
# Installs what it needs first (scripts/setup.sh). Without a display it runs under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
echo "run-demo: building (the first build takes several minutes)"
# Build exactly what the test command builds, so that the two share one set of compiled
# dependencies (a `-p` build resolves features differently and would rebuild Bevy).
cargo test --workspace --locked --no-run
APP="$CARGO_TARGET_DIR/debug/jingwei-desktop"
export JINGWEI_DEMO="$PWD/assets/demo/catalog.json"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "run-demo: starting $APP"
  exec "$APP" "$@"
else
  echo "run-demo: no display found; starting under Xvfb (xvfb-run)"
  export WEBKIT_DISABLE_COMPOSITING_MODE=1
  exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" "$APP" "$@"
fi
