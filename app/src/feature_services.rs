//! Vector map services as layers: a WFS 2.0 feature type or an OGC API Features collection is
//! fetched (paged, within an area when given) into a file in the user's cache folder and added
//! like any file — validated, reprojected, indexed, queryable, saved with the workspace.

use std::path::PathBuf;

use jingwei_layers::Workspace;
use jingwei_services::ServiceSpec;

use crate::data::{self, WorkspaceDto};
use crate::error::{Error, Result};
use crate::session::Session;

/// A feature service's layer as fetched.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FetchedDto {
    /// The layer id in the workspace.
    pub id: String,
    /// Features fetched.
    pub features: usize,
    /// Requests made.
    pub pages: usize,
    /// Quirks fixed (axis order).
    pub fixes: Vec<String>,
}

fn folder(spec: &ServiceSpec) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{}|{}|{:?}", spec.kind, spec.url.split('?').next().unwrap_or(""), spec.layer).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    crate::files::cache_dir().join("features").join(format!("{h:016x}"))
}

/// The feature types or collections a vector service offers: name and title.
pub fn list(spec: &ServiceSpec) -> Result<Vec<(String, String)>> {
    Ok(jingwei_services::features::list(spec)?
        .into_iter()
        .map(|t| (t.name, t.title))
        .collect())
}

impl Session {
    /// Add a WFS or OGC API Features layer (within `bbox`, CGCS2000 lon/lat, when given). The
    /// features are fetched without holding the workspace; a failure leaves it as it was.
    pub fn add_feature_service(&self, spec: &ServiceSpec, bbox: Option<[f64; 4]>) -> Result<(WorkspaceDto, FetchedDto)> {
        if let Some(b) = bbox {
            data::check_lonlat(b[0], b[1])?;
            data::check_lonlat(b[2], b[3])?;
        }
        let f = jingwei_services::features::fetch(spec, bbox, &folder(spec))?;
        let mut next = self.workspace.lock()?.as_ref().map(Workspace::like);
        let added = Workspace::load_file(&mut next, &f.path, None)?;
        let mut next = next
            .filter(|_| added > 0)
            .ok_or_else(|| Error::Missing(format!("{}: the service returned no feature with geometry", f.title)))?;
        let base = spec.layer.clone().unwrap_or_else(|| f.title.clone());
        for wl in &mut next.layers {
            wl.id = base.clone();
            wl.title = f.title.clone();
        }
        let mut guard = self.workspace.lock()?;
        let ws = match guard.as_mut() {
            Some(ws) => {
                ws.append(next)?;
                ws
            }
            None => guard.insert(next),
        };
        *self.origin.lock()? = crate::session::Origin::Files;
        let id = ws.layers.last().map(|l| l.id.clone()).unwrap_or_default();
        self.rebuild(ws)?;
        Ok((
            data::describe(ws),
            FetchedDto {
                id,
                features: f.features,
                pages: f.pages,
                fixes: f.fixes,
            },
        ))
    }
}
