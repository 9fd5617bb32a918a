//! City lifelines and cameras for the command panel: the pipe network of the workspace (its
//! topology check, burst isolation 爆管关阀 and traces) and what the video cameras see (a
//! camera's viewshed over the DEM and the buildings, the cameras that see a point, the share of
//! an incident's area some camera sees).

use std::sync::Arc;

use geo::{Centroid, Coord, Geometry, LineString, MultiLineString, Point, Polygon};
use jingwei_analysis::pipes::{Network, PipeIn, PointIn, Tolerances, TopologyReport};
use jingwei_analysis::scenario::row_runs;
use jingwei_analysis::scenario::viewshed::{self, Camera, Surface};
use jingwei_layers::{Workspace, WorkspaceLayer};
use jingwei_scene::view::View;
use serde::Serialize;

use crate::emergency::circle;
use crate::error::{Error, Result};
use crate::roles::{self, Field, Role};
use crate::session::{Canvas, Session, bbox_of, frame_box};

/// What kind a pipe network point is, from its kind field's value.
fn point_kind(v: &str) -> Option<&'static str> {
    let v = v.to_lowercase();
    if v.contains("valve") || v.contains("阀") {
        Some("valve")
    } else if v.contains("source")
        || v.contains("水源")
        || v.contains("气源")
        || v.contains("station")
        || v.contains("plant")
        || v.contains("水厂")
    {
        Some("source")
    } else if v.contains("customer") || v.contains("用户") || v.contains("consumer") {
        Some("customer")
    } else {
        None
    }
}

/// Build the network of the workspace's pipe layer and its points.
pub fn build_network(ws: &Workspace) -> Result<(String, Network)> {
    let pipes = roles::require(ws, Role::Pipes)?;
    let mut input = Vec::new();
    for (row, g) in pipes.layer.geometries.iter().enumerate() {
        let g = g.map(|g| g.to_geo());
        let lines: Vec<&LineString> = match &g {
            Some(Geometry::LineString(l)) => vec![l],
            Some(Geometry::MultiLineString(m)) => m.0.iter().collect(),
            _ => continue,
        };
        for l in lines {
            input.push(PipeIn {
                fid: pipes.layer.fids[row],
                line: l.clone(),
            });
        }
    }
    let (mut valves, mut sources, mut customers) = (Vec::new(), Vec::new(), Vec::new());
    for pl in roles::layers(ws, Role::PipePoints) {
        let kind = Field::PointKind.find(&pl.layer);
        // A layer named for valves holds valves when it has no kind field.
        let default = if pl.layer.name.to_lowercase().contains("valve") || pl.title.contains("阀门") {
            Some("valve")
        } else {
            None
        };
        for (row, g) in pl.layer.geometries.iter().enumerate() {
            let Some(c) = g.and_then(|g| g.to_geo().centroid()) else { continue };
            let k = roles::text(&pl.layer, kind, row).as_deref().and_then(point_kind).or(default);
            let p = PointIn {
                fid: pl.layer.fids[row],
                x: c.x(),
                y: c.y(),
            };
            match k {
                Some("valve") => valves.push(p),
                Some("source") => sources.push(p),
                Some("customer") => customers.push(p),
                _ => {}
            }
        }
    }
    Ok((
        pipes.id.clone(),
        Network::build(input, &valves, &sources, &customers, Tolerances::default()),
    ))
}

/// A burst's plan for the map and the panel.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BurstDto {
    /// The broken pipe (fid).
    pub pipe: i64,
    /// Where the break is (workspace CRS).
    pub at: [f64; 2],
    /// Valves to close (fids of the pipe points).
    pub valves: Vec<i64>,
    /// Pipes isolated.
    pub isolated_pipes: usize,
    /// Their length, m.
    pub isolated_m: f64,
    /// Customers (points) on them.
    pub isolated_customers: usize,
    /// Pipes without supply once the valves are closed.
    pub cut_off_pipes: usize,
    /// Their length, m.
    pub cut_off_m: f64,
    /// Customers without supply (isolated ones included).
    pub customers_out: usize,
    /// People those customers supply (their people field, when there is one).
    pub people_out: f64,
    /// For each valve: the valves to close next if it fails.
    pub if_valve_fails: Vec<ValveFailureDto>,
    /// Supply points in the network (0: only the isolated section counts).
    pub sources: usize,
    /// Milliseconds the analysis took.
    pub ms: f64,
    /// The view framing it.
    pub view: Option<View>,
}

