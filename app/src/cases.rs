//! The inspector's case operations on the session's store: list and filter, select (the view
//! flies to it with its building, permit and zones highlighted), move along the loop, assign,
//! notes, attachments, flag a case on a building or a drawn polygon. Each change is one
//! audited transaction in `jingwei_cases`.

use geo::{Area, Geometry, LineString, Polygon};
use jingwei_cases::{Case, CaseDetail, Filter, Status, rules_zh};
use jingwei_scene::scene::Highlight;
use jingwei_scene::view::View;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::roles::{self, Role};
use crate::session::{Canvas, Pixel, Session, fly_to};

/// A case as the list shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CaseRow {
    /// Store id.
    pub id: i64,
    /// Case number (WJ2026-000001).
    pub case_no: String,
    /// Status.
    pub status: Status,
    /// Status in Chinese.
    pub status_zh: &'static str,
    /// Priority score.
    pub priority: f64,
    /// Rule ids.
    pub rules: Vec<String>,
    /// Rules in Chinese.
    pub rules_zh: String,
    /// Inspector.
    pub assignee: Option<String>,
    /// The building's fid.
    pub building_fid: Option<i64>,
    /// Zone types the building lies in.
    pub zone_types: Vec<String>,
}

impl From<&Case> for CaseRow {
    fn from(c: &Case) -> CaseRow {
        CaseRow {
            id: c.id,
            case_no: c.case_no.clone(),
            status: c.status,
            status_zh: c.status.name_zh(),
            priority: c.priority,
            rules: c.rules.clone(),
            rules_zh: rules_zh(c),
            assignee: c.assignee.clone(),
            building_fid: c.building_fid,
            zone_types: c.evidence["zones"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|z| z["zone_type"].as_str().map(str::to_string))
                .collect(),
        }
    }
}

/// The list filters (as the panel and the CLI give them: empty means any).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FilterDto {
    /// Statuses, comma-separated ids or Chinese names.
    pub status: Option<String>,
    /// A rule id.
    pub rule: Option<String>,
    /// A zone type.
    pub zone_type: Option<String>,
    /// An inspector.
    #[serde(default)]
    pub assignee: Option<String>,
    /// A lowest priority.
    #[serde(default)]
    pub min_priority: Option<f64>,
}

impl FilterDto {
    /// The store's filter; an unknown status is an error naming the ones there are.
    pub fn to_filter(&self) -> Result<Filter> {
        let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
        let statuses = match nonempty(&self.status) {
            Some(s) => s
                .split(',')
                .map(|x| {
                    Status::parse(x.trim())
                        .ok_or_else(|| Error::Invalid(format!("unknown status '{x}' (pending, confirmed, dismissed, rectifying, closed)")))
                })
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        if self.min_priority.is_some_and(|p| !p.is_finite()) {
            return Err(Error::Invalid("the lowest priority must be a number".into()));
        }
        Ok(Filter {
            statuses,
            rule: nonempty(&self.rule),
            zone_type: nonempty(&self.zone_type),
            assignee: nonempty(&self.assignee),
            min_priority: self.min_priority,
        })
    }
}

/// A case with its evidence, notes, attachments, audit trail and the statuses it may move to.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CaseDetailDto {
    /// The case and its records.
    #[serde(flatten)]
    pub detail: CaseDetail,
    /// Status in Chinese.
    pub status_zh: &'static str,
    /// Rules in Chinese.
    pub rules_zh: String,
    /// The statuses it may move to, with their Chinese names.
    pub next: Vec<(Status, &'static str)>,
}

impl From<CaseDetail> for CaseDetailDto {
    fn from(d: CaseDetail) -> CaseDetailDto {
        CaseDetailDto {
            status_zh: d.case.status.name_zh(),
            rules_zh: rules_zh(&d.case),
            next: d.case.status.next().iter().map(|s| (*s, s.name_zh())).collect(),
            detail: d,
        }
    }
}

/// A selected case and the view flown to it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SelectedDto {
    /// The case.
    pub detail: CaseDetailDto,
    /// The view framing it.
    pub view: Option<View>,
}

/// What the scene highlights for a case: its building in place of its own prism, its shape,
/// its permit outlined and its zones tinted (the app's selection and the report's site map).
pub fn case_highlight(c: &Case) -> Highlight {
    let refs = c.refs();
    Highlight {
        building: refs.building,
        shape: c.geometry.clone(),
        permit: refs.permit,
        zones: refs.zones,
        ..Highlight::default()
    }
}

impl Session {
    /// Cases, highest priority first, filtered.
    pub fn list_cases(&self, filter: &FilterDto) -> Result<Vec<CaseRow>> {
        let f = filter.to_filter()?;
        self.with_store(|s| Ok(s.list(&f)?.iter().map(CaseRow::from).collect()))
    }

    /// One case with its records.
    pub fn case_detail(&self, key: &str) -> Result<CaseDetailDto> {
        self.with_store(|s| Ok(s.detail(key)?.into()))
    }

