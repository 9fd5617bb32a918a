#!/usr/bin/env bash
# Release packages from this checkout (not part of every CI run: see the timings it reports).
#   dist/jingwei_<version>_amd64.deb  native release build
#   dist/jingwei_<version>_arm64.deb  cross-built with Debian's aarch64 cross toolchain against an
#                                     arm64 Debian 12 sysroot (debootstrap --foreign, unpacked)
# then, unless --no-tests:
#   - the core crates' and the CLI's tests built for aarch64 and run under qemu-user (binfmt),
#     with the same shared test data;
#   - scripts/install-test.sh: the amd64 package installed into a clean Debian 12 root and run
#     as a new user would (CLI on the demo city, the app under Xvfb, a screenshot checked).
# Usage: scripts/release.sh [--arch amd64|arm64|all] [--no-tests] [--allow-dirty]
# Needs root or sudo (packages, binfmt_misc, chroot) and Debian's package mirror; the aarch64
# Rust standard library comes from rustup. Appends to dist/REPORT.md (sizes, build and test times).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHES=(amd64 arm64)
TESTS=1
DIRTY_OK=0
while (($#)); do
  case "$1" in
    --arch)
      shift
      case "${1:-}" in
        all) ARCHES=(amd64 arm64) ;;
        amd64 | arm64) ARCHES=("$1") ;;
        *) echo "release: --arch takes amd64, arm64 or all" >&2; exit 2 ;;
      esac ;;
    --no-tests) TESTS=0 ;;
    --allow-dirty) DIRTY_OK=1 ;;
    *) echo "release: unknown argument '$1' (--arch amd64|arm64|all, --no-tests, --allow-dirty)" >&2; exit 2 ;;
  esac
  shift
done
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

# ---- what is being released -------------------------------------------------------------------
dirty=""
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  if [ "$DIRTY_OK" -ne 1 ]; then
    echo "release: the work tree has uncommitted changes; commit them (or pass --allow-dirty)" >&2
    exit 1
  fi
  dirty="-dirty"
fi
export JINGWEI_COMMIT="$(git rev-parse --short=12 HEAD)$dirty"
export JINGWEI_COMMIT_DATE="$(git log -1 --format=%cs HEAD)"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
# The Debian revision of this packaging of VERSION; the maintainer a bureau's packager may set.
DEB_VERSION="$VERSION-${JINGWEI_DEB_REVISION:-1}"
MAINTAINER="${JINGWEI_MAINTAINER:-The Jingwei developers <jingwei-dev@example.org>}"
DIST="$PWD/dist"
mkdir -p "$DIST"
REPORT="$DIST/REPORT.md"
# One section per run (runs for one architecture each may follow one another).
{
  echo
  echo "## Release $VERSION ($JINGWEI_COMMIT, $JINGWEI_COMMIT_DATE): ${ARCHES[*]}"
  echo
  echo "Started $(date -u +'%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(uname -m)), load $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| step | result | seconds |"
  echo "|---|---|---:|"
} >> "$REPORT"
step() { # step NAME RESULT SECONDS
  printf '| %s | %s | %s |\n' "$1" "$2" "$3" >> "$REPORT"
  echo "release: $1: $2 (${3} s)"
}

. scripts/apt.sh

scripts/setup.sh # the build's own packages, the web UI (ui/dist, compiled into the app)
need_pkgs release dpkg-dev fakeroot lintian desktop-file-utils binutils help2man
. scripts/env.sh

BINS=(jingwei jingwei-render jingwei-desktop)

# ---- the arm64 sysroot ------------------------------------------------------------------------
SYSROOT="$HOME/.cache/jingwei/sysroot-arm64"
# -dev packages the build links against, and what the tests need at run time (GDAL's and PROJ's
# data, the software Vulkan driver that renders without a GPU). debootstrap does not resolve
# virtual packages: libsysprof-4-dev provides libsoup's and WebKit's libsysprof-capture-4-dev.
SYSROOT_PKGS="libc6-dev,libstdc++-12-dev,libgdal-dev,libproj-dev,libsqlite3-dev,libwebkit2gtk-4.1-dev,libgtk-3-dev,libsoup-3.0-dev,libsysprof-4-dev,libjavascriptcoregtk-4.1-dev,libxdo-dev,librsvg2-dev,libssl-dev,libx11-dev,libxkbcommon-dev,libxcursor-dev,libxrandr-dev,libxi-dev,libwayland-dev,gdal-data,proj-data,libvulkan1,mesa-vulkan-drivers"
MIRROR="${JINGWEI_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SYSROOT_STAMP="$SYSROOT_PKGS; links relative"