/// A valve that does not close.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ValveFailureDto {
    /// The valve.
    pub failed: i64,
    /// What to close next.
    pub next_valves: Vec<i64>,
    /// Customers out then.
    pub customers_out: usize,
}

/// A trace along the flow.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TraceDto {
    /// The pipe traced from.
    pub pipe: i64,
    /// Downstream (else upstream).
    pub downstream: bool,
    /// Pipes reached.
    pub pipes: Vec<i64>,
    /// Their length, m.
    pub length_m: f64,
}

/// One camera that sees a point.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CameraHit {
    /// Feature id.
    pub fid: i64,
    /// Name.
    pub name: Option<String>,
    /// Distance, m.
    pub distance_m: f64,
}

/// What a camera sees.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ViewshedDto {
    /// The camera.
    pub fid: i64,
    /// Area seen, m².
    pub seen_m2: f64,
    /// Area in its range and field of view, m².
    pub covered_m2: f64,
    /// Cell size of the analysis, m.
    pub cell_m: f64,
    /// The view framing it.
    pub view: Option<View>,
}

/// How much of an incident's area the cameras see.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CoverageDto {
    /// The area's size, m².
    pub area_m2: f64,
    /// The share some camera sees (0–1).
    pub seen_share: f64,
    /// The cameras that see part of it, most first: (fid, share of the area).
    pub cameras: Vec<(i64, f64)>,
}

/// A sensor reading attached to the pipe network.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SensorDto {
    /// The reading and its alarm state.
    pub reading: jingwei_feeds::sta::Reading,
    /// The pipe (fid) it sits on, when one lies within [`SENSOR_ATTACH_M`].
    pub pipe: Option<i64>,
    /// Its distance from that pipe, m.
    pub distance_m: Option<f64>,
}

/// A sensor farther than this (m) from every pipe is not attached to one.
pub const SENSOR_ATTACH_M: f64 = 20.0;

/// The demo's pipe sensors (SensorThings), beside its feeds.
pub fn demo_pipe_sensors() -> std::path::PathBuf {
    crate::feeds::demo_feeds_dir().join("pipe_sensors.json")
}

/// A camera of a camera layer row.
fn camera_of(l: &WorkspaceLayer, row: usize) -> Option<Camera> {
    let c = l.layer.geometries.geometry(row)?.centroid()?;
    let num = |f: Field, d: f64| f.find(&l.layer).and_then(|i| l.layer.feature(row).value(i).as_f64()).unwrap_or(d);
    Some(Camera {
        x: c.x(),
        y: c.y(),
        height_m: num(Field::MountHeight, 6.0),
        heading_deg: num(Field::Heading, 0.0).rem_euclid(360.0),
        fov_deg: num(Field::FieldOfView, 360.0).clamp(1.0, 360.0),
        range_m: num(Field::Range, 100.0).clamp(1.0, 50_000.0),
    })
}

/// The ground's height at workspace points: the analysis DEM's (else 0).
struct Ground<'a>(Option<jingwei_layers::dem::TerrainSampler<'a>>);

impl Ground<'_> {
    fn at(&self, x: f64, y: f64) -> f64 {
        self.0.as_ref().and_then(|s| s.height_at(x, y)).unwrap_or(0.0)
    }
}

