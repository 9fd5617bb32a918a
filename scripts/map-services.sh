#!/usr/bin/env bash
# Real map services on 127.0.0.1 for the imagery and service tests, started from the repo's
# own data: MapServer 8 (Debian's cgi-mapserver, through Python's CGI server) serving WMS
# 1.1.1/1.3.0 and WFS 2.0 of a test orthophoto and the demo city's buildings; MapProxy (PyPI,
# in a private virtualenv) in front of it with WMTS (KVP and REST), TMS and WMS on three grids:
# 天地图-like EPSG:4490 ("tdt_c", level 0 one tile of 1.40625°), GLOBAL_WEBMERCATOR and the demo
# city's Gauss-Krüger zone (EPSG:4550), from file, MBTiles and GeoPackage caches; MapServer's
# OGC API Features of the buildings; pygeoapi (PyPI, a private virtualenv) serving the same
# buildings as OGC API Features.
#   scripts/map-services.sh start   start (or find running) and print KEY=VALUE lines
#   scripts/map-services.sh stop
# The orthophoto: the Landsat scene of assets/imagery (bands 3, 2, 1) placed over Lujiazui in
# EPSG:4490, with a red 60 m square burned in at 121.505° E 31.230° N as a ground mark.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${JINGWEI_SERVICES_RUN:-${TMPDIR:-/tmp}/jingwei-services-$(id -u)}"
VENV="${JINGWEI_MAPPROXY_VENV:-$HOME/.cache/jingwei/mapproxy-venv}"
PG_VENV="${JINGWEI_PYGEOAPI_VENV:-$HOME/.cache/jingwei/pygeoapi-venv}"
STATE="$RUN/state.env"

alive() { [ -f "$STATE" ] && . "$STATE" && kill -0 "$MAPSERVER_PID" 2>/dev/null && kill -0 "$MAPPROXY_PID" 2>/dev/null && [ -n "${PYGEOAPI_PID:-}" ] && kill -0 "$PYGEOAPI_PID" 2>/dev/null; }

# One start or stop at a time (test binaries start the services in parallel); the servers
# started below do not inherit the lock (9>&-).
mkdir -p "$(dirname "$RUN")"
exec 9>"$RUN.lock"
flock 9

if [ "${1:-start}" = stop ]; then
  if [ -f "$STATE" ]; then . "$STATE"; kill "$MAPSERVER_PID" "$MAPPROXY_PID" ${PYGEOAPI_PID:-} 2>/dev/null || true; rm -f "$STATE"; fi
  exit 0
fi
if alive; then cat "$STATE"; exit 0; fi

command -v mapserv >/dev/null || { echo "map-services: MapServer is missing; run scripts/setup.sh" >&2; exit 1; }
[ -x "$VENV/bin/mapproxy-util" ] || { echo "map-services: MapProxy is missing; run scripts/setup.sh" >&2; exit 1; }
[ -x "$PG_VENV/bin/pygeoapi" ] || { echo "map-services: pygeoapi is missing; run scripts/setup.sh" >&2; exit 1; }
rm -rf "$RUN"; mkdir -p "$RUN/cgi-bin" "$RUN/cache"

# --- data ------------------------------------------------------------------------------
gdal_translate -q -b 3 -b 2 -b 1 -a_srs EPSG:4490 -a_ullr 121.48 31.25 121.53 31.21 \
  -co TILED=YES assets/imagery/L7_ETMs.tif "$RUN/ortho.tif"
# The mark: 4 × 4 pixels of the image exactly (columns 171–174, rows 175–178), so that its
# centre is known to the last digit.
read -r MARK_LON MARK_LAT < <(python3 - "$RUN/mark.geojson" <<'PY'
import json, sys
x0, y0, dx, dy = 121.48, 31.25, 0.05 / 349, 0.04 / 352
l, r, t, b = x0 + 171 * dx, x0 + 175 * dx, y0 - 175 * dy, y0 - 179 * dy
ring = [[l, b], [r, b], [r, t], [l, t], [l, b]]
json.dump({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
           "geometry": {"type": "Polygon", "coordinates": [ring]}}]}, open(sys.argv[1], "w"))
print(repr((l + r) / 2), repr((t + b) / 2))
PY
)
gdal_rasterize -q -b 1 -b 2 -b 3 -burn 255 -burn 0 -burn 0 "$RUN/mark.geojson" "$RUN/ortho.tif"
ogr2ogr -q -f GeoJSON -t_srs EPSG:4490 "$RUN/buildings.geojson" assets/demo/lujiazui_osm.gpkg buildings_polygon 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MS_PORT=$(free_port); MP_PORT=$(free_port); PG_PORT=$(free_port)
MS_URL="http://127.0.0.1:$MS_PORT/cgi-bin/mapserv"