make_sysroot() {
  local stamp="$SYSROOT/.jingwei-sysroot"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$SYSROOT_STAMP" ]; then
    echo "release: arm64 sysroot already made ($SYSROOT)"
    return
  fi
  local t0=$SECONDS
  echo "release: making the arm64 Debian 12 sysroot in $SYSROOT (debootstrap --foreign, unpacked)"
  $SUDO rm -rf "$SYSROOT"
  # --foreign unpacks the base and downloads the rest without running any arm64 program; the
  # downloaded packages are then unpacked too (a sysroot needs their files, not their scripts).
  $SUDO debootstrap --foreign --arch=arm64 --variant=minbase --include="$SYSROOT_PKGS" \
    bookworm "$SYSROOT" "$MIRROR" > "$DIST/sysroot-arm64.log" 2>&1 \
    || { tail -20 "$DIST/sysroot-arm64.log" >&2; echo "release: debootstrap of the arm64 sysroot failed" >&2; exit 1; }
  for deb in "$SYSROOT"/var/cache/apt/archives/*.deb; do
    $SUDO dpkg-deb -x "$deb" "$SYSROOT"
  done
  # Links that maintainer scripts would make through update-alternatives (BLAS and LAPACK,
  # which GDAL's armadillo needs at link time).
  local lib="$SYSROOT/usr/lib/aarch64-linux-gnu"
  for alt in blas lapack; do
    for f in "$lib/$alt"/lib"$alt".so*; do
      [ -e "$f" ] && $SUDO ln -sf "$alt/$(basename "$f")" "$lib/$(basename "$f")"
    done
  done
  # Absolute links (libz.so -> /lib/aarch64-linux-gnu/libz.so.1) would point into the build
  # host; the linker, finding them broken, silently took the static archives (zlib, lzma,
  # expat, … copied into the binaries). Made relative, they stay inside the sysroot.
  $SUDO find "$SYSROOT" -xdev -type l -lname '/*' -print0 | while IFS= read -r -d '' l; do
    $SUDO ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$SYSROOT$(readlink "$l")")" "$l"
  done
  echo "$SYSROOT_STAMP" | $SUDO tee "$stamp" > /dev/null
  # Programs linked against an earlier sysroot are linked again (cargo does not track the
  # system's libraries).
  cargo clean --release --target aarch64-unknown-linux-gnu $(cargo metadata --no-deps --format-version 1 \
    | python3 -c 'import json,sys; print(" ".join("-p " + p["name"] for p in json.load(sys.stdin)["packages"]))') 2> /dev/null || true
  step "arm64 sysroot (Debian 12, $(ls "$SYSROOT"/var/cache/apt/archives/*.deb | wc -l) packages)" "made" $((SECONDS - t0))
}

cross_env() {
  local lib="$SYSROOT/usr/lib/aarch64-linux-gnu"
  export PKG_CONFIG_ALLOW_CROSS=1
  export PKG_CONFIG_SYSROOT_DIR_aarch64_unknown_linux_gnu="$SYSROOT"
  export PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu="$lib/pkgconfig:$SYSROOT/usr/share/pkgconfig"
  export PKG_CONFIG_PATH_aarch64_unknown_linux_gnu=""
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=--sysroot=$SYSROOT"
  export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
  export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
  export CFLAGS_aarch64_unknown_linux_gnu="--sysroot=$SYSROOT"
  export CXXFLAGS_aarch64_unknown_linux_gnu="--sysroot=$SYSROOT"
  export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=$SYSROOT --target=aarch64-linux-gnu"
  # aarch64 programs (tests, and the CLI they start) run through binfmt_misc and qemu-user,
  # which finds the loader, the libraries and /usr/share/{proj,gdal} under this prefix.
  export QEMU_LD_PREFIX="$SYSROOT"
  # The Vulkan loader lists the host's driver folder (x86_64 drivers); the sysroot's lavapipe
  # is named instead (its library path then resolves under the prefix).
  export VK_DRIVER_FILES="$SYSROOT/usr/share/vulkan/icd.d/lvp_icd.aarch64.json"
  export VK_ICD_FILENAMES="$VK_DRIVER_FILES"
}

enable_qemu() {
  need_pkgs release qemu-user-static binfmt-support
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  $SUDO update-binfmts --enable qemu-aarch64 > /dev/null 2>&1 || true
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    echo "release: qemu-aarch64 is not registered with binfmt_misc: the aarch64 tests cannot run" >&2
    exit 1
  fi
}

# ---- build, stage, package --------------------------------------------------------------------
build() { # build ARCH -> prints the folder holding the binaries
  local arch="$1"
  if [ "$arch" = amd64 ]; then
    # The whole workspace, as scripts/bench-app-start.sh builds it: one feature set.
    cargo build --release --locked --workspace >&2
    echo "$CARGO_TARGET_DIR/release"
  else
    cargo build --release --locked --workspace --target aarch64-unknown-linux-gnu >&2
    echo "$CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/release"
  fi
}

man_name() {
  case "$1" in
    jingwei) echo "the Jingwei GIS workstation from the shell (data, planning, cases, incidents, feeds)" ;;
    jingwei-render) echo "headless renders and printable case reports of Jingwei" ;;
  esac
}

stage() { # stage ARCH BINDIR
  local arch="$1" bindir="$2" st="$DIST/stage-$1" strip=strip triple=x86_64-unknown-linux-gnu
  [ "$arch" = arm64 ] && strip=aarch64-linux-gnu-strip && triple=aarch64-unknown-linux-gnu
  rm -rf "$st"
  for b in "${BINS[@]}"; do
    install -D -m 755 "$bindir/$b" "$st/usr/bin/$b"
    "$strip" --strip-unneeded "$st/usr/bin/$b"
  done
  # The demo city: the app opens it from <prefix>/share/jingwei/demo (jingwei_app::files).
  mkdir -p "$st/usr/share/jingwei"
  cp -r assets/demo "$st/usr/share/jingwei/demo"
  install -D -m 644 packaging/jingwei.desktop "$st/usr/share/applications/jingwei.desktop"
  install -D -m 644 src-tauri/icons/icon.png "$st/usr/share/icons/hicolor/128x128/apps/jingwei.png"
  local doc="$st/usr/share/doc/jingwei"
  mkdir -p "$doc"
  install -m 644 packaging/copyright "$doc/copyright"
  gzip -9n < CHANGELOG.md > "$doc/changelog.gz"
  {
    printf 'jingwei (%s) bookworm; urgency=medium\n\n' "$DEB_VERSION"
    printf '  * Release %s, built from commit %s (%s).\n' "$VERSION" "$JINGWEI_COMMIT" "$JINGWEI_COMMIT_DATE"
    printf '    The upstream changes are in changelog.gz.\n\n'
    printf ' -- %s  %s\n' "$MAINTAINER" "$(date -R -d "$JINGWEI_COMMIT_DATE 12:00 UTC")"
  } | gzip -9n > "$doc/changelog.Debian.gz"
  # Manual pages: the two command lines' from their --help (help2man, run on the amd64 build
  # for both architectures: the text is the same), the app's written by hand.
  local man="$st/usr/share/man/man1"
  mkdir -p "$man"
  for b in jingwei jingwei-render; do
    help2man --no-info --version-string="$VERSION" --name="$(man_name "$b")" "$DIST/host-bin/$b" | gzip -9n > "$man/$b.1.gz"
  done
  gzip -9n < packaging/jingwei-desktop.1 > "$man/jingwei-desktop.1.gz"
  install -m 644 README.md LICENSE-MIT LICENSE-APACHE assets/ATTRIBUTION.md "$doc/"
  install -m 644 assets/fonts/OFL.txt "$doc/OFL.txt"
  install -m 644 ui/NotoSansSC-OFL.txt "$doc/NotoSansSC-OFL.txt"
  python3 scripts/third_party.py "$triple" "$doc/THIRD-PARTY.md" >&2
  find "$st" -type d -exec chmod 755 {} +
  find "$st/usr/share" -type f -exec chmod 644 {} +
}

# The binaries' shared-library dependencies as Debian package relations (dpkg-shlibdeps over the
# amd64 binaries; the arm64 build links the same sonames from the same release, checked below).
shlibs_amd64() {
  local work
  work="$(mktemp -d)"
  mkdir -p "$work/debian"
  printf 'Source: jingwei\n\nPackage: jingwei\nArchitecture: any\n' > "$work/debian/control"
  local shlibs
  shlibs="$( (cd "$work" && dpkg-shlibdeps -O $(printf -- '-e %s ' "$DIST"/stage-amd64/usr/bin/*) 2> "$DIST/shlibdeps.log") \
    | sed -n 's/^shlibs:Depends=//p')"
  rm -rf "$work"
  local lazy
  lazy="$(lazy_depends)" || return 1
  [ -n "$shlibs" ] && echo "$shlibs$lazy"
}

# GDAL and PROJ are loaded at their first call on amd64 (lazylink/), so they are no NEEDED
# entries for dpkg-shlibdeps to see: the packages that hold the libraries the build linked
# against, at least at their versions.
lazy_depends() {
  local so real pkg v
  for so in libgdal.so libproj.so; do
    real="$(readlink -f "/usr/lib/x86_64-linux-gnu/$so")"
    pkg="$(dpkg -S "$real" 2> /dev/null | head -1 | cut -d: -f1)"
    [ -n "$pkg" ] || { echo "release: no installed package holds $real" >&2; return 1; }
    v="$(dpkg-query -W -f='${Version}' "$pkg")"
    printf ', %s (>= %s)' "$pkg" "${v%%-*}"
  done
}

sysroot_package_of() { # the package (with ">= version") of the arm64 sysroot holding a library
  local deb
  for deb in "$SYSROOT"/var/cache/apt/archives/*.deb; do
    if dpkg-deb -c "$deb" | grep -q "/aarch64-linux-gnu/$1\$\|/aarch64-linux-gnu/$1 ->"; then
      local v
      v="$(dpkg-deb -f "$deb" Version)"
      echo "$(dpkg-deb -f "$deb" Package) (>= ${v%%-*})"
      return
    fi
  done
}

needed() { # the NEEDED sonames of the staged binaries, less the loader
  for b in "$1"/usr/bin/*; do readelf -d "$b" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; done \
    | grep -v '^ld-linux' | sort -u
}

package() { # package ARCH DEPENDS
  local arch="$1" depends="$2" st="$DIST/stage-$1"
  mkdir -p "$st/DEBIAN"
  # wgpu opens libvulkan at run time (not a NEEDED entry): a Vulkan loader and a driver, where
  # Mesa's lavapipe renders on the CPU when the workstation has no GPU driver of its own.
  cat > "$st/DEBIAN/control" <<CONTROL
Package: jingwei
Version: $DEB_VERSION
Architecture: $arch
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$st" | cut -f1)
Depends: $depends, libvulkan1, mesa-vulkan-drivers | vulkan-icd, gdal-data, proj-data
Section: science
Priority: optional
Description: GIS and digital-twin workstation for city governments (经纬)
 Jingwei is a desktop GIS and digital-twin viewer for Chinese city governments:
 the territorial-planning "one map" (国土空间规划一张图), a CIM/BIM city twin, the
 emergency-command one map (应急指挥一张图) and the closed loop of
 illegal-construction monitoring (违法建设监测). Data in CGCS2000 and its
 Gauss-Krüger zones through GDAL and PROJ; a 3D view rendered with Bevy; nothing
 needs the internet at run time. Includes the jingwei command line and the
 Lujiazui demo city (OpenStreetMap data, ODbL).
CONTROL
  local deb="$DIST/jingwei_${DEB_VERSION}_${arch}.deb"
  dpkg-deb --root-owner-group -Zxz --build "$st" "$deb" > /dev/null
  echo "$deb"
}

check_package() { # lintian and desktop-file-validate; their findings go in the report
  local deb="$1" arch="$2"
  desktop-file-validate "$DIST/stage-$arch/usr/share/applications/jingwei.desktop"
  lintian --tag-display-limit 0 "$deb" > "$DIST/lintian-$arch.txt" 2>&1 || true
  local e w
  e=$(grep -c '^E:' "$DIST/lintian-$arch.txt" || true)
  w=$(grep -c '^W:' "$DIST/lintian-$arch.txt" || true)
  step "lintian $arch" "$e errors, $w warnings (dist/lintian-$arch.txt)" 0
  if [ "$e" -ne 0 ]; then
    grep '^E:' "$DIST/lintian-$arch.txt" >&2
    echo "release: lintian finds errors in $(basename "$deb")" >&2
    exit 1
  fi
}

SHLIBS=""
for arch in "${ARCHES[@]}"; do
  if [ "$arch" = arm64 ]; then
    need_pkgs release debootstrap crossbuild-essential-arm64
    rustup target add aarch64-unknown-linux-gnu > /dev/null 2>&1 \
      || rustup target list --installed | grep -q aarch64-unknown-linux-gnu \
      || { echo "release: rustup could not add the aarch64-unknown-linux-gnu standard library" >&2; exit 1; }
    make_sysroot
    cross_env
  fi
  t0=$SECONDS
  bindir="$(build "$arch")"
  build_s=$((SECONDS - t0))
  if [ "$arch" = amd64 ]; then
    rm -rf "$DIST/host-bin" && mkdir -p "$DIST/host-bin" && cp "$bindir/jingwei" "$bindir/jingwei-render" "$DIST/host-bin/"
  fi
  [ -x "$DIST/host-bin/jingwei" ] || { echo "release: the manual pages are written from the amd64 build: run --arch amd64 first" >&2; exit 1; }
  stage "$arch" "$bindir"
  if [ "$arch" = amd64 ]; then
    SHLIBS="$(shlibs_amd64)"
    [ -n "$SHLIBS" ] || { echo "release: dpkg-shlibdeps gave no dependencies (dist/shlibdeps.log)" >&2; exit 1; }
  else
    if [ -z "$SHLIBS" ]; then
      [ -d "$DIST/stage-amd64/usr/bin" ] || { echo "release: the arm64 package takes its Depends from the amd64 build: run --arch amd64 first" >&2; exit 1; }
      SHLIBS="$(shlibs_amd64)"
    fi
    # Libraries only the arm64 binaries link (the linkers drop different unused ones): the
    # sysroot's package that holds each, at least at the sysroot's version.
    extra=""
    for so in $(comm -13 <(needed "$DIST/stage-amd64") <(needed "$DIST/stage-arm64")); do
      pkg="$(sysroot_package_of "$so")"
      [ -n "$pkg" ] || { echo "release: no package of the arm64 sysroot holds $so" >&2; exit 1; }
      case ", $SHLIBS," in *", $pkg "* | *", $pkg,"*) ;; *) extra="$extra, $pkg" ;; esac
    done
    comm -3 <(needed "$DIST/stage-amd64") <(needed "$DIST/stage-arm64") > "$DIST/needed-diff.txt" || true
  fi
  depends="$SHLIBS"
  [ "$arch" = arm64 ] && depends="$SHLIBS$extra"
  deb="$(package "$arch" "$depends")"
  step "build $arch (cargo build --release)" "$(basename "$deb"): $(du -h "$deb" | cut -f1) ($(stat -c %s "$deb") bytes), installed $(du -sh --exclude=DEBIAN "$DIST/stage-$arch" | cut -f1)" "$build_s"
  check_package "$deb" "$arch"
done

if [ "$TESTS" -eq 1 ]; then
  for arch in "${ARCHES[@]}"; do
    if [ "$arch" = arm64 ]; then
      enable_qemu
      cross_env
      t0=$SECONDS
      # The core crates and the CLI (its tests run the aarch64 jingwei and jingwei-render).
      log="$DIST/test-arm64.log"
      if cargo test --release --locked --no-fail-fast --target aarch64-unknown-linux-gnu \
        -p jingwei-layers -p jingwei-analysis -p jingwei-cases -p jingwei-feeds -p jingwei-cli > "$log" 2>&1; then
        result="passed"
      else
        result="FAILED"
      fi
      passed=$(grep -o '[0-9]* passed' "$log" | awk '{s+=$1} END {print s+0}')
      failed=$(grep -o '[0-9]* failed' "$log" | awk '{s+=$1} END {print s+0}')
      step "aarch64 tests under qemu-user (layers, analysis, cases, feeds, cli)" "$result: $passed passed, $failed failed (dist/test-arm64.log)" $((SECONDS - t0))
      [ "$result" = passed ] || { grep -E '^(test .* FAILED|---- )' "$log" | head -20 >&2; exit 1; }
    else
      t0=$SECONDS
      scripts/install-test.sh "$DIST/jingwei_${DEB_VERSION}_amd64.deb"
      step "install test (clean Debian 12 root, Xvfb)" "passed (dist/install-test/)" $((SECONDS - t0))
    fi
  done
fi
echo "release: done; $REPORT"