/// A height surface over `bbox` with `cell`-metre cells: the ground, with the buildings raised
/// to their roofs (height field, else floors × 3 m, else 3 m).
fn surface(ws: &Workspace, bbox: [f64; 4], cell: f64) -> Result<(Surface, Ground<'_>)> {
    let ground = Ground(ws.analysis_terrain().map(|t| t.sampler()).transpose()?);
    let mut s = Surface::new(bbox, cell, |_, _| 0.0);
    if ground.0.is_some() {
        for i in 0..s.z.len() {
            let (x, y) = s.centre(i);
            s.z[i] = ground.at(x, y) as f32;
        }
    }
    if let Some(b) = roles::layer(ws, Role::Buildings) {
        let bin = crate::emergency::buildings_in(b);
        for row in b.index.candidates(bbox) {
            let Some(geom) = &b.layer.geometries.geometry(row) else { continue };
            let num = |f: Option<usize>| f.and_then(|i| b.layer.feature(row).value(i).as_f64()).filter(|v| *v > 0.0);
            let h = num(bin.height).or_else(|| num(bin.floors).map(|f| f * 3.0)).unwrap_or(3.0);
            let base = geom.centroid().map_or(0.0, |c| ground.at(c.x(), c.y()));
            let polys: Vec<&Polygon> = match geom {
                Geometry::Polygon(p) => vec![p],
                Geometry::MultiPolygon(m) => m.0.iter().collect(),
                _ => continue,
            };
            for p in polys {
                s.burn(p, (base + h) as f32);
            }
        }
    }
    Ok((s, ground))
}

/// Cell size of camera analyses, m.
pub const CAMERA_CELL_M: f64 = 2.0;

impl Session {
    /// The workspace's pipe network (built on first use, again when the pipe layer changes).
    pub(crate) fn network(&self, ws: &Workspace) -> Result<Arc<Network>> {
        let id = roles::require(ws, Role::Pipes)?.id.clone();
        let mut g = self.pipes.lock()?;
        if let Some((layer, net)) = g.as_ref()
            && *layer == id
        {
            return Ok(net.clone());
        }
        let (layer, net) = build_network(ws)?;
        let net = Arc::new(net);
        *g = Some((layer, net.clone()));
        Ok(net)
    }

    /// Show the pipe layers in 3D at their depth under a see-through ground (`opacity`, 0–1);
    /// returns their ids.
    pub fn show_underground(&self, opacity: f32) -> Result<Vec<String>> {
        let ids = self.with_workspace(|ws| Ok(roles::layers(ws, Role::Pipes).iter().map(|l| l.id.clone()).collect::<Vec<_>>()))?;
        if ids.is_empty() {
            return Err(Error::Missing(
                "the workspace has no pipe network (a line layer named pipe, 管网 or 管线)".into(),
            ));
        }
        for id in &ids {
            self.set_layer_visible(id, true)?;
        }
        self.set_ground_opacity(Some(opacity))?;
        Ok(ids)
    }

    /// The pipe network's topology: nodes, pieces, T-junctions joined, gaps (drawn), stray
    /// valves and unattached customers.
    pub fn pipe_topology(&self) -> Result<TopologyReport> {
        self.with_workspace(|ws| {
            let net = self.network(ws)?;
            let r = net.report.clone();
            let marks = r
                .gaps
                .iter()
                .map(|g| ("incident_point".to_string(), Geometry::Point(Point::new(g.x, g.y))))
                .collect();
            self.set_overlay(ws, "lifelines", marks)?;
            Ok(r)
        })
    }

