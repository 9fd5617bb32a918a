//! The emergency command panel's commands: live feeds (served on 127.0.0.1 from the demo's
//! recorded feeds — no internet at run time), incidents from feed events or placed on the map,
//! impact rings, the nearest resources by road with their routes drawn, the action log, and
//! drill mode on a copy of the workspace.

use geo::{Centroid, Coord, Geometry, LineString, Point, Polygon};
use jingwei_analysis::impact::{BuildingsIn, FacilitiesIn, Ring, default_rings, impact};
use jingwei_analysis::routing::RoadGraph;
use jingwei_analysis::violations::workspace_roles;
use jingwei_cases::incidents::{Incident, IncidentStatus, LogEntry, NewIncident};
use jingwei_feeds::client::{Feed, FeedConfig, Health};
use jingwei_feeds::server::{ServeOptions, ServerHandle, serve};
use jingwei_feeds::sta::{Threshold, Thresholds};
use jingwei_feeds::{FeedFormat, ParseOptions};
use jingwei_layers::catalog::Group;
use jingwei_layers::{Crs, Transformer, Workspace};
use jingwei_viewer::render::View;
use jingwei_viewer::scene::Highlight;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::cases_cmd::with_store;
use crate::commands::{AppState, push_scene_highlighted};

/// The live feeds of the panel.
pub struct FeedsState {
    _server: ServerHandle,
    feeds: Vec<(String, Feed, Option<String>)>,
}

fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "commander".into())
}

/// A feed as the panel shows it.
#[derive(Serialize)]
pub struct FeedDto {
    index: usize,
    name: String,
    url: String,
    health: Health,
    last_ok: Option<String>,
    error: Option<String>,
    events: Vec<EventDto>,
}

/// An event as the panel shows it.
#[derive(Serialize)]
pub struct EventDto {
    id: String,
    title: String,
    kind: String,
    severity: Option<String>,
    time: Option<String>,
    lonlat: Option<(f64, f64)>,
}

fn feeds_dir() -> std::path::PathBuf {
    crate::commands::demo_catalog()
        .parent()
        .map(|d| d.join("feeds"))
        .unwrap_or_default()
}

