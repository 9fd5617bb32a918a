//! The commander's use cases: what an incident reaches (impact by ring), the nearest
//! resources (straight or by road, with routes), shelters for the people affected, incidents
//! from feed events or placed by hand, their rings drawn on the map.

use geo::{Centroid, Coord, Geometry, LineString, Point, Polygon};
use jingwei_analysis::impact::{BuildingsIn, FacilitiesIn, Ring, affected, default_rings};
use jingwei_analysis::routing::{RoadGraph, allocate};
use jingwei_cases::CaseStore;
use jingwei_cases::incidents::{Incident, IncidentStatus, LogEntry, NewIncident};
use jingwei_feeds::Event;
use jingwei_layers::{Crs, Workspace, WorkspaceLayer};
use jingwei_scene::scene::Highlight;
use jingwei_scene::view::View;
use serde::Serialize;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::roles::{self, Field, Role};
use crate::session::{Canvas, Pixel, Session, bbox_of, frame_box};

/// Loose road ends closer than this (m) are joined when the network is built.
pub const SNAP_M: f64 = 2.0;

/// Nearest resources of each type listed for a selected incident.
pub const RESOURCES_PER_TYPE: usize = 2;

pub use jingwei_cases::incidents::check_rings;

/// The incident type of a feed event's kind (a CAP event name such as 暴雨红色预警 or
/// "Flash Flood Warning", `earthquake`, `sensor_threshold`, …): the one mapping every front
/// door uses, so the same alert gets the same default rings.
pub fn incident_kind(event_kind: &str) -> &'static str {
    let k = event_kind.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| k.contains(w));
    if any(&["earthquake", "quake", "地震"]) {
        "earthquake"
    } else if any(&["chemical", "hazmat", "危化", "化学", "泄漏"]) && !any(&["gas", "燃气"]) {
        "hazardous_chemical_leak"
    } else if any(&["gas", "燃气", "天然气"]) {
        "gas_leak"
    } else if any(&["explosion", "爆炸"]) {
        "explosion"
    } else if any(&["collapse", "坍塌", "倒塌"]) {
        "building_collapse"
    } else if any(&["fire", "火"]) {
        "fire"
    } else if any(&["flood", "rain", "storm surge", "sensor", "暴雨", "内涝", "洪水", "水位", "汛"]) {
        "flood"
    } else {
        "other"
    }
}

/// The buildings of an impact analysis, with their population, floors and height fields from
/// the roles table.
pub fn buildings_in(wl: &WorkspaceLayer) -> BuildingsIn<'_> {
    BuildingsIn {
        layer: &wl.layer,
        index: &wl.index,
        population: Field::Population.find(&wl.layer),
        floors: Field::Floors.find(&wl.layer),
        height: Field::Height.find(&wl.layer),
    }
}

/// The buildings of an analysis: the layer `id` when given, else the workspace's buildings.
pub fn buildings_layer<'a>(ws: &'a Workspace, id: Option<&str>) -> Result<&'a WorkspaceLayer> {
    match id {
        Some(id) => ws.layer(id).ok_or_else(|| Error::NoLayer(id.into())),
        None => roles::require(ws, Role::Buildings),
    }
}

/// Layers of points of interest as critical-facility inputs (those with a kind field).
pub fn facilities_in<'a>(layers: &[&'a WorkspaceLayer]) -> Vec<FacilitiesIn<'a>> {
    layers
        .iter()
        .filter_map(|l| {
            Some(FacilitiesIn {
                layer: &l.layer,
                index: &l.index,
                kind: Field::FacilityKind.find(&l.layer)?,
                name: Field::Name.find(&l.layer),
            })
        })
        .collect()
}

