//! The commander's what-if scenarios (模拟推演): a flood from a water level or from rainfall, a
//! gas or toxic release, an earthquake — each run at an incident (or a point), with the
//! buildings, people and roads it reaches, an evacuation to the shelters it leaves usable, steps
//! for the time slider, and its parameters and results logged on the incident so that it can be
//! replayed. In a drill the log goes to the drill copy, like every other write.

use geo::{BoundingRect, Centroid, Coord, Geometry, LineString, MultiPolygon, Polygon};
use jingwei_analysis::impact::building_load;
use jingwei_analysis::routing::allocate;
use jingwei_analysis::scenario::flood::{self, Flood};
use jingwei_analysis::scenario::plume::{Release, Stability};
use jingwei_analysis::scenario::quake::{self, Quake, Region};
use jingwei_analysis::scenario::{Invalid, check_range, row_runs};
use jingwei_layers::dem::Dem;
use jingwei_layers::{Transformer, Workspace, WorkspaceLayer};
use jingwei_scene::view::View;
use serde::{Deserialize, Serialize};

use crate::emergency::{AllocationDto, ShelterUse, buildings_in, circle, shelters_in};
use crate::error::{Error, Result};
use crate::roles::{self, Field, Role};
use crate::session::{Canvas, Session, frame_box};

/// Water deeper than this (m) closes a road by default (cars stall at about a wheel's height).
pub const PASSABLE_M: f64 = 0.3;
/// How far from the place (m) a flood looks for the water it rises from.
pub const WATER_SEARCH_M: f64 = 150.0;
/// The most buildings listed by name in a result (all are counted).
pub const LISTED: usize = 100;

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Error {
        Error::Invalid(e.0)
    }
}

fn default_steps() -> u32 {
    1
}
fn default_passable() -> f64 {
    PASSABLE_M
}
fn default_runoff() -> f64 {
    0.9
}
fn default_receptor() -> f64 {
    1.5
}
fn default_minutes() -> f64 {
    30.0
}

/// A what-if model and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Model {
    /// Water standing at `level_m` (the DEM's heights), connected to the place.
    Flood {
        /// The water level, m.
        level_m: f64,
        /// Rising from this level (m) in `steps` steps; the last step is `level_m`.
        #[serde(default)]
        from_m: Option<f64>,
        /// Steps of the rise (1: only the final level).
        #[serde(default = "default_steps")]
        steps: u32,
        /// Roads under more water than this (m) are closed.
        #[serde(default = "default_passable")]
        passable_m: f64,
    },
    /// Rain over the incident's area (or a circle about the place) filled into depressions.
    Rain {
        /// Rainfall, mm.
        depth_mm: f64,
        /// The share that runs off (0–1; 0.9 for a city's sealed ground).
        #[serde(default = "default_runoff")]
        runoff: f64,
        /// The circle's radius (m) when the incident is a point (default 1,000 m).
        #[serde(default)]
        radius_m: Option<f64>,
        /// Roads under more water than this (m) are closed.
        #[serde(default = "default_passable")]
        passable_m: f64,
    },
    /// A continuous release from the place (Gaussian plume).
    Plume {
        /// Release rate, g/s.
        rate_g_s: f64,
        /// Wind speed, m/s.
        wind_m_s: f64,
        /// Where the wind blows from, degrees from true north.
        wind_from_deg: f64,
        /// Pasquill–Gifford class A–F.
        stability: String,
        /// Release height, m.
        #[serde(default)]
        height_m: f64,
        /// Thresholds (mg/m³), e.g. AEGL-3, AEGL-2, AEGL-1 of the substance.
        thresholds_mg_m3: Vec<f64>,
        /// Minutes since the release began (the plume's front); steps divide them.
        #[serde(default = "default_minutes")]
        minutes: f64,
        /// Steps of the time slider.
        #[serde(default = "default_steps")]
        steps: u32,
        /// Receptor height, m.
        #[serde(default = "default_receptor")]
        receptor_m: f64,
    },
    /// An earthquake at the place.
    Quake {
        /// Surface-wave magnitude; none: read from the incident's title (a feed event's
        /// "M 5.1 - …" or "…5.1级…").
        #[serde(default)]
        magnitude: Option<f64>,
        /// The fault's strike, degrees from true north (the isoseismals' long axis).
        #[serde(default)]
        strike_deg: f64,
        /// `east` or `west` China (default: by longitude).
        #[serde(default)]
        region: Option<String>,
    },
}

impl Model {
    /// The model's name.
    pub fn name(&self) -> &'static str {
        match self {
            Model::Flood { .. } => "flood",
            Model::Rain { .. } => "rain",
            Model::Plume { .. } => "plume",
            Model::Quake { .. } => "quake",
        }
    }
}

/// A scenario to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ScenarioInput {
    /// The model.
    pub model: Model,
    /// The incident it is run for (its place, and its log).
    #[serde(default)]
    pub incident: Option<String>,
    /// The place as longitude/latitude (CGCS2000), instead of the incident's.
    #[serde(default)]
    pub at: Option<[f64; 2]>,
    /// Evacuate the people reached to shelters within this many minutes by road.
    #[serde(default)]
    pub evacuate_min: Option<f64>,
}

