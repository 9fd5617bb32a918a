#!/usr/bin/env bash
# Install what Jingwei needs to build, run and test on Debian/Ubuntu; skip what is there.
#   scripts/setup.sh            everything (build, app, tests)
# Debian packages: GDAL/PROJ (+ their command-line tools, used as test oracles), libclang
# (proj-sys bindings), WebKitGTK & co. (Tauri), Xvfb (the app under a virtual display),
# Vulkan software rendering (lavapipe, for the 3D scene), WebKitWebDriver (end-to-end tests),
# MapServer (map-service tests), poppler-utils (printed PDFs rendered back in tests), GRASS GIS (r.lake and r.viewshed as the flood and viewshed oracles), PostgreSQL 15 + PostGIS 3 (the shared store's tests start a throwaway cluster of their own: scripts/pg-store.sh). PyPI: MapProxy and pygeoapi (map-service tests), each into a
# private virtualenv.
# Cargo: tauri-driver (the WebDriver front of Tauri apps), into a private folder. npm packages:
# ui/ (locked).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential pkg-config curl ca-certificates git python3 sqlite3
  libclang-dev clang
  libgdal-dev gdal-bin libproj-dev proj-bin libsqlite3-dev
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libxdo-dev librsvg2-dev libssl-dev
  xvfb xauth dbus-x11 at-spi2-core webkit2gtk-driver
  mesa-vulkan-drivers libvulkan1
  cgi-mapserver mapserver-bin python3-venv
  geographiclib-tools poppler-utils xmlsec1 openssl grass-core
  openscenegraph
  postgresql postgresql-contrib postgresql-postgis
  nodejs npm
)

# Node.js and npm from elsewhere (a newer Node, see below) count as present.
if command -v node >/dev/null && command -v npm >/dev/null; then
  PKGS=("${PKGS[@]/nodejs}"); PKGS=("${PKGS[@]/npm}")
fi
read -r -a PKGS <<< "${PKGS[*]}"
. scripts/apt.sh
need_pkgs setup "${PKGS[@]}"

# Rust comes from rustup (the toolchain is pinned in rust-toolchain.toml); it is not a Debian
# package, so it is checked rather than installed.
if ! command -v cargo >/dev/null || ! cargo --version >/dev/null 2>&1; then
  echo "setup: Rust is missing: install rustup (https://rustup.rs); rust-toolchain.toml then selects 1.95.0" >&2
  exit 1
fi

# The UI toolchain (Vite 8) needs Node.js ^20.19 or >= 22.12; Debian 12 and Ubuntu 24.04 ship 18.
# If the system's is older, take Node 22 and a matching npm from the npm registry (packages
# node-linux-<arch> and npm) into a private prefix that scripts/env.sh puts first on PATH.
. scripts/env.sh
node_ok() { node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit((a==20&&b>=19)||(a==22&&b>=12)||a>=23?0:1)' 2>/dev/null; }
if ! node_ok; then
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  echo "setup: Node.js $(node --version 2>/dev/null || echo missing) is too old for the UI build; installing Node 22 and npm 10 from the npm registry into $JINGWEI_NODE_PREFIX"
  npm install --prefix "$JINGWEI_NODE_PREFIX" --no-audit --no-fund "node-linux-$arch@22" npm@10 >/dev/null
  . scripts/env.sh
  node_ok || { echo "setup: could not get Node.js ^20.19 or >= 22.12" >&2; exit 1; }
fi

# MapProxy and pygeoapi (PyPI, pinned) for the map-service tests, schemathesis for the field-app
# API's, IfcOpenShell (LGPL-3.0) and laspy with LASzip (BSD, Apache-2.0) — test tools only: the IFC
# and point-cloud tests hold our readers to them —, each in
# a private virtualenv.
for tool in mapproxy pygeoapi schemathesis ifcopenshell laspy; do
  venv="$HOME/.cache/jingwei/$tool-venv"
  # Installed once per version of the pinned list (its checksum, not its date: a fresh clone
  # has new dates).
  want="$(sha256sum "scripts/$tool-requirements.txt" | cut -d' ' -f1)"
  if ! "$venv/bin/python" -c "import $tool" 2>/dev/null || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing $tool into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "scripts/$tool-requirements.txt"
    echo "$want" > "$venv/.installed"
  else
    echo "setup: $tool already installed"
  fi
done

# tauri-driver, pinned, built once into a private folder (the end-to-end test looks there).
TAURI_DRIVER="$HOME/.cache/jingwei/tools/bin/tauri-driver"
if [ ! -x "$TAURI_DRIVER" ]; then
  echo "setup: installing tauri-driver 2.1.0 (cargo install, about two minutes) into ~/.cache/jingwei/tools"
  cargo install --locked --quiet tauri-driver --version 2.1.0 --root "$HOME/.cache/jingwei/tools"
else
  echo "setup: tauri-driver already installed"
fi

if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages for ui/ (npm ci)"
  (cd ui && npm ci --no-audit --no-fund)
else
  echo "setup: npm packages already installed"
fi
echo "setup: building the web UI (ui/dist)"
if ! (cd ui && npm run --silent build > "${TMPDIR:-/tmp}/jingwei-ui-build.log" 2>&1); then
  cat "${TMPDIR:-/tmp}/jingwei-ui-build.log" >&2
  echo "setup: the web UI (ui/) failed to build" >&2
  exit 1
fi