/// What an incident at `at` (workspace CRS: a point or an area) reaches within each ring:
/// buildings, floor area, population and critical facilities. `buildings` and `facilities`
/// default to the workspace's layers of those roles.
pub fn impact(ws: &Workspace, at: &Geometry, rings_m: &[f64], buildings: Option<&str>, facilities: Option<&[String]>) -> Result<Vec<Ring>> {
    check_rings(rings_m)?;
    let b = buildings_layer(ws, buildings)?;
    let fac: Vec<&WorkspaceLayer> = match facilities {
        Some(ids) => ids
            .iter()
            .map(|id| ws.layer(id).ok_or_else(|| Error::NoLayer(id.clone())))
            .collect::<Result<_>>()?,
        None => roles::layers(ws, Role::Facilities),
    };
    Ok(jingwei_analysis::impact::impact(
        at,
        rings_m,
        &buildings_in(b),
        &facilities_in(&fac),
    ))
}

/// A resource found for an incident.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Resource {
    /// Its type (fire station, hospital, shelter, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its name.
    pub name: Option<String>,
    /// Feature id.
    pub fid: i64,
    /// Straight-line distance (m), when found by distance.
    pub distance_m: Option<f64>,
    /// Travel time by road (s), when found by road.
    pub travel_s: Option<f64>,
    /// Route length (m).
    pub route_m: Option<f64>,
    /// The route (workspace coordinates), from the resource to the incident.
    pub route: Vec<[f64; 2]>,
}

fn keep_k_per_type(mut found: Vec<(f64, Resource)>, k: usize) -> Vec<Resource> {
    found.sort_by(|a, b| a.1.kind.cmp(&b.1.kind).then(a.0.total_cmp(&b.0)).then(a.1.fid.cmp(&b.1.fid)));
    let mut out: Vec<Resource> = Vec::new();
    let mut n = 0;
    for (_, r) in found {
        if out.last().is_none_or(|l| l.kind != r.kind) {
            n = 0;
        }
        if n < k {
            n += 1;
            out.push(r);
        }
    }
    out
}

fn type_field(wl: &WorkspaceLayer, given: Option<&str>) -> Result<Option<usize>> {
    Field::ResourceType.find_or(&wl.layer, given)
}

/// The `k` nearest resources of each type to (x, y) by straight-line distance.
pub fn nearest_straight(layers: &[&WorkspaceLayer], type_field_name: Option<&str>, x: f64, y: f64, k: usize) -> Result<Vec<Resource>> {
    let mut found = Vec::new();
    for wl in layers {
        let tf = type_field(wl, type_field_name)?;
        let name = Field::Name.find(&wl.layer);
        for h in wl.index.nearest(&wl.layer.geometries, x, y, wl.layer.len()) {
            found.push((
                h.distance,
                Resource {
                    kind: roles::text(&wl.layer, tf, h.row).unwrap_or_else(|| "resource".into()),
                    name: roles::text(&wl.layer, name, h.row),
                    fid: wl.layer.fids[h.row],
                    distance_m: Some(h.distance),
                    travel_s: None,
                    route_m: None,
                    route: Vec::new(),
                },
            ));
        }
    }
    Ok(keep_k_per_type(found, k))
}

/// What a search by road found: the `k` nearest of each type with their routes, and every
/// resource the network does not reach from the point (never left out silently: a fire
/// station across a river with no mapped bridge is something a commander must know).
#[derive(Debug, Clone, Serialize)]
pub struct ByRoad {
    /// The nearest of each type, by travel time.
    pub reached: Vec<Resource>,
    /// Resources no road leads to from the point (their straight-line distance given).
    pub unreachable: Vec<Resource>,
}