/// One step of an evolving scenario (rising water, a plume's front).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ScenarioStep {
    /// The water level (m) or the minutes since the release.
    pub value: f64,
    /// `m` or `min`.
    pub unit: String,
    /// Area reached, m².
    pub area_m2: f64,
    /// Buildings reached.
    pub buildings: usize,
    /// Estimated people in them.
    pub people: f64,
}

/// A band of a result: a depth class, a concentration threshold, an intensity degree.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ScenarioBand {
    /// Label, e.g. `≥ 1.5 m`, `≥ 150 mg/m³`, `VII`.
    pub label: String,
    /// The band's lower value.
    pub lower: f64,
    /// Its upper value (none: open).
    pub upper: Option<f64>,
    /// Area, m².
    pub area_m2: f64,
    /// Buildings.
    pub buildings: usize,
    /// Their floor area, m².
    pub floor_area_m2: f64,
    /// Estimated people.
    pub people: f64,
}

/// A building a scenario reaches.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ReachedBuilding {
    /// Feature id.
    pub fid: i64,
    /// Name.
    pub name: Option<String>,
    /// Water depth (m), concentration (mg/m³) or intensity at it.
    pub value: f64,
    /// Estimated people.
    pub people: f64,
}

/// What a scenario does.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ScenarioDto {
    /// `flood`, `rain`, `plume` or `quake`.
    pub model: String,
    /// The input, as JSON (what the log keeps and a replay reads).
    pub input: String,
    /// Steps for the time slider (at least one; the last is the full scenario).
    pub steps: Vec<ScenarioStep>,
    /// Bands of the last step.
    pub bands: Vec<ScenarioBand>,
    /// Area reached, m².
    pub area_m2: f64,
    /// The largest value: deepest water (m), highest concentration (mg/m³) or intensity.
    pub max_value: f64,
    /// Water volume (m³; floods).
    pub volume_m3: Option<f64>,
    /// Rain that ran off the DEM (m³; rainfall).
    pub runoff_m3: Option<f64>,
    /// Buildings reached.
    pub buildings: usize,
    /// Estimated people in them.
    pub people: f64,
    /// The buildings reached, highest value first (at most [`LISTED`]).
    pub reached: Vec<ReachedBuilding>,
    /// Road segments closed (floods).
    pub roads_closed: usize,
    /// Their length, m.
    pub roads_closed_m: f64,
    /// Shelters left out because the scenario reaches them.
    pub shelters_unusable: usize,
    /// The evacuation, when asked for.
    pub evacuation: Option<AllocationDto>,
    /// The log entry that records the run (runs for an incident).
    pub log_id: Option<i64>,
    /// Whether it ran in a drill.
    pub drill: bool,
    /// Milliseconds it took.
    pub ms: f64,
    /// The view framing it.
    pub view: Option<View>,
}

/// The shapes drawn for each step.
pub(crate) type Frames = Vec<Vec<(String, Geometry)>>;

/// The grid bearing (degrees clockwise from the workspace CRS's north) of true north at (x, y).
fn grid_north(ws: &Workspace, x: f64, y: f64) -> Result<f64> {
    let (lon, lat) = ws.to_lonlat()?.transform(x, y)?;
    let (x2, y2) = ws.crs.from_lonlat()?.transform(lon, lat + 0.001)?;
    Ok((x2 - x).atan2(y2 - y).to_degrees())
}

/// Transforms between the workspace and a DEM (none when they share a CRS).
struct DemLink {
    to_dem: Option<Transformer>,
    to_ws: Option<Transformer>,
}

impl DemLink {
    fn new(ws: &Workspace, dem: &Dem) -> Result<DemLink> {
        let same = dem.crs == ws.crs;
        Ok(DemLink {
            to_dem: (!same).then(|| Transformer::new(&ws.crs, &dem.crs)).transpose()?,
            to_ws: (!same).then(|| Transformer::new(&dem.crs, &ws.crs)).transpose()?,
        })
    }

    fn dem_xy(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        match &self.to_dem {
            None => Some((x, y)),
            Some(t) => t.transform(x, y).ok(),
        }
    }

    fn ws_xy(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        match &self.to_ws {
            None => Some((x, y)),
            Some(t) => t.transform(x, y).ok(),
        }
    }

    /// Depth at a workspace point.
    fn depth(&self, f: &Flood, x: f64, y: f64) -> f64 {
        self.dem_xy(x, y).and_then(|(dx, dy)| f.depth_at(dx, dy)).unwrap_or(0.0)
    }

