//! # jingwei-layers — the layer core of Jingwei 经纬
//!
//! Sources (through GDAL), coordinate reference systems (through PROJ, plus GCJ-02), features
//! with typed attributes, geometry validity, R-tree indexes and the 一张图 catalog. Nothing here
//! knows about screens: no Bevy, no Tauri.
//!
//! The path of a layer: [`Source::open`] → [`Source::read_layer`] (native CRS) →
//! [`Workspace::add_layer`] (validate, reproject into the workspace CRS, index).
#![deny(unsafe_code)]
#![warn(missing_docs)]

// Linked for its trampolines: GDAL and PROJ are loaded at their first call (see its docs).
use jingwei_lazylink as _;

pub mod area;
pub mod boundary_txt;
pub mod btree;
pub mod catalog;
pub mod cityjson;
pub mod crs;
pub mod dem;
pub mod encoding;
pub mod error;
mod ffi;
pub mod fgb;
pub mod gcj02;
pub mod geojson;
pub mod geoms;
pub mod gltf;
pub mod gpkg;
pub mod ifc;
pub mod imagery;
pub mod index;
pub mod job;
pub mod layer;
pub mod ops;
pub mod osgb;
pub mod pointcloud;
pub mod saved;
pub mod source;
pub mod table;
pub mod tiles3d;
pub mod tmerc;
pub mod validity;
pub mod value;
pub mod wkb;
pub mod workspace;
pub mod write;

pub use crs::{Crs, CrsKind, Transformer};
pub use error::{LayersError, Result};
pub use ffi::{LibraryVersions, give_back_freed_memory, library_versions, one_allocator_arena_per_core};
pub use geoms::{GeomRef, Geometries};
pub use index::{Hit, SpatialIndex};
pub use job::{Cancelled, Job};
pub use layer::{FeatureRef, Layer, ValiditySummary};
pub use source::{LayerInfo, OpenOptions, Source};
pub use validity::RepairMode;
pub use value::{Column, FieldDef, FieldKind, Nullable, Texts, Value};
pub use workspace::{ImageryLayer, Workspace, WorkspaceLayer};
