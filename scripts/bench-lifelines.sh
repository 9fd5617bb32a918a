#!/usr/bin/env bash
# The what-if and lifelines benchmark (not part of the test run), on a release build:
#  - burst isolation (爆管关阀) on synthetic lattice networks of 100,800 and 319,200 pipes
#    (`jingwei-tools bench-pipes`: the network's build, one burst with every failing-valve case);
#  - the demo city's scenarios through `jingwei scenario … --json` (their `ms`: the model, the
#    buildings, the roads and the evacuation, without opening the workspace);
#  - burst isolation and a camera viewshed on the demo's water network.
# Prints one JSON line per measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo build --quiet --release --bin jingwei --bin jingwei-tools
BIN="$CARGO_TARGET_DIR/release"
for n in 225 400; do
  "$BIN/jingwei-tools" bench-pipes --n "$n" --bursts 30
done
ms() { python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'run': sys.argv[1], 'ms': d.get('ms'), 'buildings': d.get('buildings'), 'people': d.get('people')}, ensure_ascii=False))" "$1"; }
J="$BIN/jingwei"
$J scenario flood --at 121.4948,31.2354 --level 5.6 --from 4.6 --steps 4 --evacuate 30 --json | ms "flood 4 steps + evacuation"
$J scenario flood --at 121.4948,31.2354 --level 5.6 --json | ms "flood one level"
$J scenario rain --at 121.505,31.235 --mm 150 --radius 1000 --json | ms "rain 150 mm"
$J scenario plume --at 121.505,31.235 --rate 500 --wind 3 --wind-from 90 --thresholds 10,100 --steps 3 --json | ms "plume 3 steps"
$J scenario quake --at 121.505,31.235 --magnitude 6 --json | ms "quake M6"
$J pipes burst --at 121.5055,31.2369 --json | ms "demo burst"
