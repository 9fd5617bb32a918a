#!/usr/bin/env bash
# Install test of a release package, as a bureau's IT and then a new user would meet it:
#  1. a clean Debian 12 root (debootstrap minbase; made once and kept as a tarball, unpacked
#     afresh for every run) reaching nothing but the package mirror;
#  2. `apt-get install --no-install-recommends ./jingwei_*.deb` resolves every dependency from
#     the distribution alone;
#  3. as an ordinary user: `jingwei --version` names the commit, `jingwei info` reads the demo
#     city, `jingwei about --json` reports the root's GDAL and PROJ, `jingwei render` draws it
#     headless;
#  4. the installed app under Xvfb: its first 3D frame, a screenshot whose map area is a
#     rendered city (checked), the user's records in their XDG folder and nothing written
#     under /usr;
#  5. `apt-get remove` takes the programs away again.
# Usage: scripts/install-test.sh dist/jingwei_<version>_amd64.deb
# Leaves dist/install-test/ (logs, screenshot). Needs root or sudo (chroot, mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
DEB="$(realpath "${1:?usage: scripts/install-test.sh PACKAGE.deb}")"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
MIRROR="${JINGWEI_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE="$HOME/.cache/jingwei/debian12-minbase.tar"
OUT="$PWD/dist/install-test"
rm -rf "$OUT"; mkdir -p "$OUT"

. scripts/apt.sh
need_pkgs install-test debootstrap
if [ ! -s "$BASE" ]; then
  echo "install-test: making a minimal Debian 12 root (debootstrap, once; kept in $BASE)"
  tmp="$(mktemp -d /var/tmp/jingwei-debootstrap.XXXXXX)"
  $SUDO debootstrap --variant=minbase bookworm "$tmp" "$MIRROR" > "$OUT/debootstrap.log" 2>&1 \
    || { tail -20 "$OUT/debootstrap.log" >&2; echo "install-test: debootstrap failed" >&2; exit 1; }
  $SUDO tar -C "$tmp" -cf "$BASE.part" . && mv "$BASE.part" "$BASE"
  $SUDO rm -rf "$tmp"
fi

ROOT="$(mktemp -d /var/tmp/jingwei-root.XXXXXX)"
cleanup() {
  for m in dev/pts dev proc sys; do
    mountpoint -q "$ROOT/$m" 2> /dev/null && $SUDO umount -l "$ROOT/$m"
  done
  $SUDO rm -rf "$ROOT"
}
trap cleanup EXIT
$SUDO tar -C "$ROOT" -xf "$BASE"
$SUDO chmod 755 "$ROOT" # the root's "/" (mktemp, and the tarball's ".", make it 0700: no user could enter)
$SUDO mount -t proc proc "$ROOT/proc"
$SUDO mount -t sysfs sysfs "$ROOT/sys"
$SUDO mount --bind /dev "$ROOT/dev"
$SUDO mount --bind /dev/pts "$ROOT/dev/pts"
$SUDO cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The distribution's own suites (with its updates and security), nothing else.
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
  "$MIRROR" "$MIRROR" | $SUDO tee "$ROOT/etc/apt/sources.list" > /dev/null
in_root() { $SUDO chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }

t0=$SECONDS
in_root apt-get update -q > "$OUT/apt-update.log" 2>&1
$SUDO cp "$DEB" "$ROOT/tmp/"
before=$(in_root dpkg-query -W -f='.\n' | wc -l)
if ! in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$DEB")" > "$OUT/apt-install.log" 2>&1; then
  tail -20 "$OUT/apt-install.log" >&2
  echo "install-test: apt-get could not install $(basename "$DEB") from the distribution alone" >&2
  exit 1
