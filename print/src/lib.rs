//! # jingwei-print
//!
//! Printed maps and reports without an engine. A [`template::Template`] (a small TOML file:
//! paper, orientation, scale, title, 制图单位, 制图日期 and the text fields a bureau fills in —
//! 申请方, 用途, …) and a workspace become [`page::Page`]s of drawing items in millimetres
//! ([`sheet`]): the map at the chosen scale ([`map`]: imagery as a picture, every vector layer as
//! vector paths in its style), title, legend, numeric and graphic scale bar, north arrow, CRS
//! label and fields, and tables that flow over as many pages as they need. The same pages are
//! written as a PDF with the bundled CJK font embedded as a subset ([`pdf`]) or as PNG at any
//! dpi ([`raster`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod map;
pub mod page;
pub mod pdf;
pub mod raster;
pub mod sheet;
pub mod template;
pub mod text;

/// What can go wrong while printing.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// A template file that cannot be read or says something impossible: the file and why.
    #[error("{path}: {message}")]
    Template {
        /// The template file (or `template` for one given inline).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A layout that cannot be made (nothing to draw, a map too large for the paper, …).
    #[error("{0}")]
    Layout(String),
    /// Writing the PDF or PNG failed.
    #[error("cannot write the page: {0}")]
    Write(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, PrintError>;