    /// Burst isolation for a break on the pipe nearest to (lon, lat) — or on pipe `fid`: the
    /// valves to close, what they cut off, and the next valves if one fails; drawn on the map.
    pub fn pipe_burst(&self, at: Option<[f64; 2]>, fid: Option<i64>, canvas: Canvas) -> Result<BurstDto> {
        self.with_workspace(|ws| {
            let t0 = std::time::Instant::now();
            let net = self.network(ws)?;
            let edge = match (at, fid) {
                (Some([lon, lat]), _) => {
                    let (x, y) = ws.crs.from_lonlat()?.transform(lon, lat)?;
                    let (e, d) = net
                        .nearest_edge(x, y)
                        .ok_or_else(|| Error::Missing("the pipe network is empty".into()))?;
                    if d > 50.0 {
                        return Err(Error::Invalid(format!("no pipe within 50 m of ({lon}, {lat}) (nearest {d:.0} m)")));
                    }
                    e
                }
                (None, Some(f)) => net
                    .edge_of_pipe(f)
                    .ok_or_else(|| Error::Missing(format!("no pipe with fid {f} in the network")))?,
                (None, None) => return Err(Error::Invalid("say which pipe: a place or a pipe fid".into())),
            };
            let plan = net.isolate(edge);
            let people_of = |customers: &[i64]| -> f64 {
                let mut total = 0.0;
                for pl in roles::layers(ws, Role::PipePoints) {
                    let Some(pi) = Field::People.find(&pl.layer) else { continue };
                    for c in customers {
                        if let Some(row) = pl.layer.row_of_fid(*c) {
                            total += pl.layer.feature(row).value(pi).as_f64().unwrap_or(0.0);
                        }
                    }
                }
                total
            };
            let m = &plan.main;
            let mut out: Vec<i64> = m.isolated_customers.iter().chain(&m.cut_off_customers).copied().collect();
            out.sort_unstable();
            out.dedup();
            let line = |e: usize| {
                Geometry::LineString(LineString::from(
                    net.edge_line(e).into_iter().map(|p| (p[0], p[1])).collect::<Vec<_>>(),
                ))
            };
            let mut shapes: Vec<(String, Geometry)> = Vec::new();
            shapes.extend(m.cut_off_edges.iter().map(|e| ("pipe_cut_off".to_string(), line(*e))));
            shapes.extend(m.isolated_edges.iter().map(|e| ("pipe_isolated".to_string(), line(*e))));
            shapes.extend(
                m.valve_xy
                    .iter()
                    .map(|p| ("valve_close".to_string(), Geometry::Point(Point::new(p[0], p[1])))),
            );
            let pts = net.edge_line(edge);
            let mid = pts[pts.len() / 2];
            shapes.push(("incident_point".into(), Geometry::Point(Point::new(mid[0], mid[1]))));
            let mls = MultiLineString::new(
                m.isolated_edges
                    .iter()
                    .chain(&m.cut_off_edges)
                    .map(|e| LineString::from(net.edge_line(*e).into_iter().map(|p| (p[0], p[1])).collect::<Vec<_>>()))
                    .collect(),
            );
            let view = bbox_of(&mls).map(|b| frame_box(ws, b, 80.0, canvas, 45.0));
            self.set_overlay(ws, "lifelines", shapes)?;
            Ok(BurstDto {
                pipe: plan.pipe,
                at: mid,
                valves: m.valves.clone(),
                isolated_pipes: m.isolated_pipes.len(),
                isolated_m: m.isolated_length_m,
                isolated_customers: m.isolated_customers.len(),
                cut_off_pipes: m.cut_off_pipes.len(),
                cut_off_m: m.cut_off_length_m,
                customers_out: out.len(),
                people_out: people_of(&out).round(),
                if_valve_fails: plan
                    .if_valve_fails
                    .iter()
                    .map(|f| ValveFailureDto {
                        failed: f.failed,
                        next_valves: f.next_valves.clone(),
                        customers_out: f.outcome.isolated_customers.len() + f.outcome.cut_off_customers.len(),
                    })
                    .collect(),
                sources: plan.sources,
                ms: t0.elapsed().as_secs_f64() * 1000.0,
                view,
            })
        })
    }

    /// The pipes downstream (or upstream) of pipe `fid`, drawn.
    pub fn pipe_trace(&self, fid: i64, downstream: bool) -> Result<TraceDto> {
        self.with_workspace(|ws| {
            let net = self.network(ws)?;
            let e = net
                .edge_of_pipe(fid)
                .ok_or_else(|| Error::Missing(format!("no pipe with fid {fid} in the network")))?;
            let edges = net.trace(e, downstream);
            let mut pipes: Vec<i64> = edges.iter().map(|e| net.edge_pipe(*e)).collect();
            pipes.sort_unstable();
            pipes.dedup();
            let shapes: Vec<(String, Geometry)> = edges
                .iter()
                .map(|e| {
                    let l = LineString::from(net.edge_line(*e).into_iter().map(|p| (p[0], p[1])).collect::<Vec<_>>());
                    ("pipe_isolated".to_string(), Geometry::LineString(l))
                })
                .collect();
            let length_m = shapes
                .iter()
                .map(|(_, g)| match g {
                    Geometry::LineString(l) => l.lines().map(|s| (s.end.x - s.start.x).hypot(s.end.y - s.start.y)).sum::<f64>(),
                    _ => 0.0,
                })
                .fold(0.0, |a, b| a + b);
            self.set_overlay(ws, "lifelines", shapes)?;
            Ok(TraceDto {
                pipe: fid,
                downstream,
                pipes,
                length_m,
            })
        })
    }