# --- MapServer ---------------------------------------------------------------------------
cat > "$RUN/jingwei.map" <<EOF_MAP
MAP
  NAME "jingwei"
  EXTENT 121.47 31.20 121.54 31.26
  SIZE 512 512
  PROJECTION "init=epsg:4490" END
  WEB
    METADATA
      "ows_enable_request" "*"
      "ows_title" "Jingwei test services"
      "ows_srs" "EPSG:4490 EPSG:4550 EPSG:3857 EPSG:4326"
      "ows_onlineresource" "$MS_URL?"
      "wfs_getfeature_formatlist" "geojson,gml3"
      "oga_enable_request" "*"
    END
  END
  OUTPUTFORMAT NAME "geojson" DRIVER "OGR/GEOJSON" MIMETYPE "application/json; subtype=geojson" FORMATOPTION "STORAGE=stream" FORMATOPTION "FORM=SIMPLE" END
  LAYER
    NAME "ortho"
    TYPE RASTER
    STATUS ON
    DATA "$RUN/ortho.tif"
    PROJECTION "init=epsg:4490" END
    PROCESSING "RESAMPLE=BILINEAR"
    METADATA "ows_title" "ortho" END
  END
  LAYER
    NAME "buildings"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "$RUN/buildings.geojson"
    PROJECTION "init=epsg:4490" END
    TEMPLATE "query"
    METADATA
      "ows_title" "buildings"
      "gml_include_items" "all"
      "gml_featureid" "id"
      "wfs_enable_request" "*"
    END
    CLASS NAME "buildings" STYLE COLOR 200 80 60 OUTLINECOLOR 90 30 20 END END
  END
END
EOF_MAP
# MAPS names the map for OGC API Features (…/mapserv/jingwei/ogcapi/…). No
# "oga_onlineresource" is set, as on many servers in the field: MapServer 8.0 then writes
# broken `next` links (the path twice, "localhost") that answer 200 with an error document —
# the client must notice and page by offset.
cat > "$RUN/mapserver.conf" <<CONF
CONFIG
  ENV
    "MS_MAPFILE" "$RUN/jingwei.map"
  END
  MAPS
    "jingwei" "$RUN/jingwei.map"
  END
END
CONF
cat > "$RUN/cgi-bin/mapserv" <<SH
#!/bin/sh
export MAPSERVER_CONFIG_FILE="$RUN/mapserver.conf"
exec $(command -v mapserv)
SH
chmod +x "$RUN/cgi-bin/mapserv"
( cd "$RUN" && exec python3 -m http.server --cgi --bind 127.0.0.1 "$MS_PORT" ) > "$RUN/mapserver.log" 2>&1 9>&- &
MS_PID=$!

# --- MapProxy ----------------------------------------------------------------------------
read -r GX0 GY0 _ < <(echo "121.44 31.18" | gdaltransform -s_srs EPSG:4490 -t_srs EPSG:4550)
read -r GX1 GY1 _ < <(echo "121.57 31.28" | gdaltransform -s_srs EPSG:4490 -t_srs EPSG:4550)
cat > "$RUN/mapproxy.yaml" <<YAML
services:
  wms:
    srs: ['EPSG:4490', 'EPSG:4550', 'EPSG:3857', 'EPSG:4326']
    md: {title: Jingwei MapProxy}
  wmts:
    restful: true
    kvp: true
  tms:
    origin: 'nw'
layers:
  - name: ortho
    title: ortho
    sources: [ortho_cache]
  - name: ortho_mbtiles
    title: ortho (MBTiles cache)
    sources: [ortho_mbtiles]
  - name: ortho_gpkg
    title: ortho (GeoPackage cache)
    sources: [ortho_gpkg]
  # With a legend: its WMTS style carries a LegendURL (MapProxy's GetLegendGraphic, which
  # asks MapServer's).
  - name: buildings
    title: buildings
    sources: [buildings_cache]
    legendurl: '$MS_URL?SERVICE=WMS&REQUEST=GetLegendGraphic&VERSION=1.3.0&LAYER=buildings&FORMAT=image/png&SLD_VERSION=1.1.0'
caches:
  ortho_cache:
    grids: [tdt_c, webmerc, gk]
    sources: [ms_wms]
    format: image/png
  # The same image kept in MapProxy's MBTiles and GeoPackage caches (files a client can
  # also open directly).
  # MBTiles counts rows from the south: a grid with its origin there (MapProxy writes the
  # grid's own row numbers into the file).
  ortho_mbtiles:
    grids: [GLOBAL_MERCATOR]
    sources: [ms_wms]
    format: image/png
    cache: {type: mbtiles, filename: $RUN/cache/ortho.mbtiles}
  ortho_gpkg:
    grids: [tdt_c]
    sources: [ms_wms]
    format: image/png
    cache: {type: geopackage, filename: $RUN/cache/ortho.gpkg, table_name: ortho}
  buildings_cache:
    grids: [webmerc]
    sources: [ms_buildings]
    format: image/png