/// Poll every feed once (starting the local replay server and the feeds on the first call).
#[tauri::command]
pub async fn feeds_poll(state: tauri::State<'_, AppState>) -> Result<Vec<FeedDto>, String> {
    let mut guard = state.feeds.lock().await;
    if guard.is_none() {
        let server = serve(&feeds_dir(), 0, ServeOptions::default()).map_err(|e| format!("{}: {e}", feeds_dir().display()))?;
        let base = server.url();
        let mk =
            |name: &str, path: &str, format: FeedFormat, thresholds: Vec<Threshold>| -> Result<(String, Feed, Option<String>), String> {
                let cfg = FeedConfig {
                    format: Some(format),
                    parse: ParseOptions {
                        thresholds: Thresholds(thresholds),
                    },
                    retries: 1,
                    ..FeedConfig::new(&format!("{base}{path}"))
                };
                Ok((name.to_string(), Feed::new(cfg)?, None))
            };
        let feeds = vec![
            mk("预警信息 CAP（示意）", "cap/index.atom", FeedFormat::CapIndex, vec![])?,
            mk(
                "黄浦江水位 SensorThings（示意）",
                "gauge_lujiazui.json",
                FeedFormat::SensorThings,
                vec![Threshold::parse("黄浦江水位>4.8")?],
            )?,
        ];
        *guard = Some(FeedsState { _server: server, feeds });
    }
    let st = guard.as_mut().expect("started above");
    let mut out = Vec::new();
    // Event shapes in lon/lat: (polygon ring | circle centre and radius | point).
    enum Shape {
        Ring(Vec<(f64, f64)>),
        Circle((f64, f64), f64),
        Point((f64, f64)),
    }
    let mut shapes: Vec<Shape> = Vec::new();
    for (i, (name, feed, last_ok)) in st.feeds.iter_mut().enumerate() {
        let r = feed.poll().await;
        if !matches!(r.outcome, jingwei_feeds::client::Outcome::Failed { .. }) {
            *last_ok = Some(jingwei_cases::now_utc());
        }
        for e in feed.store().events() {
            for a in &e.areas {
                shapes.extend(a.polygons.iter().map(|r| Shape::Ring(r.clone())));
                shapes.extend(a.circles.iter().filter(|c| c.1 > 0.0).map(|c| Shape::Circle(c.0, c.1)));
            }
            shapes.extend(e.point.map(Shape::Point));
        }
        out.push(FeedDto {
            index: i,
            name: name.clone(),
            url: feed.config().url.clone(),
            health: feed.health(),
            last_ok: last_ok.clone(),
            error: feed.last_error().map(str::to_string),
            events: feed
                .store()
                .events()
                .map(|e| EventDto {
                    id: e.id.clone(),
                    title: e.title.clone(),
                    kind: e.kind.clone(),
                    severity: e.severity.clone(),
                    time: e.time_ms.map(jingwei_feeds::time::iso8601),
                    lonlat: e.point,
                })
                .collect(),
        });
    }
    drop(guard);
    // Events on the map: areas and points, from lon/lat into the workspace.
    let wsg = state.workspace.lock().map_err(|e| e.to_string())?;
    if let Some(ws) = wsg.as_ref() {
        let t = Transformer::new(&Crs::from_epsg(4490).map_err(|e| e.to_string())?, &ws.crs).map_err(|e| e.to_string())?;
        let ll = |p: (f64, f64)| t.transform(p.0, p.1).ok().map(|(x, y)| Coord { x, y });
        let items: Vec<(String, Geometry)> = shapes
            .into_iter()
            .filter_map(|sh| match sh {
                Shape::Ring(r) => {
                    let ring: Option<Vec<Coord>> = r.into_iter().map(ll).collect();
                    Some((
                        "alert_area".into(),
                        Geometry::Polygon(Polygon::new(LineString::from(ring?), vec![])),
                    ))
                }
                Shape::Circle(c, r) => Some(("alert_area".into(), circle(ll(c)?, r))),
                Shape::Point(p) => Some(("event_point".into(), Geometry::Point(Point(ll(p)?)))),
            })
            .collect();
        crate::commands::set_overlay(&state, ws, "events", items)?;
    }
    Ok(out)
}

/// The incident type of a feed event.
fn incident_kind(kind: &str) -> &'static str {
    let k = kind.to_lowercase();
    if k.contains("earthquake") || k.contains("地震") {
        "earthquake"
    } else if k.contains("暴雨") || k.contains("rain") || k.contains("flood") || k.contains("sensor") || k.contains("内涝") {
        "flood"
    } else if k.contains("fire") || k.contains("火") {
        "fire"
    } else if k.contains("chemical") || k.contains("危化") {
        "hazardous_chemical_leak"
    } else if k.contains("gas") || k.contains("燃气") {
        "gas_leak"
    } else {
        "other"
    }
}

