#!/usr/bin/env bash
# Install what Jingwei needs to build, run and test on Debian/Ubuntu; skip what is there.
#   scripts/setup.sh            everything (build, app, tests)
# Debian packages: GDAL/PROJ (+ their command-line tools, used as test oracles), libclang
# (proj-sys bindings), WebKitGTK & co. (Tauri), Xvfb (the app under a virtual display),
# Vulkan software rendering (lavapipe, for the 3D scene). npm packages: ui/ (locked).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential pkg-config curl ca-certificates git python3 sqlite3
  libclang-dev clang
  libgdal-dev gdal-bin libproj-dev proj-bin libsqlite3-dev
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libxdo-dev librsvg2-dev libssl-dev
  xvfb xauth dbus-x11 at-spi2-core
  mesa-vulkan-drivers libvulkan1
  nodejs npm
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node from another source (nvm, the image) counts as installed.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]}"
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  # One retry: an archive is sometimes briefly unreachable.
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || { $SUDO apt-get install -f -y -q; $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; }
else
  echo "setup: Debian packages already installed"
fi

if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages for ui/ (npm ci)"
  (cd ui && npm ci --no-audit --no-fund)
else
  echo "setup: npm packages already installed"
fi
echo "setup: building the web UI (ui/dist)"
(cd ui && npm run --silent build >/dev/null)