    /// The flooded cells with depth in `lo..hi` as row strips in the workspace CRS.
    fn strips(&self, f: &Flood, lo: f32, hi: f32) -> MultiPolygon {
        let g = &f.grid;
        let polys = row_runs(g.cols, g.rows, |i| {
            let d = f.depth[i];
            d > 0.0 && d >= lo && d < hi
        })
        .into_iter()
        .filter_map(|(r, start, end)| {
            let (a, b) = (g.cell_ring(start, r), g.cell_ring(end - 1, r));
            let ring: Option<Vec<Coord>> = [a[0], b[1], b[2], a[3], a[0]]
                .iter()
                .map(|(x, y)| self.ws_xy(*x, *y).map(|(x, y)| Coord { x, y }))
                .collect();
            Some(Polygon::new(LineString::new(ring?), Vec::new()))
        })
        .collect();
        MultiPolygon::new(polys)
    }
}

/// Sample points of a building: its centroid and its outline's vertices.
fn samples(g: &Geometry) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = g.centroid().map(|c| vec![(c.x(), c.y())]).unwrap_or_default();
    let mut push = |p: &Polygon| out.extend(p.exterior().coords().map(|c| (c.x, c.y)));
    match g {
        Geometry::Polygon(p) => push(p),
        Geometry::MultiPolygon(m) => m.0.iter().for_each(push),
        _ => {}
    }
    out
}

