#!/usr/bin/env bash
# The imagery benchmark (not part of the test run): makes a ≥ 5 GB tiled GeoTIFF orthophoto
# (the Landsat scene of assets/imagery resampled to 0.2 m pixels over 8 km, uncompressed, tiled
# 512, BigTIFF) with overviews beside it, starts the local map services, and prints
# `jingwei-tools bench-imagery`'s JSON line: the first frame, the peak memory while panning
# under a 256 MB tile cache, tiles per second from the file and from MapProxy's WMTS.
#   scripts/bench-imagery.sh [GB]      (default 5; the file stays in $JINGWEI_BENCH_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
GB="${1:-5}"
DIR="${JINGWEI_BENCH_DIR:-${TMPDIR:-/tmp}/jingwei-bench-imagery}"
mkdir -p "$DIR"
FILE="$DIR/ortho_${GB}gb.tif"
if [ ! -f "$FILE.ovr" ]; then
  SIDE=$(python3 -c "import math; print(int(math.sqrt($GB * 1e9 / 3) // 512 * 512 + 512))")
  echo "bench-imagery: writing $FILE (${SIDE}×${SIDE} RGB)" >&2
  gdal_translate -q -b 3 -b 2 -b 1 -outsize "$SIDE" "$SIDE" -r bilinear \
    -a_srs EPSG:4550 -a_ullr 350000 3462000 $((350000 + SIDE / 5)) $((3462000 - SIDE / 5)) \
    -co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=512 -co BIGTIFF=YES -co PHOTOMETRIC=RGB \
    assets/imagery/L7_ETMs.tif "$FILE"
  cargo build --quiet --release --bin jingwei --bin jingwei-tools
  "$CARGO_TARGET_DIR/release/jingwei" raster overviews "$FILE" >&2
fi
cargo build --quiet --release --bin jingwei-tools
eval "$(scripts/map-services.sh start)"
trap 'scripts/map-services.sh stop' EXIT
"$CARGO_TARGET_DIR/release/jingwei-tools" bench-imagery --file "$FILE" --cache-mb 256 \
  --wmts "$MAPPROXY_URL/wmts/1.0.0/WMTSCapabilities.xml" --wmts-layer ortho