/// Open an incident from a feed event.
#[tauri::command]
pub async fn incident_from_event(state: tauri::State<'_, AppState>, feed: usize, event_id: String) -> Result<Incident, String> {
    let (kind, title, severity, lonlat, time, format, area) = {
        let guard = state.feeds.lock().await;
        let st = guard.as_ref().ok_or("no feeds yet")?;
        let (_, f, _) = st.feeds.get(feed).ok_or("no such feed")?;
        let e = f.store().get(&event_id).ok_or_else(|| format!("no event '{event_id}'"))?;
        (
            incident_kind(&e.kind),
            e.title.clone(),
            e.severity.clone(),
            e.point.ok_or("the event has no location")?,
            e.time_ms.map(jingwei_feeds::time::iso8601),
            format!("{:?}", e.format).to_lowercase(),
            e.area(),
        )
    };
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let t = Transformer::new(&Crs::from_epsg(4490).map_err(|e| e.to_string())?, &ws.crs).map_err(|e| e.to_string())?;
    // The alert's own area when it has one, else its point.
    let g = match area {
        Some(mut a) => {
            t.transform_geometry(&mut a).map_err(|e| e.to_string())?;
            a
        }
        None => {
            let (x, y) = t.transform(lonlat.0, lonlat.1).map_err(|e| e.to_string())?;
            Geometry::Point(Point::new(x, y))
        }
    };
    with_store(&state, ws, |s| {
        s.create_incident(
            &NewIncident {
                kind,
                severity: severity.as_deref(),
                title: &title,
                source: &format,
                event_id: Some(&event_id),
                rings_m: &default_rings(kind),
                occurred_at: time.as_deref(),
                geometry: &g,
            },
            &actor(),
        )
        .map_err(|e| e.to_string())
    })
}

/// Place an incident by hand where the map was clicked.
#[tauri::command]
pub async fn incident_place(
    state: tauri::State<'_, AppState>,
    kind: String,
    x: f32,
    y: f32,
    width: u32,
    height: u32,
    view: View,
) -> Result<Incident, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let (wx, wy) = crate::commands::ground_xy(&state, ws, &view, x, y, width, height).ok_or("that point is not on the ground")?;
    let g = Geometry::Point(Point::new(wx, wy));
    with_store(&state, ws, |s| {
        s.create_incident(
            &NewIncident {
                kind: &kind,
                severity: None,
                title: &kind,
                source: "manual",
                event_id: None,
                rings_m: &default_rings(&kind),
                occurred_at: None,
                geometry: &g,
            },
            &actor(),
        )
        .map_err(|e| e.to_string())
    })
}

/// Incidents, newest first (open ones).
#[tauri::command]
pub async fn incidents_list(state: tauri::State<'_, AppState>) -> Result<Vec<Incident>, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let list = with_store(&state, ws, |s| s.incidents(false).map_err(|e| e.to_string()))?;
    // Open incidents stay on the map.
    let markers = list
        .iter()
        .filter_map(|i| Some(("incident_point".to_string(), Geometry::Point(i.geometry.as_ref()?.centroid()?))))
        .collect();
    crate::commands::set_overlay(&state, ws, "incidents", markers)?;
    Ok(list)
}

/// A resource reached by road.
#[derive(Serialize)]
pub struct ResourceDto {
    kind: String,
    name: Option<String>,
    fid: i64,
    travel_s: f64,
    route_m: f64,
}

/// A selected incident: what it reaches, the nearest resources, its log and the view.
#[derive(Serialize)]
pub struct IncidentDetailDto {
    incident: Incident,
    log: Vec<LogEntry>,
    rings: Vec<Ring>,
    resources: Vec<ResourceDto>,
    route_ms: f64,
    view: Option<View>,
    drill: bool,
}

fn circle(c: Coord, r: f64) -> Geometry {
    let ring: Vec<Coord> = (0..=72)
        .map(|i| {
            let a = f64::from(i) * std::f64::consts::TAU / 72.0;
            Coord {
                x: c.x + r * a.cos(),
                y: c.y + r * a.sin(),
            }
        })
        .collect();
    Geometry::Polygon(Polygon::new(LineString::from(ring), vec![]))
}

fn graph(state: &AppState, ws: &Workspace) -> Result<Arc<RoadGraph>, String> {
    let mut g = state.graph.lock().map_err(|e| e.to_string())?;
    if let Some(g) = g.as_ref() {
        return Ok(g.clone());
    }
    let roads = ws
        .layers
        .iter()
        .find(|l| l.id.contains("road") || l.layer.name.contains("road"))
        .ok_or("the workspace has no roads layer")?;
    let built = Arc::new(RoadGraph::from_layer(&roads.layer, 2.0)?);
    *g = Some(built.clone());
    Ok(built)
}

