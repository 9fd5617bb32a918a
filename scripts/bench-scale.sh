#!/usr/bin/env bash
# How the peer benchmark's workloads grow with the city (issue 21; not part of the test run):
# `jingwei-tools bench-peer W1..W4` on the harness's synthetic city at each size (default 100,000,
# 1,000,000 and 3,000,000 buildings; the generator needs about 3.2 GB of memory per million),
# each run as its own process under /usr/bin/time, REPS times (median). Prints, per workload and
# size, wall seconds, peak RSS, the answer, and the growth against the previous size per building
# (1.00 = linear).
#   scripts/bench-scale.sh [N ...]
# Writes target/bench-scale.json. Profile: release (PROFILE=dev for a quick look).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
SIZES=("${@:-100000 1000000 3000000}")
read -r -a SIZES <<<"${SIZES[*]}"
PROFILE=${PROFILE:-release}
REPS=${REPS:-3}
export PEERBENCH_HOME=${PEERBENCH_HOME:-/tmp/jingwei-peerbench}
../shared/bench/setup.sh >/dev/null
../shared/bench/gen/gen_all.sh "${SIZES[@]}"
if [ "$PROFILE" = release ]; then
  cargo build --quiet --release --bin jingwei-tools
  BIN="$CARGO_TARGET_DIR/release/jingwei-tools"
else
  cargo build --quiet --bin jingwei-tools
  BIN="$CARGO_TARGET_DIR/debug/jingwei-tools"
fi
mkdir -p target
raw=$(mktemp)
for n in "${SIZES[@]}"; do
  for w in W1 W2 W3 W4; do
    for rep in $(seq "$REPS"); do
      t=$(mktemp)
      line=$(/usr/bin/time -f '%e %M' -o "$t" "$BIN" bench-peer "$w" "$PEERBENCH_HOME/data/$n" | grep '^{')
      read -r wall kb <"$t"
      rm -f "$t"
      printf '{"n": %s, "w": "%s", "rep": %s, "wall_s": %s, "rss_mb": %s, "out": %s}\n' "$n" "$w" "$rep" "$wall" "$((kb / 1024))" "$line" >>"$raw"
    done
  done
done
python3 - "$raw" "$PROFILE" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
out = {"profile": sys.argv[2], "runs": rows, "median": {}}
sizes = sorted({r["n"] for r in rows})
print(f"{'workload':8} {'N':>9} {'wall s':>8} {'RSS MB':>7} {'time/N growth':>14} {'RSS/N growth':>13}")
for w in ["W1", "W2", "W3", "W4"]:
    prev = None
    for n in sizes:
        rs = [r for r in rows if r["w"] == w and r["n"] == n]
        if not rs:
            continue
        wall = statistics.median(r["wall_s"] for r in rs)
        rss = statistics.median(r["rss_mb"] for r in rs)
        answers = {json.dumps({k: v for k, v in r["out"].items() if k != "phases"}, sort_keys=True) for r in rs}
        if len(answers) != 1:
            sys.exit(f"{w} at {n}: the repetitions disagree")
        g = ("", "")
        if prev:
            pn, pw, pr = prev
            g = (f"{(wall / n) / (pw / pn):.2f}", f"{(rss / n) / (pr / pn):.2f}")
        out["median"].setdefault(w, {})[n] = {"wall_s": wall, "rss_mb": rss, "answer": json.loads(answers.pop())}
        print(f"{w:8} {n:>9} {wall:>8.2f} {rss:>7} {g[0]:>14} {g[1]:>13}")
        prev = (n, wall, rss)
json.dump(out, open("target/bench-scale.json", "w"), indent=1)
PY
rm -f "$raw"