/// The `k` nearest resources of each type to (x, y) by travel time over the road network,
/// with their routes, and those the network does not reach.
pub fn nearest_by_road(
    graph: &RoadGraph,
    layers: &[&WorkspaceLayer],
    type_field_name: Option<&str>,
    x: f64,
    y: f64,
    k: usize,
) -> Result<ByRoad> {
    let tree = graph
        .from_point(x, y)
        .ok_or_else(|| Error::Missing("the road network is empty".into()))?;
    let mut found = Vec::new();
    let mut unreachable = Vec::new();
    for wl in layers {
        let tf = type_field(wl, type_field_name)?;
        let name = Field::Name.find(&wl.layer);
        for row in 0..wl.layer.len() {
            let Some(c) = wl.layer.geometries.geometry(row).as_ref().and_then(Centroid::centroid) else {
                continue;
            };
            let resource = Resource {
                kind: roles::text(&wl.layer, tf, row).unwrap_or_else(|| "resource".into()),
                name: roles::text(&wl.layer, name, row),
                fid: wl.layer.fids[row],
                distance_m: None,
                travel_s: None,
                route_m: None,
                route: Vec::new(),
            };
            let Some((t, route)) = graph.to_point(&tree, c.x(), c.y()) else {
                unreachable.push(Resource {
                    distance_m: Some(((c.x() - x).powi(2) + (c.y() - y).powi(2)).sqrt()),
                    ..resource
                });
                continue;
            };
            let length: f64 = route
                .windows(2)
                .map(|w| ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt())
                .sum();
            found.push((
                t,
                Resource {
                    travel_s: Some(t),
                    route_m: Some(length),
                    route,
                    ..resource
                },
            ));
        }
    }
    unreachable.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(a.distance_m.unwrap_or(0.0).total_cmp(&b.distance_m.unwrap_or(0.0)))
    });
    Ok(ByRoad {
        reached: keep_k_per_type(found, k),
        unreachable,
    })
}

/// A shelter's share of an allocation.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ShelterUse {
    /// Feature id.
    pub fid: i64,
    /// Name.
    pub name: Option<String>,
    /// People placed.
    pub placed: f64,
    /// Capacity.
    pub capacity: f64,
}

/// People of the affected buildings placed in shelters within a travel-time limit.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AllocationDto {
    /// The limit (minutes).
    pub limit_min: f64,
    /// People affected.
    pub people: f64,
    /// People placed.
    pub placed: f64,
    /// People no shelter within the limit had room for.
    pub left_over: f64,
    /// Fids of buildings with people left over.
    pub left_over_buildings: Vec<i64>,
    /// Every shelter considered.
    pub shelters: Vec<ShelterUse>,
}

/// Place the people of the buildings within `radius_m` of `at` in shelters reachable within
/// `limit_min` minutes by road. Shelters: the features of `shelters` (all of them when
/// `all_features`, else those of category shelter), each with a capacity field.
pub fn allocate_shelters(
    graph: &RoadGraph,
    at: &Geometry,
    radius_m: f64,
    buildings: &WorkspaceLayer,
    shelters: &WorkspaceLayer,
    all_features: bool,
    limit_min: f64,
) -> Result<AllocationDto> {
    if !(limit_min.is_finite() && limit_min > 0.0) {
        return Err(Error::Invalid(format!("time limit {limit_min}: give minutes, more than 0")));
    }
    let sl = &shelters.layer;
    let list =
        shelters_in(shelters, all_features).ok_or_else(|| Error::Missing(format!("{}: the shelters have no capacity field", sl.name)))?;
    let bin = buildings_in(buildings);
    let people: Vec<(usize, f64, f64, f64)> = affected(at, radius_m, &bin)
        .into_iter()
        .filter_map(|(row, _, p)| {
            let c = buildings.layer.geometries.geometry(row)?.centroid()?;
            Some((row, c.x(), c.y(), p))
        })
        .collect();
    let al = allocate(graph, &people, &list, limit_min * 60.0);
    let name = Field::Name.find(sl);
    Ok(AllocationDto {
        limit_min,
        people: people.iter().map(|p| p.3).sum(),
        placed: al.placements.iter().map(|p| p.people).sum(),
        left_over: al.left_over,
        left_over_buildings: al.left_over_buildings.iter().map(|r| buildings.layer.fids[*r]).collect(),
        shelters: al
            .per_shelter
            .iter()
            .map(|(r, used, capacity)| ShelterUse {
                fid: sl.fids[*r],
                name: roles::text(sl, name, *r),
                placed: *used,
                capacity: *capacity,
            })
            .collect(),
    })
}

