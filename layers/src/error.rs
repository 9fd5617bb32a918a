//! Typed errors of the layer core. Every error that concerns a file names it.

use std::path::PathBuf;

/// Everything that can go wrong while opening, decoding, reprojecting or querying layers.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // field names (path, detail, ...) speak for themselves
pub enum LayersError {
    /// The path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    /// Reading was cancelled by the caller.
    #[error("{path}: reading cancelled")]
    Cancelled { path: PathBuf },
    /// The path is a directory that is not a dataset (a FileGDB `.gdb` folder is fine).
    #[error("{path}: is a directory, not a GIS file (name the file itself, or a .gdb folder)")]
    IsDirectory { path: PathBuf },
    /// No GDAL vector driver recognises the file.
    #[error("{path}: unknown or unsupported format ({detail})")]
    UnknownFormat { path: PathBuf, detail: String },
    /// A driver recognised the file but could not read it (truncated, corrupt, unreadable).
    #[error("{path}: cannot read: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    /// A shapefile lacks one of its mandatory sidecar files.
    #[error("{path}: shapefile is missing its {missing} file (expected {expected})")]
    ShapefileSidecar {
        path: PathBuf,
        missing: &'static str,
        expected: PathBuf,
    },
    /// The named layer is not in the source.
    #[error("{path}: no layer named '{layer}' (layers: {available})")]
    NoSuchLayer { path: PathBuf, layer: String, available: String },
    /// A text encoding name was not understood, or the text does not decode with it.
    #[error("{path}: text encoding problem: {detail}")]
    Encoding { path: PathBuf, detail: String },
    /// A CRS definition could not be understood by PROJ.
    #[error("unknown CRS '{definition}': {detail}")]
    UnknownCrs { definition: String, detail: String },
    /// The CRS of a layer could not be read or is missing where one is needed.
    #[error("{path}: layer '{layer}' has no coordinate reference system; give one explicitly")]
    MissingCrs { path: PathBuf, layer: String },
    /// PROJ failed to transform coordinates.
    #[error("cannot transform from {from} to {to}: {detail}")]
    Transform { from: String, to: String, detail: String },
    /// A point lies outside the area where the CRSs of a transformation are meant to be used.
    #[error("{point} ({from}) lies outside {area}")]
    OutsideArea { point: String, from: String, area: String },
    /// Invalid user input that is not tied to a file.
    #[error("{0}")]
    Invalid(String),
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LayersError {
    /// An I/O error on `path`: a missing file is [`LayersError::NotFound`], anything else
    /// [`LayersError::Io`].
    pub fn io(path: &std::path::Path, e: std::io::Error) -> LayersError {
        match e.kind() {
            std::io::ErrorKind::NotFound => LayersError::NotFound { path: path.to_owned() },
            _ => LayersError::Io {
                path: path.to_owned(),
                source: e,
            },
        }
    }
}

/// Result alias of the layer core.
pub type Result<T, E = LayersError> = std::result::Result<T, E>;