/// Select an incident: rings, what they reach, the 2 nearest resources of each type by road
/// with their routes drawn, the log; the view flies there.
#[tauri::command]
pub async fn incident_select(
    state: tauri::State<'_, AppState>,
    id: i64,
    width: u32,
    height: u32,
    current: Option<View>,
) -> Result<IncidentDetailDto, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let (incident, log, drill) = with_store(&state, ws, |s| {
        Ok((
            s.incident(&id.to_string()).map_err(|e| e.to_string())?,
            s.incident_log(&id.to_string()).map_err(|e| e.to_string())?,
            s.is_drill().map_err(|e| e.to_string())?,
        ))
    })?;
    let g = incident.geometry.clone().ok_or("the incident has no location")?;
    let c = g.centroid().ok_or("the incident has no location")?;
    // Impact.
    let roles = workspace_roles(ws)?;
    let b = ws.layer(&roles.buildings).ok_or("no buildings layer")?;
    let field = |names: &[&str]| names.iter().find_map(|n| b.layer.field_index(n));
    let pois: Vec<FacilitiesIn> = ws
        .layers
        .iter()
        .filter(|l| l.id == "pois")
        .filter_map(|l| {
            Some(FacilitiesIn {
                layer: &l.layer,
                index: &l.index,
                kind: l.layer.field_index("kind")?,
                name: l.layer.field_index("name"),
            })
        })
        .collect();
    let rings = impact(
        &g,
        &incident.rings_m,
        &BuildingsIn {
            layer: &b.layer,
            index: &b.index,
            population: field(&["population", "人口"]),
            floors: field(&["floors", "levels", "层数"]),
            height: field(&["height", "高度"]),
        },
        &pois,
    );
    // Nearest resources by road.
    let t0 = std::time::Instant::now();
    let net = graph(&state, ws)?;
    let tree = net.from_point(c.x(), c.y()).ok_or("the road network is empty")?;
    // Rings around a point are circles; around an area, the area grown by each distance.
    let mut extra: Vec<(String, Geometry)> = Vec::new();
    if !matches!(g, Geometry::Point(_)) {
        extra.push(("alert_area".into(), g.clone()));
    }
    for r in &incident.rings_m {
        let ring = match &g {
            Geometry::Point(p) => circle(p.0, *r),
            area => jingwei_layers::ops::buffer(area, *r, 12).map_err(|e| e.to_string())?,
        };
        extra.push(("incident_ring".to_string(), ring));
    }
    let mut found: Vec<(String, Option<String>, i64, f64, Vec<[f64; 2]>)> = Vec::new();
    for l in ws.layers.iter().filter(|l| l.group == Group::Emergency) {
        let cat = l.layer.field_index("category");
        let name = l.layer.field_index("name");
        for row in 0..l.layer.len() {
            let Some(p) = l.layer.geometries[row].as_ref().and_then(|g| g.centroid()) else {
                continue;
            };
            if let Some((t, route)) = net.to_point(&tree, p.x(), p.y()) {
                let f = l.layer.feature(row);
                found.push((
                    cat.and_then(|i| f.value(i).as_str().map(str::to_string))
                        .unwrap_or_else(|| "resource".into()),
                    name.and_then(|i| f.value(i).as_str().map(str::to_string)),
                    f.fid(),
                    t,
                    route,
                ));
            }
        }
    }
    let route_ms = t0.elapsed().as_secs_f64() * 1000.0;
    found.sort_by(|a, b| a.0.cmp(&b.0).then(a.3.total_cmp(&b.3)));
    let mut resources = Vec::new();
    let (mut last, mut n) = (String::new(), 0);
    for (kind, name, fid, t, route) in found {
        if kind != last {
            last = kind.clone();
            n = 0;
        }
        if n >= 2 {
            continue;
        }
        n += 1;
        let length: f64 = route
            .windows(2)
            .map(|w| ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt())
            .sum();
        extra.push((
            "incident_route".into(),
            Geometry::LineString(LineString::from(route.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>())),
        ));
        resources.push(ResourceDto {
            kind,
            name,
            fid,
            travel_s: t,
            route_m: length,
        });
    }
    extra.push(("incident_point".into(), Geometry::Point(c)));
    push_scene_highlighted(
        &state,
        ws,
        &Highlight {
            extra,
            ..Highlight::default()
        },
    )?;
    let outer = incident.rings_m.iter().copied().fold(100.0, f64::max);
    let b = crate::commands::bbox_of(&g).ok_or("the incident has no location")?;
    let view = Some(crate::commands::frame_box(ws, b, outer, width, height, current, 35.0));
    Ok(IncidentDetailDto {
        incident,
        log,
        rings,
        resources,
        route_ms,
        view,
        drill,
    })
}