/// The shelters of a layer as (row, x, y, capacity): all of its features when `all_features`,
/// else those of type `shelter` (every feature when it has no type field); features without a
/// location or a capacity are left out. `None` when the layer has no capacity field.
pub fn shelters_in(shelters: &WorkspaceLayer, all_features: bool) -> Option<Vec<(usize, f64, f64, f64)>> {
    let sl = &shelters.layer;
    let cap = Field::Capacity.find(sl)?;
    let cat = Field::ResourceType.find(sl);
    Some(
        (0..sl.len())
            .filter(|r| all_features || cat.is_none_or(|c| sl.feature(*r).value(c).as_str() == Some("shelter")))
            .filter_map(|r| {
                let c = sl.geometries.geometry(r)?.centroid()?;
                Some((r, c.x(), c.y(), sl.feature(r).value(cap).as_f64()?))
            })
            .collect(),
    )
}

/// A circle of radius `r` about `c` as a 72-gon.
pub fn circle(c: Coord, r: f64) -> Geometry {
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

/// The rings of an incident as shapes: circles about a point, the area grown by each distance
/// about an area.
pub fn ring_shapes(at: &Geometry, rings_m: &[f64]) -> Result<Vec<Geometry>> {
    rings_m
        .iter()
        .map(|r| match at {
            Geometry::Point(p) => Ok(circle(p.0, *r)),
            area => Ok(jingwei_layers::ops::buffer(area, *r, 12)?),
        })
        .collect()
}

/// What a new incident is: its type, title and where (CGCS2000 lon/lat: a point or an area).
#[derive(Debug, Clone)]
pub struct IncidentInput {
    /// Incident type (`fire`, `flood`, …).
    pub kind: String,
    /// Title (the type when empty).
    pub title: String,
    /// Severity.
    pub severity: Option<String>,
    /// `manual`, or the feed format it came from.
    pub source: String,
    /// The feed event.
    pub event_id: Option<String>,
    /// When it happened (ISO 8601).
    pub occurred_at: Option<String>,
    /// Where, in CGCS2000 lon/lat.
    pub lonlat: Geometry,
    /// Rings (m); the type's defaults when `None`.
    pub rings_m: Option<Vec<f64>>,
}

impl IncidentInput {
    /// An incident of `kind` placed by hand at `lonlat` (CGCS2000), with the type's rings.
    pub fn manual(kind: &str, lonlat: Geometry) -> IncidentInput {
        IncidentInput {
            kind: kind.to_string(),
            title: kind.to_string(),
            severity: None,
            source: "manual".into(),
            event_id: None,
            occurred_at: None,
            lonlat,
            rings_m: None,
        }
    }

    /// An incident from a feed event: the type its kind maps to, its title, severity and
    /// time, its area when it has one, else the point given (CGCS2000 lon/lat), else its own.
    pub fn from_event(e: &Event, at: Option<(f64, f64)>) -> Result<IncidentInput> {
        let lonlat = match (e.area(), at.or(e.point)) {
            (Some(a), _) => a,
            (None, Some((lon, lat))) => Geometry::Point(Point::new(lon, lat)),
            (None, None) => return Err(Error::Missing(format!("event '{}' has no location: give one", e.id))),
        };
        Ok(IncidentInput {
            kind: incident_kind(&e.kind).to_string(),
            title: e.title.clone(),
            severity: e.severity.clone(),
            source: format!("{:?}", e.format).to_lowercase(),
            event_id: Some(e.id.clone()),
            occurred_at: e.time_ms.map(jingwei_feeds::time::iso8601),
            lonlat,
            rings_m: None,
        })
    }
}

/// Open an incident in `store` (its geometry brought into the store's CRS).
pub fn create_incident(store: &mut CaseStore, input: &IncidentInput, actor: &str) -> Result<Incident> {
    let crs: Crs = store
        .crs()
        .cloned()
        .ok_or_else(|| Error::Missing("the store's CRS is unknown".into()))?;
    let mut g = input.lonlat.clone();
    crs.from_lonlat()?.transform_geometry(&mut g)?;
    let rings = input.rings_m.clone().unwrap_or_else(|| default_rings(&input.kind));
    let title = if input.title.trim().is_empty() { &input.kind } else { &input.title };
    Ok(store.create_incident(
        &NewIncident {
            kind: &input.kind,
            severity: input.severity.as_deref(),
            title,
            source: &input.source,
            event_id: input.event_id.as_deref(),
            rings_m: &rings,
            occurred_at: input.occurred_at.as_deref(),
            geometry: &g,
        },
        actor,
    )?)
}

/// A selected incident: what it reaches, the nearest resources by road, its log and the view.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct IncidentDetailDto {
    /// The incident.
    pub incident: Incident,
    /// Its action log.
    pub log: Vec<LogEntry>,
    /// What each ring reaches.
    pub rings: Vec<Ring>,
    /// The nearest resources of each type by road.
    pub resources: Vec<Resource>,
    /// Resources the road network does not reach from the incident.
    pub unreachable: Vec<Resource>,
    /// Milliseconds the routing took.
    pub route_ms: f64,
    /// The view framing the outer ring.
    pub view: Option<View>,
    /// Whether this is a drill copy.
    pub drill: bool,
}

