#!/usr/bin/env python3
"""Write assets/demo/compliance/cases.json: the golden cases of 合规性审查 on the demo city.

Each case is a square site (EPSG:4550). Its overlap with each rule's classes is computed by
SpatiaLite/GEOS through `ogrinfo -dialect sqlite` (an implementation independent of Jingwei's),
and the verdict by the rules' semantics re-written here; the test (app/tests/review.rs) checks
Jingwei's verdicts and areas against this file. Run again after changing the rules or the sites.
"""
import json, os, subprocess, tomllib

ROOT = os.path.join(os.path.dirname(__file__), "..")
DEMO = os.path.join(ROOT, "assets/demo")
SITES = {
    "clean": (357400, 3458600, 100),
    "eco_edge": (356500, 3458300, 200),
    "farmland": (358350, 3458050, 100),
    "udb_edge": (355100, 3458000, 200),
    "far_outside": (354000, 3458000, 100),
    "eco_sliver": (356560, 3458200, 100),
}
LAYERS = {  # layer id -> (file, table, class field, needs transform)
    "control_zones": ("planning_synthetic.gpkg", "control_zones", "zone_type", False),
    "landuse": ("lujiazui_osm.gpkg", "landuse_polygon", "kind", True),
}


def overlap(layer, classes, wkt):
    f, table, field, transform = LAYERS[layer]
    geom = "ST_Transform(geom, 4550)" if transform else "geom"
    cls = ",".join("'%s'" % c for c in classes)
    sql = (f"select sum(ST_Area(ST_Intersection({geom}, ST_GeomFromText('{wkt}', 4550)))) a "
           f"from {table} where {field} in ({cls})")
    out = subprocess.run(["ogrinfo", "-q", "-dialect", "sqlite", "-sql", sql, os.path.join(DEMO, f)],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("a (Real) ="):
            v = line.split("=")[1].strip()
            return 0.0 if v == "(null)" else float(v)
    return 0.0


def verdict(rule, tol, inside, red):
    outside = max(red - inside, 0.0)
    if rule["must"] == "avoid":
        if inside <= tol:
            return "符合"
        if "partial_m2" in rule and inside <= rule["partial_m2"]:
            return "部分符合"
        return "不符合"
    if outside <= tol:
        return "符合"
    if inside <= tol:
        return "不符合"
    return "部分符合"


rules = tomllib.load(open(os.path.join(DEMO, "compliance/rules.toml"), "rb"))
cases = []
for name, (x, y, s) in SITES.items():
    wkt = f"POLYGON(({x} {y},{x+s} {y},{x+s} {y+s},{x} {y+s},{x} {y}))"
    expect = {}
    for r in rules["rule"]:
        inside = overlap(r["layer"], r["classes"], wkt)
        tol = r.get("tolerance_m2", rules.get("tolerance_m2", 1.0))
        expect[r["id"]] = {"verdict": verdict(r, tol, inside, s * s), "inside_m2": round(inside, 4)}
    cases.append({"name": name, "wkt": wkt, "expect": expect})
json.dump({"generated_by": "scripts/golden-compliance.py (SpatiaLite/GEOS through ogrinfo)", "cases": cases},
          open(os.path.join(DEMO, "compliance/cases.json"), "w"), ensure_ascii=False, indent=1)