sources:
  ms_buildings:
    type: wms
    wms_opts: {legendgraphic: true}
    req: {url: '$MS_URL?', layers: buildings, transparent: true}
    supported_srs: ['EPSG:4490', 'EPSG:4550', 'EPSG:3857', 'EPSG:4326']
  ms_wms:
    type: wms
    req: {url: '$MS_URL?', layers: ortho, transparent: true}
    supported_srs: ['EPSG:4490', 'EPSG:4550', 'EPSG:3857', 'EPSG:4326']
    coverage: {bbox: [121.48, 31.21, 121.53, 31.25], srs: 'EPSG:4490'}
grids:
  tdt_c:
    srs: 'EPSG:4490'
    bbox: [-180, -90, 180, 90]
    bbox_srs: 'EPSG:4490'
    origin: 'nw'
    min_res: 1.40625
    num_levels: 19
  webmerc:
    base: GLOBAL_WEBMERCATOR
    num_levels: 19
  gk:
    srs: 'EPSG:4550'
    bbox: [$GX0, $GY0, $GX1, $GY1]
    origin: 'nw'
    num_levels: 10
globals:
  cache: {base_dir: $RUN/cache}
  image: {resampling_method: bilinear}
  srs:
    axis_order_ne: ['EPSG:4490', 'EPSG:4326', 'EPSG:4550']
    axis_order_en: ['EPSG:3857']
YAML
"$VENV/bin/mapproxy-util" serve-develop "$RUN/mapproxy.yaml" -b "127.0.0.1:$MP_PORT" > "$RUN/mapproxy.log" 2>&1 9>&- &
MP_PID=$!

# --- pygeoapi (OGC API Features of the same buildings) ------------------------------------
cat > "$RUN/pygeoapi.yml" <<YAML
server:
  bind: {host: 127.0.0.1, port: $PG_PORT}
  url: http://127.0.0.1:$PG_PORT
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {default_items: 100, max_items: 1000}
  map: {url: 'http://127.0.0.1/{z}/{x}/{y}.png', attribution: ''}
logging: {level: ERROR}
metadata:
  identification: {title: Jingwei test services, description: tests, keywords: [test], keywords_type: theme, terms_of_service: '', url: 'http://127.0.0.1'}
  license: {name: ODbL 1.0, url: 'https://opendatacommons.org/licenses/odbl/'}
  provider: {name: Jingwei, url: 'http://127.0.0.1'}
  contact: {name: Jingwei, position: test, address: '', city: '', stateorprovince: '', postalcode: '', country: CN, phone: '', fax: '', email: '', url: '', hours: '', instructions: '', role: pointOfContact}
resources:
  buildings:
    type: collection
    title: buildings
    description: Lujiazui buildings (OpenStreetMap)
    keywords: [buildings]
    extents:
      spatial: {bbox: [121.47, 31.20, 121.54, 31.26], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}
    providers:
      - type: feature
        name: GeoJSON
        data: $RUN/buildings.geojson
        id_field: id
YAML
PYGEOAPI_CONFIG="$RUN/pygeoapi.yml" PYGEOAPI_OPENAPI="$RUN/openapi.yml" \
  "$PG_VENV/bin/pygeoapi" openapi generate "$RUN/pygeoapi.yml" --output-file "$RUN/openapi.yml" > "$RUN/pygeoapi.log" 2>&1
( export PYGEOAPI_CONFIG="$RUN/pygeoapi.yml" PYGEOAPI_OPENAPI="$RUN/openapi.yml"; exec "$PG_VENV/bin/pygeoapi" serve ) >> "$RUN/pygeoapi.log" 2>&1 9>&- &
PG_PID=$!

cat > "$STATE" <<ENV
MAPSERVER_URL=$MS_URL
MAPSERVER_PID=$MS_PID
MAPPROXY_URL=http://127.0.0.1:$MP_PORT
MAPPROXY_PID=$MP_PID
PYGEOAPI_URL=http://127.0.0.1:$PG_PORT
PYGEOAPI_PID=$PG_PID
SERVICES_RUN=$RUN
MARK_LON=$MARK_LON
MARK_LAT=$MARK_LAT
GK_ORIGIN=$GX0,$GY1
ENV
for _ in $(seq 1 100); do
  if curl -sf "$MS_URL?SERVICE=WMS&REQUEST=GetCapabilities" >/dev/null 2>&1 \
     && curl -sf "http://127.0.0.1:$MP_PORT/wmts/1.0.0/WMTSCapabilities.xml" >/dev/null 2>&1 \
     && curl -sf "http://127.0.0.1:$PG_PORT/collections?f=json" >/dev/null 2>&1; then
    cat "$STATE"; exit 0
  fi
  sleep 0.2
done
echo "map-services: the servers did not answer; see $RUN/mapserver.log and $RUN/mapproxy.log" >&2
kill "$MS_PID" "$MP_PID" "$PG_PID" 2>/dev/null || true
rm -f "$STATE"
tail -n 5 "$RUN/mapserver.log" "$RUN/mapproxy.log" "$RUN/pygeoapi.log" >&2
exit 1
