#!/usr/bin/env python3
"""What laspy (with LASzip, the reference LAZ decoder) reads in a LAS/LAZ file, as JSON, for the
point-cloud tests to hold Jingwei's reader to.

Usage: las-reference.py FILE  (run with the interpreter of ~/.cache/jingwei/laspy-venv)

Prints {count, rgb, points: [[x, y, z, classification, r, g, b], ...]} with every point, its
coordinates scaled and offset, its colour 16-bit as stored (0 where the format has none).
"""
import json
import sys

import laspy

las = laspy.read(sys.argv[1], laz_backend=laspy.LazBackend.Laszip)
names = set(las.point_format.dimension_names)
rgb = {"red", "green", "blue"} <= names
pts = []
for i in range(len(las.points)):
    c = [int(las.red[i]), int(las.green[i]), int(las.blue[i])] if rgb else [0, 0, 0]
    pts.append([float(las.x[i]), float(las.y[i]), float(las.z[i]), int(las.classification[i])] + c)
json.dump({"count": int(las.header.point_count), "rgb": rgb, "points": pts}, sys.stdout)