    /// The latest readings of a SensorThings document (a file) attached to the pipe network,
    /// with their alarm states (limits from `thresholds`, e.g. `管网压力<0.16`, else from each
    /// Datastream's `alarm_below`/`alarm_above`); drawn, alarms in red.
    pub fn pipe_sensors(&self, source: &std::path::Path, thresholds: &[String]) -> Result<Vec<SensorDto>> {
        let bytes = std::fs::read(source).map_err(|e| Error::io(source, e))?;
        let t = jingwei_feeds::sta::Thresholds(
            thresholds
                .iter()
                .map(|s| jingwei_feeds::sta::Threshold::parse(s))
                .collect::<std::result::Result<_, _>>()?,
        );
        let readings = jingwei_feeds::sta::readings(&bytes, &t).map_err(|e| Error::Invalid(format!("{}: {e}", source.display())))?;
        self.with_workspace(|ws| {
            let net = self.network(ws)?;
            let to_ws = ws.crs.from_lonlat()?;
            let mut marks = Vec::new();
            let out = readings
                .into_iter()
                .map(|reading| {
                    let xy = reading.lonlat.and_then(|(lon, lat)| to_ws.transform(lon, lat).ok());
                    let near = xy.and_then(|(x, y)| net.nearest_edge(x, y)).filter(|(_, d)| *d <= SENSOR_ATTACH_M);
                    if let Some((x, y)) = xy {
                        let style = if reading.state == "ok" { "sensor_ok" } else { "sensor_alarm" };
                        marks.push((style.to_string(), Geometry::Point(Point::new(x, y))));
                    }
                    SensorDto {
                        pipe: near.map(|(e, _)| net.edge_pipe(e)),
                        distance_m: near.map(|(_, d)| d),
                        reading,
                    }
                })
                .collect();
            self.set_overlay(ws, "sensors", marks)?;
            Ok(out)
        })
    }