impl Session {
    /// The road network of the workspace (built once per workspace).
    pub fn road_graph(&self, ws: &Workspace) -> Result<Arc<RoadGraph>> {
        let mut g = self.graph.lock()?;
        if let Some(g) = g.as_ref() {
            return Ok(g.clone());
        }
        let roads = roles::require(ws, Role::Roads)?;
        let built = Arc::new(RoadGraph::from_layer(&roads.layer, SNAP_M)?);
        *g = Some(built.clone());
        Ok(built)
    }

    /// Open incidents, newest first; they are marked on the map.
    pub fn incidents(&self) -> Result<Vec<Incident>> {
        self.with_workspace(|ws| {
            let list = self.with_store_in(ws, |s| Ok(s.incidents(false)?))?;
            let markers = list
                .iter()
                .filter_map(|i| Some(("incident_point".to_string(), Geometry::Point(i.geometry.as_ref()?.centroid()?))))
                .collect();
            self.set_overlay(ws, "incidents", markers)?;
            Ok(list)
        })
    }

    /// Place an incident of `kind` by hand where the map was clicked.
    pub fn place_incident(&self, kind: &str, p: &Pixel) -> Result<Incident> {
        self.with_workspace(|ws| {
            let (x, y) = self
                .ground_xy(ws, p)
                .ok_or_else(|| Error::Invalid("that point is not on the ground".into()))?;
            let (lon, lat) = ws.to_lonlat()?.transform(x, y)?;
            let input = IncidentInput::manual(kind, Geometry::Point(Point::new(lon, lat)));
            self.with_store_in(ws, |s| create_incident(s, &input, self.actor()))
        })
    }

    /// Record an incident of `kind` at a longitude/latitude (CGCS2000) by hand.
    pub fn add_incident_at(&self, kind: &str, lon: f64, lat: f64) -> Result<Incident> {
        if !(lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
            return Err(Error::Invalid(format!("({lon}, {lat}) is not a longitude/latitude")));
        }
        self.with_workspace(|ws| {
            let input = IncidentInput::manual(kind, Geometry::Point(Point::new(lon, lat)));
            self.with_store_in(ws, |s| create_incident(s, &input, self.actor()))
        })
    }

