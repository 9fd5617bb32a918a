#!/usr/bin/env bash
# The planner's benchmark (issue 16): 压占分析 of a 1 km² red line against N land-use parcels,
# and the 用地平衡表 of a county-sized layer — `jingwei overlap` and `jingwei balance` beside
# the same computations in DuckDB + spatial (ST_Read, ST_Intersection, ST_Area, GROUP BY),
# each a whole process under /usr/bin/time -v, in one run. Prints seconds, peak memory, the
# ratio DuckDB / Jingwei and whether the answers agree. Not part of CI.
#   scripts/bench-planning.sh [N_OVERLAP] [N_BALANCE]      (defaults 100000 500000)
# Needs a release build (`cargo build --release -p jingwei-cli`) and PyPI once, for DuckDB.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
source scripts/env.sh
N1="${1:-100000}"; N2="${2:-500000}"
WORK="${JINGWEI_BENCH_DIR:-${TMPDIR:-/tmp}/jingwei-bench-planning}"
VENV="${JINGWEI_DUCKDB_VENV:-$HOME/.cache/jingwei/duckdb-venv}"
JW="$CARGO_TARGET_DIR/release/jingwei"
cargo build --release -q -p jingwei-cli
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q duckdb==1.5.5 duckdb_extension_spatial==1.5.5
fi
command -v /usr/bin/time >/dev/null || { echo "bench-planning: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

# Parcels: a square grid (EPSG:4547, 3° zone CM 114E) of cells of 40 m, every cell cut into two
# quadrilaterals along a wobbling line, classes of the 2023 用地用海分类 in patches.
gen() {
  local n=$1 out=$2
  [ -f "$out" ] && return
  python3 - "$n" "$out.csv" <<'PY'
import math, sys, random
n, out = int(sys.argv[1]), sys.argv[2]
codes = ["0101","0103","0201","0301","0401","0701","0702","0801","0901","1001","1101","1207","1301","1401","1701"]
side = int(math.ceil(math.sqrt(n / 2)))
random.seed(7)
x0, y0, c = 500000.0, 2500000.0, 40.0
with open(out, "w") as f:
    f.write("id,YDYHFLDM,wkt\n")
    i = 0
    for r in range(side):
        for q in range(side):
            if i >= n: break
            x, y = x0 + q * c, y0 + r * c
            t = 0.3 + 0.4 * random.random()
            k = codes[((r // 25) * 7 + (q // 25) * 3) % len(codes)]
            a = [(x, y), (x + c, y), (x + c, y + c * t), (x, y + c * (1 - t)), (x, y)]
            b = [(x, y + c * (1 - t)), (x + c, y + c * t), (x + c, y + c), (x, y + c), (x, y + c * (1 - t))]
            for ring in (a, b):
                if i >= n: break
                f.write('%d,%s,"POLYGON((%s))"\n' % (i, k, ",".join("%.3f %.3f" % p for p in ring)))
                i += 1
PY
  ogr2ogr -q -f GPKG -a_srs EPSG:4547 -nln parcels -oo GEOM_POSSIBLE_NAMES=wkt -oo KEEP_GEOM_COLUMNS=NO "$out" "$out.csv"
  rm -f "$out.csv"
}
gen "$N1" "$WORK/parcels_$N1.gpkg"
gen "$N2" "$WORK/parcels_$N2.gpkg"
# The red line: 1 km², in the middle of the first layer.
read -r CX CY < <(python3 -c "import math; s=math.ceil(math.sqrt($N1/2))*40; print(500000+s/2, 2500000+s/2)")
RED=$(python3 -c "x,y=$CX-500,$CY-500; print('POLYGON((%f %f,%f %f,%f %f,%f %f,%f %f))'%(x,y,x+1000,y,x+1000,y+1000,x,y+1000,x,y))")

# timed NAME OUTFILE CMD...: wall seconds and peak RSS (MB) of the whole process.
timed() {
  local name=$1 out=$2; shift 2
  /usr/bin/time -v -o "$WORK/$name.time" "$@" > "$out"
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$WORK/$name.time" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep "Maximum resident set size" "$WORK/$name.time" | awk '{print int($NF/1024)}')
  echo "$name $wall $rss"
}

DUCK="$VENV/bin/python"
overlap_sql="SELECT YDYHFLDM, count(*) AS n, sum(ST_Area(ST_Intersection(geom, ST_GeomFromText('$RED')))) AS m2
FROM ST_Read('$WORK/parcels_$N1.gpkg') WHERE ST_Intersects(geom, ST_GeomFromText('$RED')) GROUP BY YDYHFLDM ORDER BY YDYHFLDM"
balance_sql="SELECT YDYHFLDM, sum(ST_Area(geom)) AS m2 FROM ST_Read('$WORK/parcels_$N2.gpkg') GROUP BY YDYHFLDM ORDER BY YDYHFLDM"
cat > "$WORK/duck.py" <<'PY'
import duckdb, json, os, sys
import duckdb_extension_spatial as ext
# The spatial extension from its PyPI package: nothing is downloaded.
path = os.path.join(os.path.dirname(ext.__file__), "extensions", f"v{duckdb.__version__}", "spatial.duckdb_extension")
con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
con.execute(f"LOAD '{path}'")
print(json.dumps(con.execute(sys.argv[1]).fetchall()))
PY

results=()
for rep in 1 2 3; do
  results+=("$(timed "jingwei_overlap_$rep" "$WORK/jw_overlap.json" "$JW" overlap --data "$WORK/parcels_$N1.gpkg" --wkt "$RED" --sliver 0 --json)")
  results+=("$(timed "duckdb_overlap_$rep" "$WORK/duck_overlap.json" "$DUCK" "$WORK/duck.py" "$overlap_sql")")
  results+=("$(timed "jingwei_balance_$rep" "$WORK/jw_balance.json" "$JW" balance --data "$WORK/parcels_$N2.gpkg" --status cli_0 --json)")
  results+=("$(timed "duckdb_balance_$rep" "$WORK/duck_balance.json" "$DUCK" "$WORK/duck.py" "$balance_sql")")
done
printf '%s\n' "${results[@]}" > "$WORK/times.txt"
python3 - "$WORK" "$N1" "$N2" <<'PY'
import json, sys, statistics
work, n1, n2 = sys.argv[1], sys.argv[2], sys.argv[3]
t = {}
for line in open(f"{work}/times.txt"):
    name, wall, rss = line.split()
    key = name.rsplit("_", 1)[0]
    t.setdefault(key, []).append((float(wall), int(rss)))
jo = json.load(open(f"{work}/jw_overlap.json")); do = json.load(open(f"{work}/duck_overlap.json"))
jb = json.load(open(f"{work}/jw_balance.json")); db = json.load(open(f"{work}/duck_balance.json"))
jo_m2 = sum(r["areas"]["plane_m2"] for r in jo["layers"][0]["rows"]); do_m2 = sum(r[2] for r in do)
jo_n = sum(r["parcels"] for r in jo["layers"][0]["rows"]); do_n = sum(r[1] for r in do)
jb_ha = jb["status_total_ha"]; db_ha = sum(r[1] for r in db) / 1e4
print(f"agreement: overlap {jo_m2:.4f} m² vs DuckDB {do_m2:.4f} m² ({jo_n} vs {do_n} parcels); balance {jb_ha:.6f} 公顷 vs {db_ha:.6f}")
for w, n in (("overlap", n1), ("balance", n2)):
    j = min(x[0] for x in t[f"jingwei_{w}"]); d = min(x[0] for x in t[f"duckdb_{w}"])
    jr = max(x[1] for x in t[f"jingwei_{w}"]); dr = max(x[1] for x in t[f"duckdb_{w}"])
    print(f"{w} ({n} parcels): Jingwei {j:.2f} s, {jr} MB; DuckDB {d:.2f} s, {dr} MB; DuckDB/Jingwei time {d/j:.2f}×")
PY
