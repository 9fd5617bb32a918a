#!/usr/bin/env python3
"""What IfcOpenShell reads in an IFC file, as JSON, for the IFC tests to hold Jingwei's reader to.

Usage: ifc-reference.py FILE.ifc  (run with the interpreter of ~/.cache/jingwei/ifcopenshell-venv)

Prints {schema, spatial: [{class, name, elevation}], products: {GlobalId: {class, container,
psets: {set: [property names]}, bbox: [minx, miny, minz, maxx, maxy, maxz] | null, colour:
[r, g, b, a] | null}}}, where the
container is the GlobalId of the spatial element holding the product (directly or through the
element it is part of) and the box is of IfcOpenShell's own triangulation in world coordinates,
metres, openings subtracted, and the colour is that of most of its triangles (null where that
is IfcOpenShell's default rather than the file's style).
"""
import json
import sys

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.util.element as element

f = ifcopenshell.open(sys.argv[1])
SPATIAL = ("IfcSite", "IfcBuilding", "IfcBuildingStorey", "IfcSpace")


def container(e):
    for _ in range(64):
        c = element.get_container(e)
        if c is not None:
            return c
        whole = element.get_aggregate(e)
        if whole is None:
            return None
        if whole.is_a() in SPATIAL:
            return whole
        e = whole
    return None


spatial = []
for s in f.by_type("IfcSpatialStructureElement"):
    if s.is_a() in SPATIAL[:3]:
        elev = s.Elevation if s.is_a("IfcBuildingStorey") else None
        spatial.append({"class": s.is_a(), "name": s.Name or s.LongName or s.is_a(),
                        "elevation": elev})

products = {}
for p in f.by_type("IfcProduct"):
    if p.is_a() in SPATIAL[:3] or p.ObjectPlacement is None:
        continue
    c = container(p)
    psets = element.get_psets(p)
    products[p.GlobalId] = {
        "class": p.is_a(),
        "container": c.GlobalId if c is not None else None,
        "psets": {k: sorted(x for x in v if x != "id") for k, v in psets.items()},
        "bbox": None,
        "colour": None,
        "volume": None,
    }

settings = ifcopenshell.geom.settings()
settings.set("use-world-coords", True)
it = ifcopenshell.geom.iterator(settings, f, 1)
if it.initialize():
    while True:
        shape = it.get()
        v = shape.geometry.verts
        if len(v) >= 3 and shape.guid in products:
            xs, ys, zs = v[0::3], v[1::3], v[2::3]
            products[shape.guid]["bbox"] = [min(xs), min(ys), min(zs), max(xs), max(ys), max(zs)]
            # The volume its triangles close (openings subtracted).
            fs = shape.geometry.faces
            vol = 0.0
            for k in range(0, len(fs), 3):
                a, b, c = (v[3 * fs[k]:3 * fs[k] + 3], v[3 * fs[k + 1]:3 * fs[k + 1] + 3], v[3 * fs[k + 2]:3 * fs[k + 2] + 3])
                vol += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6.0
            products[shape.guid]["volume"] = vol
            # The colour most of its triangles have (diffuse, and opacity from transparency).
            counts = {}
            for m in shape.geometry.material_ids:
                counts[m] = counts.get(m, 0) + 1
            mats = shape.geometry.materials
            if counts and mats:
                best = max(counts, key=lambda k: counts[k])
                # IfcOpenShell's own defaults ('DefaultMaterial', or the class's name, such as
                # 'IfcWall') are not the file's colours: no colour then. (It does not apply
                # IFC4's IfcIndexedColourMap either: such faces get its default.)
                name = mats[best].name if 0 <= best < len(mats) else ""
                default = name == "DefaultMaterial" or (name.startswith("Ifc") and name.isalnum())
                if 0 <= best < len(mats) and not default:
                    d, t = mats[best].diffuse, mats[best].transparency
                    t = 0.0 if t != t else t
                    products[shape.guid]["colour"] = [round(d.r() * 255), round(d.g() * 255), round(d.b() * 255), round((1 - t) * 255)]
        if not it.next():
            break

json.dump({"schema": f.schema, "spatial": spatial, "products": products}, sys.stdout, indent=1)