/// Change an incident's impact rings (metres).
#[tauri::command]
pub async fn incident_rings(state: tauri::State<'_, AppState>, id: i64, rings: Vec<f64>) -> Result<Incident, String> {
    if rings.is_empty() || rings.iter().any(|r| !(r.is_finite() && *r >= 0.0)) {
        return Err("rings are distances in metres, 0 or more".into());
    }
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    with_store(&state, ws, |s| {
        s.set_incident_rings(&id.to_string(), &rings, &actor()).map_err(|e| e.to_string())
    })
}

/// Record an action on an incident; returns its log.
#[tauri::command]
pub async fn incident_action(state: tauri::State<'_, AppState>, id: i64, text: String) -> Result<Vec<LogEntry>, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    with_store(&state, ws, |s| {
        s.log_action(&id.to_string(), &text, &actor()).map_err(|e| e.to_string())?;
        s.incident_log(&id.to_string()).map_err(|e| e.to_string())
    })
}

/// Set an incident's status.
#[tauri::command]
pub async fn incident_status(state: tauri::State<'_, AppState>, id: i64, status: String) -> Result<Incident, String> {
    let to = IncidentStatus::parse(&status).ok_or_else(|| format!("unknown status '{status}'"))?;
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    with_store(&state, ws, |s| {
        s.set_incident_status(&id.to_string(), to, &actor()).map_err(|e| e.to_string())
    })
}

/// Drill mode: whether it is on, and the file the drill writes to.
#[derive(Serialize)]
pub struct DrillDto {
    drill: bool,
    store: String,
}

/// Start a drill: from now on the panel works on a marked copy of the workspace.
#[tauri::command]
pub async fn drill_start(state: tauri::State<'_, AppState>) -> Result<DrillDto, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    with_store(&state, ws, |_| Ok(()))?;
    let mut cases = state.cases.lock().map_err(|e| e.to_string())?;
    let real = cases.as_ref().ok_or("no store")?;
    if real.is_drill().map_err(|e| e.to_string())? {
        return Ok(DrillDto {
            drill: true,
            store: real.path().display().to_string(),
        });
    }
    let stamp: String = jingwei_cases::now_utc().chars().filter(char::is_ascii_digit).collect();
    let dest = real.path().with_extension(format!("drill-{stamp}.gpkg"));
    let drill = real.drill_copy(&dest, &actor()).map_err(|e| e.to_string())?;
    let path = drill.path().display().to_string();
    *cases = Some(drill);
    state.drill.store(true, Ordering::SeqCst);
    Ok(DrillDto { drill: true, store: path })
}

/// Whether a drill is on.
#[tauri::command]
pub async fn drill_state(state: tauri::State<'_, AppState>) -> Result<DrillDto, String> {
    let cases = state.cases.lock().map_err(|e| e.to_string())?;
    Ok(DrillDto {
        drill: state.drill.load(Ordering::SeqCst),
        store: cases.as_ref().map(|c| c.path().display().to_string()).unwrap_or_default(),
    })
}