    /// Select an incident: its rings and what they reach, the nearest resources of each type
    /// by road with their routes drawn, its log; the view flies there.
    pub fn select_incident(&self, key: &str, canvas: Canvas) -> Result<IncidentDetailDto> {
        self.with_workspace(|ws| {
            let (incident, log, drill) = self.with_store_in(ws, |s| Ok((s.incident(key)?, s.incident_log(key)?, s.is_drill()?)))?;
            let g = incident
                .geometry
                .clone()
                .ok_or_else(|| Error::Missing("the incident has no location".into()))?;
            let c = g.centroid().ok_or_else(|| Error::Missing("the incident has no location".into()))?;
            let rings = impact(ws, &g, &incident.rings_m, None, None)?;
            let t0 = std::time::Instant::now();
            let graph = self.road_graph(ws)?;
            let ByRoad {
                reached: resources,
                unreachable,
            } = nearest_by_road(&graph, &roles::layers(ws, Role::Resources), None, c.x(), c.y(), RESOURCES_PER_TYPE)?;
            let route_ms = t0.elapsed().as_secs_f64() * 1000.0;
            let mut extra: Vec<(String, Geometry)> = Vec::new();
            if !matches!(g, Geometry::Point(_)) {
                extra.push(("alert_area".into(), g.clone()));
            }
            extra.extend(
                ring_shapes(&g, &incident.rings_m)?
                    .into_iter()
                    .map(|r| ("incident_ring".to_string(), r)),
            );
            extra.extend(resources.iter().map(|r| {
                (
                    "incident_route".to_string(),
                    Geometry::LineString(LineString::from(r.route.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>())),
                )
            }));
            extra.push(("incident_point".into(), Geometry::Point(c)));
            self.highlight(
                ws,
                Highlight {
                    extra,
                    ..Highlight::default()
                },
            )?;
            let outer = incident.rings_m.iter().copied().fold(100.0, f64::max);
            let b = bbox_of(&g).ok_or_else(|| Error::Missing("the incident has no location".into()))?;
            Ok(IncidentDetailDto {
                incident,
                log,
                rings,
                resources,
                unreachable,
                route_ms,
                view: Some(frame_box(ws, b, outer, canvas, 35.0)),
                drill,
            })
        })
    }

    /// Change an incident's rings (m).
    pub fn set_incident_rings(&self, key: &str, rings_m: &[f64]) -> Result<Incident> {
        check_rings(rings_m)?;
        self.with_store(|s| Ok(s.set_incident_rings(key, rings_m, self.actor())?))
    }

    /// Record an action on an incident; returns its log.
    pub fn log_incident_action(&self, key: &str, text: &str) -> Result<Vec<LogEntry>> {
        self.with_store(|s| {
            s.log_action(key, text, self.actor())?;
            Ok(s.incident_log(key)?)
        })
    }

    /// Set an incident's status (active, contained, closed).
    pub fn set_incident_status(&self, key: &str, status: &str) -> Result<Incident> {
        let to = IncidentStatus::parse(status)
            .ok_or_else(|| Error::Invalid(format!("unknown status '{status}' (active, contained, closed)")))?;
        self.with_store(|s| Ok(s.set_incident_status(key, to, self.actor())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_map_to_incident_types() {
        for (k, want) in [
            ("earthquake", "earthquake"),
            ("M 5.1 Earthquake", "earthquake"),
            ("暴雨红色预警", "flood"),
            ("Flash Flood Warning", "flood"),
            ("sensor_threshold", "flood"),
            ("城市内涝", "flood"),
            ("Fire Warning", "fire"),
            ("森林火险", "fire"),
            ("燃气泄漏", "gas_leak"),
            ("Gas Leak", "gas_leak"),
            ("危化品泄漏", "hazardous_chemical_leak"),
            ("Chemical Spill", "hazardous_chemical_leak"),
            ("大风蓝色预警", "other"),
        ] {
            assert_eq!(incident_kind(k), want, "{k}");
        }
    }

    #[test]
    fn k_nearest_per_type_are_kept_in_order() {
        let r = |kind: &str, fid: i64| Resource {
            kind: kind.into(),
            name: None,
            fid,
            distance_m: None,
            travel_s: None,
            route_m: None,
            route: Vec::new(),
        };
        let got = keep_k_per_type(
            vec![
                (5.0, r("b", 1)),
                (1.0, r("a", 2)),
                (3.0, r("a", 3)),
                (2.0, r("a", 4)),
                (9.0, r("b", 5)),
            ],
            2,
        );
        let fids: Vec<i64> = got.iter().map(|r| r.fid).collect();
        assert_eq!(fids, [2, 4, 1, 5]);
    }
}
