//! # jingwei-services — map services as tile sources
//!
//! Our own client for the services a municipal deployment draws on (Debian's GDAL 3.6 gets
//! the 天地图 quirks wrong): [`wmts`] (capabilities, KVP and REST tiles, tile matrix sets in any
//! CRS), [`wms`] (1.1.1 and 1.3.0 GetMap as 256-pixel tiles, with 1.3.0's axis order) and
//! [`xyz`] (XYZ/TMS URL templates) and [`arcgis`] (ArcGIS REST cached map services). Each opens from a [`ServiceSpec`] — what the workspace saves
//! — into a [`jingwei_layers::imagery::TileSource`], so services draw, cache and package exactly
//! like image files. [`http`] holds the client: extra parameters (a `tk` key) and headers on
//! every request, a disk cache with a size limit, and URLs with their keys blanked out in every
//! message.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arcgis;
pub mod crs;
pub mod features;
pub mod http;
pub mod tileset;
pub mod wms;
pub mod wmts;
pub mod xyz;

use std::path::PathBuf;
use std::sync::Arc;

use jingwei_layers::imagery::TileSource;
use serde::{Deserialize, Serialize};

/// Everything that can go wrong talking to a service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request failed (network, HTTP status, a service exception); the URL is redacted.
    #[error("{url}: {detail}")]
    Request {
        /// The URL, keys blanked out.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The service answered something this client cannot use.
    #[error("{url}: {detail}")]
    Capabilities {
        /// The URL, keys blanked out.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A setting is missing or wrong.
    #[error("{0}")]
    Invalid(String),
    /// A CRS or transformation problem.
    #[error(transparent)]
    Layers(#[from] jingwei_layers::LayersError),
}

/// Result alias of this crate.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// A configured service layer: what the workspace saves, and what opens it again.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// `wmts`, `wms`, `xyz`, `tms` (a template with the y axis flipped) or `arcgis`.
    pub kind: String,
    /// The capabilities URL (WMTS, WMS) or the tile URL template (XYZ: `{z}`, `{x}`, `{y}` or
    /// `{-y}`, `{s}`).
    pub url: String,
    /// The layer (WMTS, WMS); the first when absent.
    #[serde(default)]
    pub layer: Option<String>,
    /// The style; the default when absent.
    #[serde(default)]
    pub style: Option<String>,
    /// The image format; PNG or JPEG, whichever the service has, when absent.
    #[serde(default)]
    pub format: Option<String>,
    /// The WMTS tile matrix set; the one best suited to the workspace when absent.
    #[serde(default)]
    pub matrix_set: Option<String>,
    /// The WMS CRS (`EPSG:4490`, …); the workspace's when the service has it, else a usual one.
    #[serde(default)]
    pub crs: Option<String>,
    /// Parameters added to every request (`tk` for 天地图), capabilities and tiles alike.
    #[serde(default)]
    pub params: Vec<(String, String)>,
    /// Headers sent with every request (a Referer some services want).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// XYZ: the deepest level; WMTS/WMS: a limit of the user's.
    #[serde(default)]
    pub max_level: Option<u32>,
    /// XYZ subdomains for `{s}`.
    #[serde(default)]
    pub subdomains: Vec<String>,
    /// WMTS: request tiles by KVP even where the service publishes REST templates.
    #[serde(default)]
    pub kvp: bool,
    /// Seconds a request may take (a slow extranet wants more); 20 when absent.
    #[serde(default)]
    pub timeout_s: Option<u32>,
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys never reach a log: parameter and header values are blanked out.
        let blank = |v: &[(String, String)]| v.iter().map(|(k, _)| format!("{k}=***")).collect::<Vec<_>>();
        f.debug_struct("ServiceSpec")
            .field("kind", &self.kind)
            .field("url", &http::redact(&self.url))
            .field("layer", &self.layer)
            .field("style", &self.style)
            .field("format", &self.format)
            .field("matrix_set", &self.matrix_set)
            .field("crs", &self.crs)
            .field("params", &blank(&self.params))
            .field("headers", &blank(&self.headers))
            .field("timeout_s", &self.timeout_s)
            .finish()
    }
}

impl ServiceSpec {
    /// Read a spec from the workspace's saved JSON.
    pub fn from_value(v: &serde_json::Value) -> Result<ServiceSpec> {
        serde_json::from_value(v.clone()).map_err(|e| ServiceError::Invalid(format!("unreadable service settings: {e}")))
    }

    /// The spec as the workspace saves it.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Where tiles of services are kept on disk, and how much.
#[derive(Debug, Clone)]
pub struct DiskCache {
    /// The folder (the user's cache folder, `…/jingwei/tiles`).
    pub dir: PathBuf,
    /// At most this many bytes; the oldest tiles go first.
    pub limit_bytes: u64,
}

/// An open service layer.
pub struct Opened {
    /// The tiles.
    pub source: Arc<dyn TileSource>,
    /// Its title (the service's name of the layer).
    pub title: String,
    /// One line on what it is.
    pub detail: String,
}

/// Open a service layer as a tile source for a workspace in `ws_crs` (which picks the tile
/// matrix set or WMS CRS when the spec leaves it open).
pub fn open(spec: &ServiceSpec, ws_crs: &jingwei_layers::Crs, cache: Option<&DiskCache>) -> Result<Opened> {
    match spec.kind.as_str() {
        "wmts" => wmts::open(spec, ws_crs, cache),
        "wms" => wms::open(spec, ws_crs, cache),
        "xyz" | "tms" => xyz::open(spec, cache),
        "arcgis" => arcgis::open(spec, cache),
        other => Err(ServiceError::Invalid(format!(
            "service kind '{other}': use wmts, wms, xyz, tms or arcgis"
        ))),
    }
}

/// The layers a service offers (for the "add service" dialog): identifier and title.
pub fn list_layers(spec: &ServiceSpec) -> Result<Vec<(String, String)>> {
    match spec.kind.as_str() {
        "wmts" => Ok(wmts::fetch_capabilities(spec)?
            .layers
            .iter()
            .map(|l| (l.identifier.clone(), l.title.clone()))
            .collect()),
        "wms" => Ok(wms::fetch_capabilities(spec)?
            .layers
            .iter()
            .map(|l| (l.name.clone(), l.title.clone()))
            .collect()),
        "xyz" | "tms" => Ok(vec![("tiles".into(), spec.url.clone())]),
        "arcgis" => {
            let o = arcgis::open(spec, None)?;
            Ok(vec![(o.title.clone(), o.detail)])
        }
        other => Err(ServiceError::Invalid(format!(
            "service kind '{other}': use wmts, wms, xyz, tms or arcgis"
        ))),
    }
}