fi
after=$(in_root dpkg-query -W -f='.\n' | wc -l)
echo "install-test: installed $(basename "$DEB") with $((after - before - 1)) dependencies from the distribution in $((SECONDS - t0)) s"
# Tools of the test itself (not of the package): a virtual display, a screenshot, a D-Bus session.
in_root apt-get install -y -q --no-install-recommends xvfb xauth imagemagick dbus dbus-x11 > "$OUT/apt-tools.log" 2>&1
in_root useradd -m -s /bin/bash planner
as_user() { $SUDO chroot --userspec=planner:planner "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/home/planner USER=planner LANG=C.UTF-8 "$@"; }
fail() { echo "install-test: $*" >&2; exit 1; }

# ---- the CLI, as a new user -------------------------------------------------------------------
as_user jingwei --version > "$OUT/version.txt" 2>&1 || fail "jingwei --version failed: $(cat "$OUT/version.txt")"
commit="$(git rev-parse --short=12 HEAD)"
grep -q "$commit" "$OUT/version.txt" || fail "jingwei --version does not name commit $commit: $(head -1 "$OUT/version.txt")"
as_user jingwei info /usr/share/jingwei/demo/lujiazui_osm.gpkg --json > "$OUT/info.json" 2> "$OUT/info.err" \
  || fail "jingwei info on the demo city failed: $(cat "$OUT/info.err")"
as_user jingwei about --catalog /usr/share/jingwei/demo/catalog.json --json > "$OUT/about.json" 2> "$OUT/about.err" \
  || fail "jingwei about failed: $(cat "$OUT/about.err")"
root_gdal="$(in_root dpkg-query -W -f='${Version}' libgdal32)"
python3 - "$OUT" "$root_gdal" <<'PY'
import json, sys, pathlib
out, root_gdal = pathlib.Path(sys.argv[1]), sys.argv[2]
info = json.loads((out / "info.json").read_text())
layers = {l["name"]: l["feature_count"] for l in info["layers"]}
assert layers.get("buildings_polygon", 0) > 1000, f"the demo city's buildings are missing: {layers}"
about = json.loads((out / "about.json").read_text())
gdal = next(c["version"] for c in about["components"] if c["name"] == "GDAL")
assert root_gdal.startswith(gdal), f"about says GDAL {gdal}, the root has libgdal32 {root_gdal}"
assert about["licence_dir"] == "/usr/share/doc/jingwei", about["licence_dir"]
assert any("OpenStreetMap" in n["source"] for n in about["data"]), about["data"]
print(f"install-test: jingwei info: {len(layers)} layers, {layers['buildings_polygon']} buildings; about: GDAL {gdal}")
PY
as_user jingwei render --workspace /usr/share/jingwei/demo/catalog.json --out /tmp/render.png > "$OUT/render.log" 2>&1 \
  || fail "jingwei render failed: $(tail -3 "$OUT/render.log")"
$SUDO cp "$ROOT/tmp/render.png" "$OUT/render.png"

# ---- the app under Xvfb -----------------------------------------------------------------------
touch "$OUT/.mark"; $SUDO cp -p "$OUT/.mark" "$ROOT/tmp/.mark"
as_user dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" sh -c '
  NO_AT_BRIDGE=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 jingwei-desktop > /tmp/app.log 2>&1 &
  app=$!
  for i in $(seq 1 90); do
    sleep 2
    kill -0 $app 2>/dev/null || { echo "the app exited"; exit 1; }
    grep -q "first 3D frame" /tmp/app.log && break
  done
  sleep 4  # the frame reaches the canvas
  import -window root /tmp/shot.png
  # Unique colours in the middle of the map area (a drawn city has thousands; an empty canvas
  # or a spinner a handful).
  convert /tmp/shot.png -crop 560x360+480+260 +repage -format "%k" info: > /tmp/colours.txt
  kill $app
' > "$OUT/xvfb.log" 2>&1 || true
$SUDO cp "$ROOT/tmp/app.log" "$ROOT/tmp/shot.png" "$ROOT/tmp/colours.txt" "$OUT/" 2> /dev/null || true
grep -q "first 3D frame" "$OUT/app.log" 2> /dev/null || fail "the installed app drew no 3D frame (dist/install-test/app.log: $(tail -3 "$OUT/app.log" 2> /dev/null))"
colours="$(cat "$OUT/colours.txt" 2> /dev/null || echo 0)"
[ "$colours" -ge 1000 ] || fail "the screenshot's map area has $colours colours: no city drawn (dist/install-test/shot.png)"
echo "install-test: the app drew its first 3D frame ($(grep -o 'after [0-9.]* s' "$OUT/app.log")); the map area has $colours colours"
# Nothing written beside the program or anywhere but the user's home and /tmp.
written="$($SUDO find "$ROOT" -xdev -newer "$ROOT/tmp/.mark" -type f 2> /dev/null | sed "s|^$ROOT||" \
  | grep -v -e '^/tmp/' -e '^/home/planner/' -e '^/var/tmp/' -e '^/var/cache/fontconfig/' || true)"
[ -z "$written" ] || fail "the app wrote outside the user's folders: $written"
echo "install-test: the app wrote only in the user's folders: $($SUDO find "$ROOT/home/planner" -newer "$ROOT/tmp/.mark" -type f | sed "s|^$ROOT/home/planner/||" | tr '\n' ' ')"

# ---- removal ----------------------------------------------------------------------------------
in_root apt-get remove -y -q jingwei > "$OUT/apt-remove.log" 2>&1
[ ! -e "$ROOT/usr/bin/jingwei" ] && [ ! -e "$ROOT/usr/share/jingwei" ] || fail "apt-get remove left the programs or the demo city behind"
echo "install-test: passed (screenshot: dist/install-test/shot.png)"