    /// Select a case: its detail, and the view flown to it with its building, permit and zones
    /// highlighted.
    pub fn select_case(&self, key: &str, canvas: Canvas) -> Result<SelectedDto> {
        self.with_workspace(|ws| {
            let detail = self.with_store_in(ws, |s| Ok(s.detail(key)?))?;
            self.highlight(ws, case_highlight(&detail.case))?;
            let view = detail.case.geometry.as_ref().and_then(|g| fly_to(ws, g, canvas));
            Ok(SelectedDto {
                detail: detail.into(),
                view,
            })
        })
    }

    /// Move a case to a new status (checked against the loop), with an optional comment.
    pub fn set_case_status(&self, key: &str, status: &str, comment: Option<&str>) -> Result<CaseDetailDto> {
        let to = Status::parse(status).ok_or_else(|| Error::Invalid(format!("unknown status '{status}'")))?;
        self.with_store(|s| {
            s.set_status(key, to, comment, self.actor())?;
            Ok(s.detail(key)?.into())
        })
    }

    /// Assign a case to an inspector (empty: unassign).
    pub fn assign_case(&self, key: &str, assignee: &str) -> Result<CaseDetailDto> {
        let name = Some(assignee.trim()).filter(|a| !a.is_empty());
        self.with_store(|s| {
            s.assign(key, name, self.actor())?;
            Ok(s.detail(key)?.into())
        })
    }

    /// Add a note.
    pub fn add_case_note(&self, key: &str, text: &str) -> Result<CaseDetailDto> {
        self.with_store(|s| {
            s.add_note(key, text, self.actor())?;
            Ok(s.detail(key)?.into())
        })
    }

    /// Attach a photo or file (its bytes, as the page read them).
    pub fn attach_case_file(&self, key: &str, name: &str, bytes: &[u8]) -> Result<CaseDetailDto> {
        self.with_store(|s| {
            s.attach_bytes(key, name, bytes, self.actor())?;
            Ok(s.detail(key)?.into())
        })
    }

    /// Flag a new case on the building under a pixel of the 3D view.
    pub fn flag_building(&self, p: &Pixel, title: &str) -> Result<CaseRow> {
        self.with_workspace(|ws| {
            let wl = roles::require(ws, Role::Buildings)?;
            let (x, y) = self
                .ground_xy(ws, p)
                .ok_or_else(|| Error::Invalid("that point is not on the ground".into()))?;
            let hit = wl
                .index
                .at_point(&wl.layer.geometries, x, y, 0.5)
                .into_iter()
                .next()
                .ok_or_else(|| Error::Invalid("no building there: click on a building, or draw a polygon".into()))?;
            let g = wl
                .layer
                .geometries
                .geometry(hit.row)
                .clone()
                .ok_or_else(|| Error::Missing("the building has no geometry".into()))?;
            let fid = wl.layer.fids[hit.row];
            let name = wl.layer.name.clone();
            self.with_store_in(ws, |s| {
                Ok(CaseRow::from(&s.flag(&g, Some((&name, fid)), title, None, self.actor())?))
            })
        })
    }

    /// The closed ring on the ground under a polygon's corners (canvas pixels of `view`), in
    /// the workspace CRS.
    pub(crate) fn ground_ring(
        &self,
        ws: &jingwei_layers::Workspace,
        corners: &[[f32; 2]],
        width: u32,
        height: u32,
        view: View,
    ) -> Result<Vec<(f64, f64)>> {
        let mut ring: Vec<(f64, f64)> = Vec::with_capacity(corners.len() + 1);
        for [x, y] in corners {
            let p = Pixel {
                x: *x,
                y: *y,
                width,
                height,
                view,
            };
            ring.push(
                self.ground_xy(ws, &p)
                    .ok_or_else(|| Error::Invalid("a corner is not on the ground (below the horizon?)".into()))?,
            );
        }
        ring.push(ring[0]);
        Ok(ring)
    }

    /// Flag a new case on a polygon drawn on the 3D view (its corners as canvas pixels).
    pub fn flag_polygon(&self, corners: &[[f32; 2]], width: u32, height: u32, view: View, title: &str) -> Result<CaseRow> {
        if corners.len() < 3 {
            return Err(Error::Invalid("a polygon needs at least three corners".into()));
        }
        self.with_workspace(|ws| {
            let ring = self.ground_ring(ws, corners, width, height, view)?;
            let g = Geometry::Polygon(Polygon::new(LineString::from(ring), vec![]));
            // Corners on one line give a sliver of rounding error, not a site.
            if !(g.unsigned_area() >= 1.0) {
                return Err(Error::Invalid("the polygon has no area: draw at least three corners apart".into()));
            }
            self.with_store_in(ws, |s| Ok(CaseRow::from(&s.flag(&g, None, title, None, self.actor())?)))
        })
    }
}