/// The buildings in `bbox` with a value from `value` (None: not reached).
fn reached(b: &WorkspaceLayer, bbox: [f64; 4], value: impl Fn(usize, &Geometry) -> Option<f64>) -> Vec<(usize, f64, f64, f64)> {
    let bin = buildings_in(b);
    let mut out: Vec<(usize, f64, f64, f64)> = b
        .index
        .candidates(bbox)
        .filter_map(|row| {
            let g = &b.layer.geometries.geometry(row)?;
            let v = value(row, g)?;
            let (fa, people) = building_load(&bin, row);
            Some((row, v, fa, people))
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

fn listed(b: &WorkspaceLayer, hits: &[(usize, f64, f64, f64)]) -> Vec<ReachedBuilding> {
    let name = Field::Name.find(&b.layer);
    hits.iter()
        .take(LISTED)
        .map(|(row, v, _, p)| ReachedBuilding {
            fid: b.layer.fids[*row],
            name: roles::text(&b.layer, name, *row),
            value: *v,
            people: p.round(),
        })
        .collect()
}

fn band(label: String, lower: f64, upper: Option<f64>, area_m2: f64, hits: &[&(usize, f64, f64, f64)]) -> ScenarioBand {
    ScenarioBand {
        label,
        lower,
        upper,
        area_m2,
        buildings: hits.len(),
        floor_area_m2: hits.iter().map(|h| h.2).fold(0.0, |a, b| a + b),
        people: hits.iter().map(|h| h.3).fold(0.0, |a, b| a + b).round(),
    }
}

fn area_of(g: &Geometry) -> f64 {
    use geo::Area;
    g.unsigned_area()
}

fn bbox_union(a: Option<[f64; 4]>, g: &Geometry) -> Option<[f64; 4]> {
    let r = g.bounding_rect()?;
    let b = [r.min().x, r.min().y, r.max().x, r.max().y];
    Some(match a {
        None => b,
        Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
    })
}

/// What one run computed, before evacuation and logging.
struct Run {
    dto: ScenarioDto,
    frames: Frames,
    /// Rows of the buildings reached with their people.
    people: Vec<(usize, f64)>,
    /// Whether a workspace point lies in the hazard (shelters there are not used).
    hazard: Box<dyn Fn(f64, f64) -> bool>,
    /// Road segments to close.
    closed: Box<dyn Fn([f64; 2], [f64; 2]) -> bool>,
    bbox: Option<[f64; 4]>,
}

fn empty_dto(input: &ScenarioInput) -> Result<ScenarioDto> {
    Ok(ScenarioDto {
        model: input.model.name().into(),
        input: serde_json::to_string(input).map_err(|e| Error::Invalid(e.to_string()))?,
        steps: Vec::new(),
        bands: Vec::new(),
        area_m2: 0.0,
        max_value: 0.0,
        volume_m3: None,
        runoff_m3: None,
        buildings: 0,
        people: 0.0,
        reached: Vec::new(),
        roads_closed: 0,
        roads_closed_m: 0.0,
        shelters_unusable: 0,
        evacuation: None,
        log_id: None,
        drill: false,
        ms: 0.0,
        view: None,
    })
}

/// The depth bands of a flood (m).
const DEPTH_BANDS: [(f32, f32, &str); 3] = [(0.0, 0.5, "< 0.5 m"), (0.5, 1.5, "0.5–1.5 m"), (1.5, f32::INFINITY, "≥ 1.5 m")];

/// The road segments under more than `passable_m` of water: their count and length, and the
/// lines (for drawing).
fn closed_roads(ws: &Workspace, link: &DemLink, f: &Flood, passable_m: f64) -> (usize, f64, Vec<LineString>) {
    let Some(roads) = roles::layer(ws, Role::Roads) else {
        return (0, 0.0, Vec::new());
    };
    let mut out = Vec::new();
    let mut len = 0.0;
    for g in roads.layer.geometries.iter().flatten() {
        let g = &g.to_geo();
        let lines: Vec<&LineString> = match g {
            Geometry::LineString(l) => vec![l],
            Geometry::MultiLineString(m) => m.0.iter().collect(),
            _ => continue,
        };
        for l in lines {
            for w in l.0.windows(2) {
                if segment_flooded(link, f, [w[0].x, w[0].y], [w[1].x, w[1].y], passable_m) {
                    len += (w[1].x - w[0].x).hypot(w[1].y - w[0].y);
                    out.push(LineString::new(vec![w[0], w[1]]));
                }
            }
        }
    }
    (out.len(), len, out)
}

/// Whether a road segment has more than `passable_m` of water anywhere (sampled every 5 m).
fn segment_flooded(link: &DemLink, f: &Flood, a: [f64; 2], b: [f64; 2], passable_m: f64) -> bool {
    let d = (b[0] - a[0]).hypot(b[1] - a[1]);
    let n = (d / 5.0).ceil().max(1.0) as usize;
    (0..=n).any(|k| {
        let t = k as f64 / n as f64;
        link.depth(f, a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) > passable_m
    })
}

fn flood_result(
    ws: &Workspace,
    dto: &mut ScenarioDto,
    frames: &mut Frames,
    steps: Vec<(f64, Flood)>,
    passable_m: f64,
) -> Result<(Vec<(usize, f64)>, Flood)> {
    let dem = ws.analysis_dem().ok_or_else(no_dem)?;
    let link = DemLink::new(ws, dem)?;
    let b = roles::require(ws, Role::Buildings)?;
    let mut last = None;
    let mut people = Vec::new();
    let count = steps.len();
    for (k, (value, f)) in steps.into_iter().enumerate() {
        let mut shapes: Vec<(String, Geometry)> = Vec::new();
        let mut bands = Vec::new();
        let mut bbox = None;
        let strips: Vec<MultiPolygon> = DEPTH_BANDS.iter().map(|(lo, hi, _)| link.strips(&f, *lo, *hi)).collect();
        for (i, s) in strips.iter().enumerate() {
            if !s.0.is_empty() {
                let g = Geometry::MultiPolygon(s.clone());
                bbox = bbox_union(bbox, &g);
                shapes.push((format!("scenario_flood_{}", i + 1), g));
            }
        }
        let hits = match bbox {
            None => Vec::new(),
            Some(bb) => reached(b, bb, |_, g| {
                let d = samples(g).into_iter().map(|(x, y)| link.depth(&f, x, y)).fold(0.0, f64::max);
                (d > 0.0).then_some(d)
            }),
        };
        for (i, (lo, hi, label)) in DEPTH_BANDS.iter().enumerate() {
            let in_band: Vec<&(usize, f64, f64, f64)> = hits.iter().filter(|h| h.1 >= f64::from(*lo) && h.1 < f64::from(*hi)).collect();
            let area: f64 = strips[i]
                .0
                .iter()
                .map(|p| area_of(&Geometry::Polygon(p.clone())))
                .fold(0.0, |a, b| a + b);
            bands.push(band(
                (*label).into(),
                f64::from(*lo),
                hi.is_finite().then_some(f64::from(*hi)),
                area,
                &in_band,
            ));
        }
        dto.steps.push(ScenarioStep {
            value,
            unit: "m".into(),
            area_m2: f.area_m2(),
            buildings: hits.len(),
            people: hits.iter().map(|h| h.3).fold(0.0, |a, b| a + b).round(),
        });
        if k + 1 == count {
            let (n, len, lines) = closed_roads(ws, &link, &f, passable_m);
            dto.roads_closed = n;
            dto.roads_closed_m = len;
            shapes.extend(
                lines
                    .into_iter()
                    .map(|l| ("scenario_road_closed".to_string(), Geometry::LineString(l))),
            );
            dto.bands = bands;
            dto.area_m2 = f.area_m2();
            dto.max_value = f.max_depth();
            dto.volume_m3 = Some(f.volume_m3());
            dto.buildings = hits.len();
            dto.people = hits.iter().map(|h| h.3).fold(0.0, |a, b| a + b).round();
            dto.reached = listed(b, &hits);
            people = hits.iter().map(|h| (h.0, h.3)).collect();
            last = Some(f);
        }
        frames.push(shapes);
    }
    Ok((
        people,
        last.ok_or_else(|| Error::Invalid("a flood needs at least one step".into()))?,
    ))
}

/// A DEM's cell size in metres (about, for a geographic DEM).
fn cell_m(dem: &Dem) -> f64 {
    let d = dem.geo_transform[1].abs();
    if dem.crs.is_geographic() { d * 111_320.0 } else { d }
}

fn no_dem() -> Error {
    Error::Missing("the workspace has no DEM: add an elevation raster (GeoTIFF) for flood scenarios".into())
}

fn check_steps(steps: u32) -> Result<u32> {
    if (1..=48).contains(&steps) {
        Ok(steps)
    } else {
        Err(Error::Invalid(format!("steps {steps}: give 1–48")))
    }
}

/// Run a model at (x, y) in the workspace CRS; `area` is the incident's area, if it has one.
/// The magnitude an earthquake's title states: `M 5.1 …`, `Mw6.2`, `5.1级`.
pub fn magnitude_in(title: &str) -> Option<f64> {
    let num = |s: &str| -> Option<f64> {
        let n: String = s.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        n.parse().ok().filter(|m: &f64| (0.0..10.0).contains(m))
    };
    for (i, _) in title.match_indices('M') {
        let rest = &title[i + 1..];
        let rest = rest.strip_prefix(['w', 's', 'L', 'b']).unwrap_or(rest);
        if let Some(m) = num(rest) {
            return Some(m);
        }
    }
    let i = title.find('级')?;
    let before: String = title[..i].chars().rev().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    num(&before.chars().rev().collect::<String>())
}

fn run_model(ws: &Workspace, input: &ScenarioInput, x: f64, y: f64, area: Option<&Geometry>, title: Option<&str>) -> Result<Run> {
    let mut dto = empty_dto(input)?;
    let mut frames: Frames = Vec::new();
    match &input.model {
        Model::Flood {
            level_m,
            from_m,
            steps,
            passable_m,
        } => {
            let steps = check_steps(*steps)?;
            check_range("passable depth", *passable_m, 0.0, 10.0, " m")?;
            let dem = ws.analysis_dem().ok_or_else(no_dem)?;
            let link = DemLink::new(ws, dem)?;
            let (dx, dy) = link
                .dem_xy(x, y)
                .ok_or_else(|| Error::Invalid("the place cannot be carried to the DEM's CRS".into()))?;
            let start = from_m.unwrap_or(*level_m);
            if !start.is_finite() || start > *level_m {
                return Err(Error::Invalid(format!("rising from {start} m: give a level below {level_m} m")));
            }
            // The water at the place: the lowest ground within 150 m (a gauge stands on the
            // bank; its water is the river beside it).
            let reach = (WATER_SEARCH_M / cell_m(dem)).ceil() as usize;
            let (sx, sy) = flood::water_near(dem, dx, dy, reach).unwrap_or((dx, dy));
            let mut runs = Vec::new();
            for k in 1..=steps {
                // Intermediate levels to the centimetre (what a gauge reads and the slider shows).
                let l = if steps == 1 || k == steps {
                    *level_m
                } else {
                    ((start + (level_m - start) * f64::from(k - 1) / f64::from(steps - 1)) * 100.0).round() / 100.0
                };
                match flood::from_level(dem, sx, sy, l) {
                    Ok(f) => runs.push((l, f)),
                    // Lower steps may not reach the ground at the place yet: nothing is flooded.
                    Err(_) if k < steps => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let (people, f) = flood_result(ws, &mut dto, &mut frames, runs, *passable_m)?;
            flood_run(ws, dem, f, dto, frames, people, *passable_m)
        }
        Model::Rain {
            depth_mm,
            runoff,
            radius_m,
            passable_m,
        } => {
            check_range("passable depth", *passable_m, 0.0, 10.0, " m")?;
            let dem = ws.analysis_dem().ok_or_else(no_dem)?;
            let link = DemLink::new(ws, dem)?;
            let mut zone = match area {
                Some(g @ (Geometry::Polygon(_) | Geometry::MultiPolygon(_))) => g.clone(),
                _ => {
                    let r = radius_m.unwrap_or(1000.0);
                    check_range("radius", r, 1.0, 100_000.0, " m")?;
                    circle(Coord { x, y }, r)
                }
            };
            if let Some(t) = &link.to_dem {
                t.transform_geometry(&mut zone)?;
            }
            let mp = match zone {
                Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
                Geometry::MultiPolygon(m) => m,
                _ => return Err(Error::Invalid("the rainfall area is not a polygon".into())),
            };
            let f = flood::from_rain(dem, &mp, depth_mm / 1000.0, *runoff)?;
            dto.runoff_m3 = Some(f.runoff_m3);
            let (people, f) = flood_result(ws, &mut dto, &mut frames, vec![(*depth_mm / 1000.0, f)], *passable_m)?;
            dto.steps[0].value = *depth_mm;
            dto.steps[0].unit = "mm".into();
            flood_run(ws, dem, f, dto, frames, people, *passable_m)
        }
        Model::Plume {
            rate_g_s,
            wind_m_s,
            wind_from_deg,
            stability,
            height_m,
            thresholds_mg_m3,
            minutes,
            steps,
            receptor_m,
        } => {
            let steps = check_steps(*steps)?;
            check_range("minutes", *minutes, 0.1, 24.0 * 60.0, " min")?;
            if thresholds_mg_m3.is_empty() {
                return Err(Error::Invalid(
                    "give at least one threshold (mg/m³), e.g. the substance's AEGL-2".into(),
                ));
            }
            let mut thresholds = thresholds_mg_m3.clone();
            for t in &thresholds {
                check_range("threshold", *t, 1e-9, 1e9, " mg/m³")?;
            }
            thresholds.sort_by(|a, b| b.total_cmp(a));
            thresholds.dedup();
            check_range("wind direction", *wind_from_deg, 0.0, 360.0, "°")?;
            let rel = Release {
                x,
                y,
                rate_g_s: *rate_g_s,
                wind_m_s: *wind_m_s,
                wind_from_deg: (wind_from_deg + grid_north(ws, x, y)?).rem_euclid(360.0),
                stability: Stability::parse(stability)?,
                height_m: *height_m,
                receptor_m: *receptor_m,
            };
            rel.check()?;
            let b = roles::require(ws, Role::Buildings)?;
            let mut people = Vec::new();
            let mut bbox_all = None;
            for k in 1..=steps {
                let t_min = minutes * f64::from(k) / f64::from(steps);
                let front = rel.wind_m_s * t_min * 60.0;
                let zones: Vec<Option<Polygon>> = thresholds.iter().map(|t| rel.isopleth(*t, Some(front))).collect();
                let mut shapes = Vec::new();
                let mut bbox = None;
                // Widest (lowest threshold) first so that the strongest is drawn on top.
                for (i, z) in zones.iter().enumerate().rev() {
                    if let Some(p) = z {
                        let g = Geometry::Polygon(p.clone());
                        bbox = bbox_union(bbox, &g);
                        shapes.push((format!("scenario_band_{}", i.min(3)), g));
                    }
                }
                let lowest = *thresholds.last().expect("checked");
                let hits = match bbox {
                    None => Vec::new(),
                    Some(bb) => reached(b, bb, |_, g| {
                        let c = g.centroid()?;
                        let (dx, dy) = (c.x() - rel.x, c.y() - rel.y);
                        let (ux, uy) = rel.downwind();
                        if dx * ux + dy * uy > front {
                            return None;
                        }
                        let v = rel.at_point(c.x(), c.y());
                        (v >= lowest).then_some(v)
                    }),
                };
                let area: f64 = zones
                    .iter()
                    .flatten()
                    .last()
                    .map_or(0.0, |p| area_of(&Geometry::Polygon(p.clone())));
                dto.steps.push(ScenarioStep {
                    value: t_min,
                    unit: "min".into(),
                    area_m2: area,
                    buildings: hits.len(),
                    people: hits.iter().map(|h| h.3).fold(0.0, |a, b| a + b).round(),
                });
                if k == steps {
                    dto.bands = thresholds
                        .iter()
                        .zip(&zones)
                        .map(|(t, z)| {
                            let inside: Vec<&(usize, f64, f64, f64)> = hits.iter().filter(|h| h.1 >= *t).collect();
                            band(
                                format!("≥ {t} mg/m³"),
                                *t,
                                None,
                                z.as_ref().map_or(0.0, |p| area_of(&Geometry::Polygon(p.clone()))),
                                &inside,
                            )
                        })
                        .collect();
                    dto.area_m2 = area;
                    dto.max_value = hits.first().map_or(0.0, |h| h.1);
                    dto.buildings = hits.len();
                    dto.people = hits.iter().map(|h| h.3).fold(0.0, |a, b| a + b).round();
                    dto.reached = listed(b, &hits);
                    people = hits.iter().map(|h| (h.0, h.3)).collect();
                    bbox_all = bbox;
                }
                frames.push(shapes);
            }
            let widest = rel.isopleth(*thresholds.last().expect("checked"), Some(rel.wind_m_s * minutes * 60.0));
            Ok(Run {
                dto,
                frames,
                people,
                hazard: Box::new(move |px, py| {
                    use geo::Contains;
                    widest.as_ref().is_some_and(|p| p.contains(&geo::Point::new(px, py)))
                }),
                closed: Box::new(|_, _| false),
                bbox: bbox_all,
            })
        }
        Model::Quake {
            magnitude,
            strike_deg,
            region,
        } => {
            let (lon, _) = ws.to_lonlat()?.transform(x, y)?;
            let region = match region.as_deref() {
                None | Some("") => Region::of_longitude(lon),
                Some("east") => Region::East,
                Some("west") => Region::West,
                Some(r) => return Err(Error::Invalid(format!("region '{r}': give east or west"))),
            };
            check_range("strike", *strike_deg, 0.0, 360.0, "°")?;
            let magnitude = match magnitude {
                Some(m) => *m,
                None => title
                    .and_then(magnitude_in)
                    .ok_or_else(|| Error::Invalid("give a magnitude (the incident's title states none)".into()))?,
            };
            let q = Quake {
                x,
                y,
                magnitude,
                strike_deg: (strike_deg + grid_north(ws, x, y)?).rem_euclid(360.0),
                region,
            };
            q.check()?;
            let b = roles::require(ws, Role::Buildings)?;
            let top = q.epicentral();
            let degrees: Vec<u32> = (6..=12).filter(|i| f64::from(*i) <= top).collect();
            let zones: Vec<(u32, Polygon)> = degrees.iter().filter_map(|i| Some((*i, q.isoseismal(f64::from(*i))?))).collect();
            let mut shapes = Vec::new();
            for (k, (_, p)) in zones.iter().enumerate() {
                shapes.push((
                    format!("scenario_band_{}", (zones.len() - 1 - k).min(3)),
                    Geometry::Polygon(p.clone()),
                ));
            }
            let bbox = zones
                .first()
                .and_then(|(_, p)| p.bounding_rect())
                .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
            let hits = match bbox {
                None => Vec::new(),
                Some(bb) => reached(b, bb, |_, g| {
                    let c = g.centroid()?;
                    let i = q.intensity_at(c.x(), c.y());
                    (i >= 6.0).then_some(i)
                }),
            };
            dto.bands = zones
                .iter()
                .enumerate()
                .map(|(k, (i, p))| {
                    let lo = f64::from(*i);
                    let inner = zones.get(k + 1).map_or(0.0, |(_, p)| area_of(&Geometry::Polygon(p.clone())));
                    let inside: Vec<&(usize, f64, f64, f64)> = hits.iter().filter(|h| h.1 >= lo && h.1 < lo + 1.0).collect();
                    band(
                        quake::roman(*i).into(),
                        lo,
                        Some(lo + 1.0),
                        area_of(&Geometry::Polygon(p.clone())) - inner,
                        &inside,
                    )
                })
                .collect();
            dto.area_m2 = zones.first().map_or(0.0, |(_, p)| area_of(&Geometry::Polygon(p.clone())));
            dto.max_value = top;
            dto.buildings = hits.len();
            dto.people = hits.iter().map(|h| h.3).fold(0.0, |a, b| a + b).round();
            dto.reached = listed(b, &hits);
            dto.steps.push(ScenarioStep {
                value: magnitude,
                unit: "M".into(),
                area_m2: dto.area_m2,
                buildings: hits.len(),
                people: dto.people,
            });
            frames.push(shapes);
            // Shelters in intensity VIII or more are not used (buildings there may be unsafe).
            let q2 = q.clone();
            Ok(Run {
                people: hits.iter().map(|h| (h.0, h.3)).collect(),
                dto,
                frames,
                hazard: Box::new(move |px, py| q2.intensity_at(px, py) >= 8.0),
                closed: Box::new(|_, _| false),
                bbox,
            })
        }
    }
}

/// A flood's run: shelters under water are not used, roads under more than `passable_m` close.
fn flood_run(
    ws: &Workspace,
    dem: &Dem,
    f: Flood,
    dto: ScenarioDto,
    frames: Frames,
    people: Vec<(usize, f64)>,
    passable_m: f64,
) -> Result<Run> {
    // One flood and one link to its DEM for both questions.
    let (f, link) = (std::rc::Rc::new(f), std::rc::Rc::new(DemLink::new(ws, dem)?));
    let (f2, link2) = (f.clone(), link.clone());
    Ok(Run {
        dto,
        frames,
        people,
        hazard: Box::new(move |x, y| link.depth(&f, x, y) > 0.0),
        // The same test as the closed roads reported and drawn (`closed_roads`).
        closed: Box::new(move |a, b| segment_flooded(&link2, &f2, a, b, passable_m)),
        bbox: None,
    })
}

impl Session {
    /// Run a what-if scenario at an incident (or a point); draw it, log it on the incident.
    pub fn run_scenario(&self, input: &ScenarioInput, canvas: Canvas) -> Result<ScenarioDto> {
        self.scenario_at(input, canvas, true)
    }

    /// Run again the scenario of an incident's log entry `log_id` (not logged again).
    pub fn replay_scenario(&self, incident: &str, log_id: i64, canvas: Canvas) -> Result<ScenarioDto> {
        let entry = self
            .with_store(|s| Ok(s.incident_log(incident)?))?
            .into_iter()
            .find(|e| e.id == log_id && e.action == "scenario")
            .ok_or_else(|| Error::Missing(format!("incident {incident} has no scenario #{log_id} in its log")))?;
        let detail = entry.detail.unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&detail).map_err(|e| Error::Invalid(format!("scenario #{log_id}: {e}")))?;
        let input: ScenarioInput =
            serde_json::from_value(v["input"].clone()).map_err(|e| Error::Invalid(format!("scenario #{log_id}: {e}")))?;
        let mut dto = self.scenario_at(&input, canvas, false)?;
        dto.log_id = Some(log_id);
        Ok(dto)
    }

    /// Show step `k` of the last scenario (the time slider).
    pub fn scenario_step(&self, k: usize) -> Result<usize> {
        self.with_workspace(|ws| {
            let frames = self.scenario.lock()?;
            let f = frames.as_ref().ok_or_else(|| Error::Missing("no scenario has been run".into()))?;
            let shapes = f
                .get(k)
                .ok_or_else(|| Error::Invalid(format!("step {k}: the scenario has {} steps", f.len())))?
                .clone();
            let n = f.len();
            drop(frames);
            self.set_overlay(ws, "scenario", shapes)?;
            Ok(n)
        })
    }

    /// Take the last scenario, and any lifeline drawing, off the map.
    pub fn clear_scenario(&self) -> Result<()> {
        *self.scenario.lock()? = None;
        self.with_workspace(|ws| {
            self.overlay.lock()?.remove("lifelines");
            self.set_overlay(ws, "scenario", Vec::new())
        })
    }

    fn scenario_at(&self, input: &ScenarioInput, canvas: Canvas, log: bool) -> Result<ScenarioDto> {
        let t0 = std::time::Instant::now();
        let (mut dto, frames) = self.with_workspace(|ws| {
            let (x, y, area, title) = match (&input.at, &input.incident) {
                (Some([lon, lat]), _) => {
                    let (x, y) = ws.crs.from_lonlat()?.transform(*lon, *lat)?;
                    (x, y, None, None)
                }
                (None, Some(key)) => {
                    let inc = self.with_store_in(ws, |s| Ok(s.incident(key)?))?;
                    let g = inc
                        .geometry
                        .ok_or_else(|| Error::Missing(format!("incident {key} has no location")))?;
                    let c = g
                        .centroid()
                        .ok_or_else(|| Error::Missing(format!("incident {key} has no location")))?;
                    (c.x(), c.y(), Some(g), Some(inc.title))
                }
                (None, None) => return Err(Error::Invalid("say where: an incident or a longitude/latitude".into())),
            };
            let run = run_model(ws, input, x, y, area.as_ref(), title.as_deref())?;
            let Run {
                mut dto,
                frames,
                people,
                hazard,
                closed,
                bbox,
            } = run;
            if let Some(limit) = input.evacuate_min {
                check_range("time limit", limit, 0.1, 24.0 * 60.0, " min")?;
                let graph = self.road_graph(ws)?;
                let (open, _) = graph.with_closed(closed);
                let b = roles::require(ws, Role::Buildings)?;
                let evacuees: Vec<(usize, f64, f64, f64)> = people
                    .iter()
                    .filter_map(|(row, p)| {
                        let c = b.layer.geometries.geometry(*row)?.centroid()?;
                        Some((*row, c.x(), c.y(), *p))
                    })
                    .collect();
                let mut shelters = Vec::new();
                let mut unusable = 0;
                let mut names = Vec::new();
                for sl in roles::layers(ws, Role::Resources) {
                    let name = Field::Name.find(&sl.layer);
                    for (r, x, y, capacity) in shelters_in(sl, false).unwrap_or_default() {
                        if hazard(x, y) {
                            unusable += 1;
                            continue;
                        }
                        names.push((sl.layer.fids[r], roles::text(&sl.layer, name, r)));
                        shelters.push((names.len() - 1, x, y, capacity));
                    }
                }
                let al = allocate(&open, &evacuees, &shelters, limit * 60.0);
                dto.shelters_unusable = unusable;
                dto.evacuation = Some(AllocationDto {
                    limit_min: limit,
                    people: evacuees.iter().map(|e| e.3).fold(0.0, |a, b| a + b).round(),
                    placed: al.placements.iter().map(|p| p.people).fold(0.0, |a, b| a + b).round(),
                    left_over: al.left_over.round(),
                    left_over_buildings: al.left_over_buildings.iter().map(|r| b.layer.fids[*r]).collect(),
                    shelters: al
                        .per_shelter
                        .iter()
                        .map(|(i, used, capacity)| ShelterUse {
                            fid: names[*i].0,
                            name: names[*i].1.clone(),
                            placed: *used,
                            capacity: *capacity,
                        })
                        .collect(),
                });
            }
            let bb = bbox.or_else(|| frames.last().and_then(|f| f.iter().fold(None, |acc, (_, g)| bbox_union(acc, g))));
            dto.view = bb.map(|b| frame_box(ws, b, 100.0, canvas, 35.0));
            let mut shown = frames.last().cloned().unwrap_or_default();
            shown.push(("incident_point".into(), Geometry::Point(geo::Point::new(x, y))));
            self.set_overlay(ws, "scenario", shown)?;
            Ok((dto, frames))
        })?;
        *self.scenario.lock()? = Some(frames);
        dto.ms = t0.elapsed().as_secs_f64() * 1000.0;
        dto.drill = self.drill.load(std::sync::atomic::Ordering::SeqCst);
        if log && let Some(key) = &input.incident {
            let detail = serde_json::json!({
                "input": input,
                "result": {
                    "area_m2": dto.area_m2, "max_value": dto.max_value, "buildings": dto.buildings,
                    "people": dto.people, "roads_closed": dto.roads_closed,
                    "evacuation": dto.evacuation.as_ref().map(|e| serde_json::json!({
                        "people": e.people, "placed": e.placed, "left_over": e.left_over })),
                },
            });
            let entry = self.with_store(|s| Ok(s.log_scenario(key, &detail.to_string(), self.actor())?))?;
            dto.log_id = Some(entry.id);
        }
        Ok(dto)
    }
}

#[cfg(test)]
mod tests {
    use super::magnitude_in;

    #[test]
    fn magnitudes_are_read_from_event_titles() {
        assert_eq!(magnitude_in("M 5.1 - 10 km SSW of Anza, CA"), Some(5.1));
        assert_eq!(magnitude_in("Mw6.2 Sichuan"), Some(6.2));
        assert_eq!(magnitude_in("四川泸定县发生6.8级地震"), Some(6.8));
        assert_eq!(magnitude_in("Heavy rain"), None);
    }
}