    /// What camera `fid` sees over the DEM and the buildings, drawn.
    pub fn camera_viewshed(&self, fid: i64, canvas: Canvas) -> Result<ViewshedDto> {
        self.with_workspace(|ws| {
            let cams = roles::require(ws, Role::Cameras)?;
            let row = cams
                .layer
                .row_of_fid(fid)
                .ok_or_else(|| Error::Missing(format!("no camera with fid {fid}")))?;
            let cam = camera_of(cams, row).ok_or_else(|| Error::Missing(format!("camera {fid} has no location")))?;
            cam.check()?;
            let r = cam.range_m + CAMERA_CELL_M;
            let bbox = [cam.x - r, cam.y - r, cam.x + r, cam.y + r];
            let (s, ground) = surface(ws, bbox, CAMERA_CELL_M)?;
            let seen = viewshed::viewshed(&s, &cam, ground.at(cam.x, cam.y), 0.0);
            let cell_area = s.cell * s.cell;
            let covered = (0..s.z.len())
                .filter(|i| {
                    let (x, y) = s.centre(*i);
                    cam.covers(x, y)
                })
                .count();
            let seen_n = seen.iter().filter(|v| **v).count();
            // Row strips of the cells seen.
            let polys = row_runs(s.cols, s.rows, |i| seen[i])
                .into_iter()
                .map(|(r, start, end)| {
                    let (x0, x1) = (s.x0 + start as f64 * s.cell, s.x0 + end as f64 * s.cell);
                    let (y0, y1) = (s.y0 - (r + 1) as f64 * s.cell, s.y0 - r as f64 * s.cell);
                    geo::Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 }).to_polygon()
                })
                .collect();
            let shapes = vec![
                ("viewshed".to_string(), Geometry::MultiPolygon(geo::MultiPolygon::new(polys))),
                ("camera_point".to_string(), Geometry::Point(Point::new(cam.x, cam.y))),
            ];
            self.set_overlay(ws, "lifelines", shapes)?;
            Ok(ViewshedDto {
                fid,
                seen_m2: seen_n as f64 * cell_area,
                covered_m2: covered as f64 * cell_area,
                cell_m: s.cell,
                view: Some(frame_box(ws, bbox, 20.0, canvas, 50.0)),
            })
        })
    }

    /// The cameras that see the ground at (lon, lat), nearest first.
    pub fn cameras_seeing(&self, lon: f64, lat: f64) -> Result<Vec<CameraHit>> {
        self.with_workspace(|ws| {
            let (x, y) = ws.crs.from_lonlat()?.transform(lon, lat)?;
            let cams = roles::require(ws, Role::Cameras)?;
            let name = Field::Name.find(&cams.layer);
            let mut hits = Vec::new();
            for row in 0..cams.layer.len() {
                let Some(cam) = camera_of(cams, row) else { continue };
                if !cam.covers(x, y) {
                    continue;
                }
                let pad = CAMERA_CELL_M * 2.0;
                let bbox = [x.min(cam.x) - pad, y.min(cam.y) - pad, x.max(cam.x) + pad, y.max(cam.y) + pad];
                let (s, ground) = surface(ws, bbox, CAMERA_CELL_M)?;
                if viewshed::sees(&s, (cam.x, cam.y, ground.at(cam.x, cam.y) + cam.height_m), x, y, 1.0) {
                    hits.push(CameraHit {
                        fid: cams.layer.fids[row],
                        name: roles::text(&cams.layer, name, row),
                        distance_m: (x - cam.x).hypot(y - cam.y),
                    });
                }
            }
            hits.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
            Ok(hits)
        })
    }

    /// How much of the area within `radius_m` of an incident some camera sees.
    pub fn camera_coverage(&self, incident: &str, radius_m: f64) -> Result<CoverageDto> {
        if !(radius_m.is_finite() && radius_m > 0.0 && radius_m <= 5000.0) {
            return Err(Error::Invalid(format!("radius {radius_m} m: give 1–5000 m")));
        }
        self.with_workspace(|ws| {
            let inc = self.with_store_in(ws, |s| Ok(s.incident(incident)?))?;
            let g = inc
                .geometry
                .ok_or_else(|| Error::Missing(format!("incident {incident} has no location")))?;
            let area = match &g {
                Geometry::Polygon(_) | Geometry::MultiPolygon(_) => g.clone(),
                _ => {
                    let c = g
                        .centroid()
                        .ok_or_else(|| Error::Missing(format!("incident {incident} has no location")))?;
                    circle(Coord { x: c.x(), y: c.y() }, radius_m)
                }
            };
            let b = bbox_of(&area).ok_or_else(|| Error::Missing("the area is empty".into()))?;
            let cams = roles::require(ws, Role::Cameras)?;
            let reach: Vec<(usize, Camera)> = (0..cams.layer.len())
                .filter_map(|r| Some((r, camera_of(cams, r)?)))
                .filter(|(_, c)| c.x + c.range_m >= b[0] && c.x - c.range_m <= b[2] && c.y + c.range_m >= b[1] && c.y - c.range_m <= b[3])
                .collect();
            let pad = reach.iter().map(|(_, c)| c.range_m).fold(0.0, f64::max);
            let bbox = [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad];
            let cell = (((bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) / 1.5e6).sqrt()).max(CAMERA_CELL_M);
            let (s, ground) = surface(ws, bbox, cell)?;
            use geo::Contains;
            let inside: Vec<usize> = (0..s.z.len())
                .filter(|i| {
                    let (x, y) = s.centre(*i);
                    area.contains(&Point::new(x, y))
                })
                .collect();
            let mut any = vec![false; s.z.len()];
            let mut per = Vec::new();
            for (row, cam) in &reach {
                let v = viewshed::viewshed(&s, cam, ground.at(cam.x, cam.y), 1.0);
                let n = inside.iter().filter(|i| v[**i]).count();
                for i in &inside {
                    any[*i] |= v[*i];
                }
                if n > 0 {
                    per.push((cams.layer.fids[*row], n as f64 / inside.len().max(1) as f64));
                }
            }
            per.sort_by(|a, b| b.1.total_cmp(&a.1));
            let seen = inside.iter().filter(|i| any[**i]).count();
            Ok(CoverageDto {
                area_m2: inside.len() as f64 * cell * cell,
                seen_share: seen as f64 / inside.len().max(1) as f64,
                cameras: per,
            })
        })
    }
}
