//! BIM models in IFC (IFC2X3 and IFC4), read in process: the STEP file ([`step`]), the spatial
//! tree (IfcProject → IfcSite → IfcBuilding → IfcBuildingStorey → elements), each product's
//! body as planar faces ([`geom`]), its property and quantity sets (the type's sets, then the
//! occurrence's over them), and where the model stands on the earth — IfcMapConversion (IFC4),
//! else the site's RefLatitude/RefLongitude/RefElevation and the context's TrueNorth, else a
//! placement the user gives.
//!
//! A model becomes city layers ([`crate::cityjson::CityLayer`]): one per storey (or other
//! container) with a row per element and its surfaces, and the storey's spaces (rooms) in a
//! layer of their own. Openings, annotations and virtual elements are not drawn; a convex
//! opening (the usual box) is cut out of the element it voids, so that its window or door shows.
//!
//! Other schemas (IFC4X3's roads and bridges among them) are refused by name.

pub mod geom;
pub mod step;

use crate::cityjson::{CityLayer, Surfaces};
use crate::crs::{Crs, Transformer};
use crate::error::{LayersError, Result};
use crate::layer::Layer;
use crate::value::{Column, FieldDef, FieldKind};
use geo::{ConvexHull, Geometry, MultiPoint, Point};
use geom::{Face, Geom, P3, Xf};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use step::{Entity, Step, V};

/// The schemas read.
pub const SCHEMAS: [&str; 2] = ["IFC2X3", "IFC4"];

/// A spatial structure element of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Spatial {
    /// Instance id.
    pub id: u32,
    /// IFC GlobalId.
    pub global_id: String,
    /// Class (`IfcBuildingStorey`).
    pub class: String,
    /// Name (else long name, else the class).
    pub name: String,
    /// The storey's elevation in metres, where given.
    pub elevation: Option<f64>,
    /// The parent in the tree (`None` for the project's children).
    pub parent: Option<u32>,
    /// Depth below the project (site 0, building 1, storey 2 in the usual tree).
    pub depth: usize,
}

/// A product (element) of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Instance id.
    pub id: u32,
    /// IFC GlobalId.
    pub global_id: String,
    /// Class (`IfcWallStandardCase`).
    pub class: String,
    /// Name.
    pub name: String,
    /// ObjectType.
    pub object_type: String,
    /// The spatial element holding it (directly, or through the element it is part of).
    pub container: Option<u32>,
    /// Its body as faces, in metres, in the model's own (engineering) frame.
    pub faces: Vec<Face>,
    /// Property and quantity sets: (set name, [(property, value)]).
    pub psets: Vec<(String, Vec<(String, String)>)>,
    /// The colour (RGBA) most of its faces have by the file's styles (IfcStyledItem on its
    /// body's items); `None` where they have none.
    pub colour: Option<[u8; 4]>,
}

/// Where the model stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Georef {
    /// IfcMapConversion into a projected CRS.
    Map {
        /// The target CRS as its name says (`EPSG:4547`).
        crs: String,
        /// Eastings, northings and height of the model's origin.
        origin: P3,
        /// The model's x axis in the map (abscissa, ordinate; unit length).
        x_axis: [f64; 2],
        /// Metres of the model to map units.
        scale: f64,
    },
    /// IfcSite's reference point.
    Site {
        /// Latitude, degrees.
        lat: f64,
        /// Longitude, degrees.
        lon: f64,
        /// Elevation, metres.
        elevation: f64,
        /// Clockwise angle from true north to the model's +y axis, degrees.
        heading_deg: f64,
    },
    /// Nothing in the file.
    None,
}

/// A model read from a file.
#[derive(Debug, Clone)]
pub struct Model {
    /// Schema (`IFC4`).
    pub schema: String,
    /// The project's name.
    pub project: String,
    /// Metres per length unit of the file.
    pub length_unit: f64,
    /// The spatial tree, depth first.
    pub spatial: Vec<Spatial>,
    /// The products, in file order.
    pub products: Vec<Product>,
    /// Where the model stands.
    pub georef: Georef,
    /// Geometry not drawn: item type and count.
    pub skipped: BTreeMap<String, usize>,
}

fn corrupt(path: &Path, detail: impl Into<String>) -> LayersError {
    LayersError::Corrupt {
        path: path.to_owned(),
        detail: detail.into(),
    }
}

/// Whether a file is an IFC file (by extension, or by its first bytes and schema).
pub fn is_ifc(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("ifc"))
}

/// Read a file.
pub fn read(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LayersError::NotFound { path: path.to_owned() },
        _ => LayersError::Io {
            path: path.to_owned(),
            source: e,
        },
    })?;
    parse(path, &bytes)
}

/// Parse a file's bytes (`path` names it in errors).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Model> {
    if bytes.starts_with(b"PK") {
        return Err(LayersError::UnknownFormat {
            path: path.to_owned(),
            detail: "a zipped IFC (.ifczip); unzip it and open the .ifc".into(),
        });
    }
    let step = step::parse(bytes).map_err(|e| corrupt(path, e))?;
    let schema = step.schemas.first().cloned().unwrap_or_default();
    if !SCHEMAS.contains(&schema.as_str()) {
        return Err(LayersError::UnknownFormat {
            path: path.to_owned(),
            detail: format!(
                "IFC schema {} is not supported (this version reads {})",
                if schema.is_empty() { "(none named)" } else { &schema },
                SCHEMAS.join(" and ")
            ),
        });
    }
    let project_id = *step.of_type("IFCPROJECT").first().ok_or_else(|| corrupt(path, "no IfcProject"))?;
    let project = step.get(project_id).expect("listed");
    let (length_unit, angle_unit) = units(&step, project);

    // Relations.
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let mut contained_in: HashMap<u32, u32> = HashMap::new();
    let mut defined_by: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut typed_by: HashMap<u32, u32> = HashMap::new();
    let mut voided_by: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut ids: Vec<&u32> = step.entities.keys().collect();
    ids.sort_unstable();
    for id in &ids {
        let e = &step.entities[id];
        match e.ty.as_str() {
            "IFCRELAGGREGATES" => {
                if let Some(whole) = e.arg(4).id() {
                    for part in e.arg(5).list().iter().filter_map(V::id) {
                        children.entry(whole).or_default().push(part);
                        parent.insert(part, whole);
                    }
                }
            }
            // An opening belongs where the element it voids does.
            "IFCRELVOIDSELEMENT" => {
                if let (Some(el), Some(op)) = (e.arg(4).id(), e.arg(5).id()) {
                    parent.entry(op).or_insert(el);
                    voided_by.entry(el).or_default().push(op);
                }
            }
            "IFCRELCONTAINEDINSPATIALSTRUCTURE" => {
                if let Some(s) = e.arg(5).id() {
                    for el in e.arg(4).list().iter().filter_map(V::id) {
                        contained_in.entry(el).or_insert(s);
                    }
                }
            }
            "IFCRELDEFINESBYPROPERTIES" => {
                if let Some(def) = e.arg(5).id() {
                    for o in e.arg(4).list().iter().filter_map(V::id) {
                        defined_by.entry(o).or_default().push(def);
                    }
                }
            }
            "IFCRELDEFINESBYTYPE" => {
                if let Some(t) = e.arg(5).id() {
                    for o in e.arg(4).list().iter().filter_map(V::id) {
                        typed_by.insert(o, t);
                    }
                }
            }
            _ => {}
        }
    }

    // The spatial tree, from the project down its aggregations.
    let mut spatial = Vec::new();
    let mut stack: Vec<(u32, Option<u32>, usize)> = children
        .get(&project_id)
        .map(|c| c.iter().rev().map(|c| (*c, None, 0)).collect())
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    while let Some((id, up, depth)) = stack.pop() {
        let Some(e) = step.get(id) else { continue };
        if !is_spatial(&e.ty) || !seen.insert(id) {
            continue;
        }
        let name = e.arg(2).text().or(e.arg(7).text()).filter(|s| !s.is_empty()).map(str::to_owned);
        spatial.push(Spatial {
            id,
            global_id: e.arg(0).text().unwrap_or("").to_owned(),
            class: class_name(&e.ty),
            name: name.unwrap_or_else(|| class_name(&e.ty)),
            elevation: (e.ty == "IFCBUILDINGSTOREY")
                .then(|| e.arg(9).num().map(|z| z * length_unit))
                .flatten(),
            parent: up,
            depth,
        });
        if let Some(c) = children.get(&id) {
            stack.extend(c.iter().rev().map(|c| (*c, Some(id), depth + 1)));
        }
    }

    // Products: everything placed that is not a spatial element.
    let mut g = Geom::new(&step, length_unit, angle_unit);
    let mut products = Vec::new();
    for id in &ids {
        let e = &step.entities[id];
        if (is_spatial(&e.ty) && e.ty != "IFCSPACE") || e.args.len() < 7 || !placed(&step, e) {
            continue;
        }
        // The container: direct, else that of the whole this is a part of.
        let mut container = None;
        let mut cur = **id;
        for _ in 0..64 {
            if let Some(s) = contained_in.get(&cur) {
                container = Some(*s);
                break;
            }
            match parent.get(&cur) {
                Some(p) if step.get(*p).is_some_and(|p| is_spatial(&p.ty)) => {
                    container = Some(*p);
                    break;
                }
                Some(p) => cur = *p,
                None => break,
            }
        }
        let xf = match step.deref(e.arg(5)) {
            Some(p) if p.ty == "IFCLOCALPLACEMENT" => g.local_placement(e.arg(5)),
            Some(p) => {
                g.skipped
                    .entry(format!("{} (placement)", p.ty))
                    .and_modify(|n| *n += 1)
                    .or_insert(1);
                Xf::ID
            }
            None => Xf::ID,
        };
        let mut faces = Vec::new();
        g.product(e.arg(6), &xf, &mut faces);
        let colour = g.take_colour();
        // Openings cut out of the element (windows and doors then show through the wall).
        for op in voided_by.get(id).into_iter().flatten() {
            let Some(o) = step.get(*op) else { continue };
            let at = g.local_placement(o.arg(5));
            // (An opening's faces do not count toward any colour: `opening_items` leaves the
            // tally as it was.)
            let items = g.opening_items(o.arg(6), &at);
            for hole in items.into_iter().filter(|h| !h.is_empty()) {
                if faces.is_empty() {
                    break;
                }
                match geom::subtract_convex(std::mem::take(&mut faces), &hole) {
                    Ok(cut) => faces = cut,
                    Err(kept) => {
                        faces = kept;
                        *g.skipped
                            .entry("IFCOPENINGELEMENT (not convex, or its element not closed)".into())
                            .or_default() += 1;
                    }
                }
            }
        }
        for f in &mut faces {
            for r in f {
                for p in r {
                    *p = [p[0] * length_unit, p[1] * length_unit, p[2] * length_unit];
                }
            }
        }
        let mut psets = typed_by
            .get(id)
            .and_then(|t| step.get(*t))
            .map(|t| {
                t.arg(5)
                    .list()
                    .iter()
                    .filter_map(|d| d.id())
                    .filter_map(|d| pset(&step, d))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for d in defined_by.get(id).into_iter().flatten() {
            if let Some((name, props)) = pset(&step, *d) {
                match psets.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, have)) => {
                        for (k, v) in props {
                            match have.iter_mut().find(|(h, _)| *h == k) {
                                Some(slot) => slot.1 = v,
                                None => have.push((k, v)),
                            }
                        }
                    }
                    None => psets.push((name, props)),
                }
            }
        }
        products.push(Product {
            id: **id,
            global_id: e.arg(0).text().unwrap_or("").to_owned(),
            class: class_name(&e.ty),
            name: e.arg(2).text().unwrap_or("").to_owned(),
            object_type: e.arg(4).text().unwrap_or("").to_owned(),
            container,
            faces,
            psets,
            colour,
        });
    }
    let skipped = std::mem::take(&mut g.skipped);
    let georef = georef(&step, project, length_unit);
    Ok(Model {
        schema,
        project: project.arg(2).text().or(project.arg(5).text()).unwrap_or("").to_owned(),
        length_unit,
        spatial,
        products,
        georef,
        skipped,
    })
}

fn is_spatial(ty: &str) -> bool {
    matches!(
        ty,
        "IFCSITE" | "IFCBUILDING" | "IFCBUILDINGSTOREY" | "IFCSPACE" | "IFCSPATIALZONE" | "IFCEXTERNALSPATIALELEMENT"
    )
}

fn placed(step: &Step, e: &Entity) -> bool {
    step.deref(e.arg(5))
        .is_some_and(|p| matches!(p.ty.as_str(), "IFCLOCALPLACEMENT" | "IFCGRIDPLACEMENT"))
        && (matches!(e.arg(6), V::Null) || step.deref(e.arg(6)).is_some_and(|r| r.ty == "IFCPRODUCTDEFINITIONSHAPE"))
}

/// The project's length unit in metres and plane angle unit in radians.
fn units(step: &Step, project: &Entity) -> (f64, f64) {
    let si = |e: &Entity| -> f64 {
        match e.arg(2).enumeration() {
            Some("EXA") => 1e18,
            Some("PETA") => 1e15,
            Some("TERA") => 1e12,
            Some("GIGA") => 1e9,
            Some("MEGA") => 1e6,
            Some("KILO") => 1e3,
            Some("HECTO") => 1e2,
            Some("DECA") => 1e1,
            Some("DECI") => 1e-1,
            Some("CENTI") => 1e-2,
            Some("MILLI") => 1e-3,
            Some("MICRO") => 1e-6,
            Some("NANO") => 1e-9,
            _ => 1.0,
        }
    };
    let (mut length, mut angle) = (1.0, 1.0);
    let Some(assign) = step.deref(project.arg(8)) else {
        return (length, angle);
    };
    for u in assign.arg(0).list().iter().filter_map(|u| step.deref(u)) {
        let kind = match u.ty.as_str() {
            "IFCSIUNIT" => u.arg(1).enumeration(),
            "IFCCONVERSIONBASEDUNIT" | "IFCCONVERSIONBASEDUNITWITHOFFSET" => u.arg(1).enumeration(),
            _ => None,
        };
        let factor = match u.ty.as_str() {
            "IFCSIUNIT" => si(u),
            _ => step
                .deref(u.arg(3))
                .map(|m| {
                    let base = step.deref(m.arg(1)).filter(|b| b.ty == "IFCSIUNIT").map_or(1.0, si);
                    m.arg(0).num().unwrap_or(1.0) * base
                })
                .unwrap_or(1.0),
        };
        match kind {
            Some("LENGTHUNIT") => length = factor,
            Some("PLANEANGLEUNIT") => angle = factor,
            _ => {}
        }
    }
    (length, angle)
}

/// A property or quantity set with its values as text.
fn pset(step: &Step, id: u32) -> Option<(String, Vec<(String, String)>)> {
    let e = step.get(id)?;
    let name = e.arg(2).text().unwrap_or("").to_owned();
    let items = match e.ty.as_str() {
        "IFCPROPERTYSET" => e.arg(4).list(),
        "IFCELEMENTQUANTITY" => e.arg(5).list(),
        ty => {
            // Predefined property sets: their attributes after the four of IfcRoot, where given.
            let names: &[&str] = match ty {
                "IFCWINDOWLININGPROPERTIES" => &[
                    "LiningDepth",
                    "LiningThickness",
                    "TransomThickness",
                    "MullionThickness",
                    "FirstTransomOffset",
                    "SecondTransomOffset",
                    "FirstMullionOffset",
                    "SecondMullionOffset",
                    "ShapeAspectStyle",
                    "LiningOffset",
                    "LiningToPanelOffsetX",
                    "LiningToPanelOffsetY",
                ],
                "IFCWINDOWPANELPROPERTIES" => &["OperationType", "PanelPosition", "FrameDepth", "FrameThickness", "ShapeAspectStyle"],
                "IFCDOORLININGPROPERTIES" => &[
                    "LiningDepth",
                    "LiningThickness",
                    "ThresholdDepth",
                    "ThresholdThickness",
                    "TransomThickness",
                    "TransomOffset",
                    "LiningOffset",
                    "ThresholdOffset",
                    "CasingThickness",
                    "CasingDepth",
                    "ShapeAspectStyle",
                    "LiningToPanelOffsetX",
                    "LiningToPanelOffsetY",
                ],
                "IFCDOORPANELPROPERTIES" => &["PanelDepth", "PanelOperation", "PanelWidth", "PanelPosition", "ShapeAspectStyle"],
                _ => return None,
            };
            let props = names
                .iter()
                .enumerate()
                .filter(|(i, _)| !matches!(e.arg(4 + i), V::Null | V::Ref(_)))
                .map(|(i, n)| ((*n).to_owned(), e.arg(4 + i).display().unwrap_or_default()))
                .collect();
            return Some((name, props));
        }
    };
    let mut props = Vec::new();
    for p in items.iter().filter_map(|p| step.deref(p)) {
        let Some(pname) = p.arg(0).text() else { continue };
        let value = match p.ty.as_str() {
            "IFCPROPERTYSINGLEVALUE" | "IFCPROPERTYENUMERATEDVALUE" | "IFCPROPERTYLISTVALUE" => p.arg(2).display(),
            "IFCPROPERTYBOUNDEDVALUE" => match (p.arg(3).display(), p.arg(2).display()) {
                (Some(lo), Some(hi)) => Some(format!("{lo} – {hi}")),
                (a, b) => a.or(b),
            },
            "IFCPROPERTYREFERENCEVALUE" => None,
            t if t.starts_with("IFCQUANTITY") => p.arg(3).display(),
            _ => None,
        };
        props.push((pname.to_owned(), value.unwrap_or_default()));
    }
    Some((name, props))
}

fn georef(step: &Step, project: &Entity, length_unit: f64) -> Georef {
    if let Some(id) = step.of_type("IFCMAPCONVERSION").first() {
        let m = step.get(*id).expect("listed");
        if let Some(crs) = step.deref(m.arg(1)).and_then(|c| c.arg(0).text()) {
            let (a, b) = (m.arg(5).num().unwrap_or(1.0), m.arg(6).num().unwrap_or(0.0));
            let l = (a * a + b * b).sqrt();
            let given = m.arg(7).num().filter(|s| *s > 0.0 && (s - 1.0).abs() > 1e-12);
            return Georef::Map {
                crs: crs.to_owned(),
                origin: [
                    m.arg(2).num().unwrap_or(0.0),
                    m.arg(3).num().unwrap_or(0.0),
                    m.arg(4).num().unwrap_or(0.0),
                ],
                x_axis: if l > 0.0 { [a / l, b / l] } else { [1.0, 0.0] },
                // A scale is from the file's units to the map's; our faces are in metres.
                scale: given.map_or(1.0, |s| s / length_unit),
            };
        }
    }
    // The model's north: the 3D context's TrueNorth (its x, y in the model frame).
    let heading_deg = project
        .arg(7)
        .list()
        .iter()
        .filter_map(|c| step.deref(c))
        .find(|c| c.ty == "IFCGEOMETRICREPRESENTATIONCONTEXT")
        .and_then(|c| step.deref(c.arg(5)))
        .map(|d| {
            let v: Vec<f64> = d.arg(0).list().iter().filter_map(V::num).collect();
            // True north at angle θ anticlockwise of +y means +y is θ clockwise of north.
            let (x, y) = (v.first().copied().unwrap_or(0.0), v.get(1).copied().unwrap_or(1.0));
            (-x).atan2(y).to_degrees()
        })
        .unwrap_or(0.0);
    for id in step.of_type("IFCSITE") {
        let s = step.get(id).expect("listed");
        let compound = |v: &V| -> Option<f64> {
            let c: Vec<f64> = v.list().iter().filter_map(V::num).collect();
            if c.len() < 3 {
                return None;
            }
            Some(c[0] + c[1] / 60.0 + (c[2] + c.get(3).copied().unwrap_or(0.0) / 1e6) / 3600.0)
        };
        if let (Some(lat), Some(lon)) = (compound(s.arg(9)), compound(s.arg(10)))
            && (lat.abs() > 1e-9 || lon.abs() > 1e-9)
        {
            return Georef::Site {
                lat,
                lon,
                elevation: s.arg(11).num().unwrap_or(0.0) * length_unit,
                heading_deg,
            };
        }
    }
    Georef::None
}

/// `IFCWALLSTANDARDCASE` → `IfcWallStandardCase` for the classes met in buildings; others
/// capitalised once (`IfcFoo`).
pub fn class_name(upper: &str) -> String {
    const KNOWN: &[&str] = &[
        "IfcProject",
        "IfcSite",
        "IfcBuilding",
        "IfcBuildingStorey",
        "IfcSpace",
        "IfcSpatialZone",
        "IfcExternalSpatialElement",
        "IfcWall",
        "IfcWallStandardCase",
        "IfcWallElementedCase",
        "IfcCurtainWall",
        "IfcSlab",
        "IfcSlabStandardCase",
        "IfcSlabElementedCase",
        "IfcRoof",
        "IfcBeam",
        "IfcBeamStandardCase",
        "IfcColumn",
        "IfcColumnStandardCase",
        "IfcMember",
        "IfcMemberStandardCase",
        "IfcPlate",
        "IfcPlateStandardCase",
        "IfcDoor",
        "IfcDoorStandardCase",
        "IfcWindow",
        "IfcWindowStandardCase",
        "IfcStair",
        "IfcStairFlight",
        "IfcRamp",
        "IfcRampFlight",
        "IfcRailing",
        "IfcCovering",
        "IfcFooting",
        "IfcPile",
        "IfcChimney",
        "IfcShadingDevice",
        "IfcBuildingElementProxy",
        "IfcBuildingElementPart",
        "IfcElementAssembly",
        "IfcFurnishingElement",
        "IfcFurniture",
        "IfcSystemFurnitureElement",
        "IfcOpeningElement",
        "IfcOpeningStandardCase",
        "IfcAnnotation",
        "IfcVirtualElement",
        "IfcGrid",
        "IfcProxy",
        "IfcTransportElement",
        "IfcFlowTerminal",
        "IfcFlowSegment",
        "IfcFlowFitting",
        "IfcFlowController",
        "IfcFlowMovingDevice",
        "IfcFlowStorageDevice",
        "IfcFlowTreatmentDevice",
        "IfcEnergyConversionDevice",
        "IfcDistributionElement",
        "IfcDistributionControlElement",
        "IfcDistributionFlowElement",
        "IfcDistributionChamberElement",
        "IfcSanitaryTerminal",
        "IfcLightFixture",
        "IfcLamp",
        "IfcDuctSegment",
        "IfcDuctFitting",
        "IfcPipeSegment",
        "IfcPipeFitting",
        "IfcCableCarrierSegment",
        "IfcCableSegment",
        "IfcAirTerminal",
        "IfcValve",
        "IfcPump",
        "IfcTank",
        "IfcBoiler",
        "IfcElectricAppliance",
        "IfcOutlet",
        "IfcSwitchingDevice",
        "IfcSensor",
        "IfcAlarm",
        "IfcFireSuppressionTerminal",
        "IfcReinforcingBar",
        "IfcReinforcingMesh",
        "IfcTendon",
        "IfcDiscreteAccessory",
        "IfcMechanicalFastener",
        "IfcFastener",
        "IfcCivilElement",
        "IfcElectricDistributionPoint",
        "IfcDistributionPort",
        "IfcDistributionBoard",
        "IfcFlowInstrument",
        "IfcProtectiveDevice",
        "IfcUnitaryEquipment",
        "IfcCommunicationsAppliance",
        "IfcMedicalDevice",
        "IfcElectricFlowStorageDevice",
        "IfcSolarDevice",
        "IfcStackTerminal",
        "IfcWasteTerminal",
        "IfcSpaceHeater",
        "IfcCableFitting",
        "IfcCableCarrierFitting",
        "IfcJunctionBox",
        "IfcController",
        "IfcActuator",
        "IfcDamper",
        "IfcFan",
        "IfcCompressor",
        "IfcChiller",
        "IfcCoil",
        "IfcCooledBeam",
        "IfcCoolingTower",
        "IfcHeatExchanger",
        "IfcHumidifier",
        "IfcFilter",
        "IfcInterceptor",
        "IfcBurner",
        "IfcEngine",
        "IfcMotorConnection",
        "IfcTransformer",
        "IfcElectricGenerator",
        "IfcElectricMotor",
        "IfcElectricTimeControl",
        "IfcEvaporativeCooler",
        "IfcEvaporator",
        "IfcCondenser",
        "IfcAirToAirHeatRecovery",
        "IfcAudioVisualAppliance",
        "IfcFlowMeter",
        "IfcDuctSilencer",
        "IfcGeographicElement",
        "IfcEquipmentElement",
        "IfcElectricalElement",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(upper))
        .map(|k| (*k).to_owned())
        .unwrap_or_else(|| {
            let rest = upper.strip_prefix("IFC").unwrap_or(upper).to_ascii_lowercase();
            let mut c = rest.chars();
            format!("Ifc{}{}", c.next().map(|c| c.to_ascii_uppercase()).unwrap_or_default(), c.as_str())
        })
}

/// A class's colour where the file styles none: light walls, glass, timber doors, tiled roofs.
pub fn class_colour(class: &str) -> [u8; 4] {
    let c = class.strip_suffix("StandardCase").unwrap_or(class);
    match c {
        "IfcWall" | "IfcWallElementedCase" | "IfcCurtainWall" => [226, 222, 214, 255],
        "IfcWindow" | "IfcPlate" => [150, 196, 230, 150],
        "IfcDoor" => [156, 110, 66, 255],
        "IfcRoof" => [170, 74, 56, 255],
        "IfcSlab" | "IfcCovering" => [180, 178, 170, 255],
        "IfcBeam" | "IfcColumn" | "IfcMember" | "IfcFooting" | "IfcPile" => [160, 160, 165, 255],
        "IfcStair" | "IfcStairFlight" | "IfcRamp" | "IfcRampFlight" => [196, 186, 168, 255],
        "IfcRailing" => [90, 90, 96, 255],
        "IfcSpace" => [120, 170, 220, 60],
        "IfcFurnishingElement" | "IfcFurniture" => [176, 140, 100, 255],
        _ if c.starts_with("IfcFlow") || c.starts_with("IfcDistribution") || c.ends_with("Segment") || c.ends_with("Fitting") => {
            [80, 150, 120, 255]
        }
        _ => [200, 196, 188, 255],
    }
}

/// Classes that are drawn in no layer.
const NOT_DRAWN: [&str; 4] = ["IfcOpeningElement", "IfcOpeningStandardCase", "IfcAnnotation", "IfcVirtualElement"];

/// How a model is put on the earth: from the file, or where the user says.
pub struct Placed {
    /// Longitude and latitude of the model's origin (CGCS2000).
    pub lonlat: (f64, f64),
    /// Model (x, y, z metres) to workspace coordinates.
    to_ws: Box<dyn Fn(P3) -> Result<P3>>,
}

impl Placed {
    /// Workspace coordinates of a model point.
    pub fn apply(&self, p: P3) -> Result<P3> {
        (self.to_ws)(p)
    }
}

impl Model {
    /// How the model goes into `crs`: its own georeference, unless `at` overrides it (or the
    /// file has none, when `at` is needed; without either the model stands at 0° E 0° N).
    pub fn placement(&self, at: Option<&crate::gltf::Placement>, crs: &Crs) -> Result<Placed> {
        let lonlat_crs = Crs::cgcs2000()?;
        let local = |lon: f64, lat: f64, h: f64, heading_deg: f64, scale: f64| -> Result<Placed> {
            // Model metres east/north of the point, through the projection's local derivatives
            // (its convergence and scale), measured over 100 m either way.
            let to = Transformer::new(&lonlat_crs, crs)?;
            let (ox, oy) = to.transform(lon, lat)?;
            let r = 6_378_137.0_f64;
            let dlat = (100.0 / r).to_degrees();
            let dlon = dlat / lat.to_radians().cos();
            let (ex, ey) = to.transform(lon + dlon, lat)?;
            let (wx, wy) = to.transform(lon - dlon, lat)?;
            let (nx, ny) = to.transform(lon, lat + dlat)?;
            let (sx, sy) = to.transform(lon, lat - dlat)?;
            let de = [(ex - wx) / 200.0, (ey - wy) / 200.0];
            let dn = [(nx - sx) / 200.0, (ny - sy) / 200.0];
            let (s, c) = heading_deg.to_radians().sin_cos();
            Ok(Placed {
                lonlat: (lon, lat),
                to_ws: Box::new(move |p: P3| {
                    let (x, y) = (p[0] * scale, p[1] * scale);
                    // +y is `heading` clockwise of north; +x is 90° further round.
                    let (e, n) = (x * c + y * s, -x * s + y * c);
                    Ok([ox + e * de[0] + n * dn[0], oy + e * de[1] + n * dn[1], h + p[2] * scale])
                }),
            })
        };
        if let Some(at) = at {
            return local(at.lon, at.lat, at.height_m, at.heading_deg, at.scale);
        }
        match &self.georef {
            Georef::Map {
                crs: name,
                origin,
                x_axis,
                scale,
            } => {
                let from = Crs::parse(name)?;
                let t = Transformer::new(&from, crs)?;
                let (lon, lat) = Transformer::new(&from, &lonlat_crs)?.transform(origin[0], origin[1])?;
                let (origin, a, b, s) = (*origin, x_axis[0], x_axis[1], *scale);
                Ok(Placed {
                    lonlat: (lon, lat),
                    to_ws: Box::new(move |p: P3| {
                        let e = origin[0] + s * (a * p[0] - b * p[1]);
                        let n = origin[1] + s * (b * p[0] + a * p[1]);
                        let (x, y) = t.transform(e, n)?;
                        Ok([x, y, origin[2] + p[2]])
                    }),
                })
            }
            Georef::Site {
                lat,
                lon,
                elevation,
                heading_deg,
            } => local(*lon, *lat, *elevation, *heading_deg, 1.0),
            Georef::None => local(0.0, 0.0, 0.0, 0.0, 1.0),
        }
    }

    /// The spatial element whose layer a container's elements go in: a space's storey (or
    /// whatever holds the space), else the container itself.
    fn layer_of(&self, container: u32) -> u32 {
        let mut cur = container;
        for _ in 0..16 {
            match self.spatial.iter().find(|s| s.id == cur) {
                Some(s) if s.class == "IfcSpace" || s.class == "IfcSpatialZone" => match s.parent {
                    Some(p) => cur = p,
                    None => return cur,
                },
                _ => return cur,
            }
        }
        cur
    }

    /// The model as city layers in `crs`: per container (storey) its elements, then its spaces;
    /// in the tree's order. Every layer stands on the model's lowest point.
    pub fn layers(&self, path: &Path, placed: &Placed, crs: &Crs) -> Result<Vec<CityLayer>> {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        // Group rows: (container for the layer, spaces?) → product indices.
        let mut groups: BTreeMap<(usize, bool), Vec<usize>> = BTreeMap::new();
        let order = |id: Option<u32>| -> usize { id.and_then(|id| self.spatial.iter().position(|s| s.id == id)).unwrap_or(usize::MAX) };
        for (i, p) in self.products.iter().enumerate() {
            if p.faces.is_empty() || NOT_DRAWN.contains(&p.class.as_str()) {
                continue;
            }
            let holder = p.container.map(|c| self.layer_of(c));
            groups.entry((order(holder), p.class == "IfcSpace")).or_default().push(i);
        }
        let mut world: Vec<Vec<Vec<Vec<P3>>>> = vec![Vec::new(); self.products.len()];
        let mut base = f64::INFINITY;
        for idx in groups.values().flatten() {
            let p = &self.products[*idx];
            let mut faces = Vec::with_capacity(p.faces.len());
            for f in &p.faces {
                let mut face = Vec::with_capacity(f.len());
                for r in f {
                    let ring = r.iter().map(|q| placed.apply(*q)).collect::<Result<Vec<P3>>>()?;
                    base = ring.iter().fold(base, |b, q| b.min(q[2]));
                    face.push(ring);
                }
                faces.push(face);
            }
            world[*idx] = faces;
        }
        let mut out = Vec::new();
        for ((pos, spaces), rows) in groups {
            let place_name = self.spatial.get(pos).map_or_else(|| "—".to_owned(), |s| s.name.clone());
            let storey = place_name.clone();
            let name = if spaces {
                format!("{stem} › {place_name} › IfcSpace")
            } else {
                format!("{stem} › {place_name}")
            };
            let mut fields: Vec<(String, Vec<Option<String>>)> = vec![
                (
                    "ifc_class".into(),
                    rows.iter().map(|i| Some(self.products[*i].class.clone())).collect(),
                ),
                (
                    "GlobalId".into(),
                    rows.iter().map(|i| Some(self.products[*i].global_id.clone())).collect(),
                ),
                (
                    "Name".into(),
                    rows.iter()
                        .map(|i| Some(self.products[*i].name.clone()).filter(|s| !s.is_empty()))
                        .collect(),
                ),
                (
                    "ObjectType".into(),
                    rows.iter()
                        .map(|i| Some(self.products[*i].object_type.clone()).filter(|s| !s.is_empty()))
                        .collect(),
                ),
                ("storey".into(), rows.iter().map(|_| Some(storey.clone())).collect()),
                (
                    "colour".into(),
                    rows.iter()
                        .map(|i| {
                            let p = &self.products[*i];
                            let [r, g, b, a] = p.colour.unwrap_or_else(|| class_colour(&p.class));
                            Some(format!("#{r:02x}{g:02x}{b:02x}{a:02x}"))
                        })
                        .collect(),
                ),
            ];
            // One column per property, named `set.property`, in the order first met; names that
            // differ only in case share a column (GeoPackage's columns are case-blind).
            let mut names: Vec<String> = Vec::new();
            let mut index: HashMap<String, usize> = HashMap::new();
            for i in &rows {
                for (set, props) in &self.products[*i].psets {
                    for (k, _) in props {
                        let col = format!("{set}.{k}");
                        let key = col.to_lowercase();
                        if !index.contains_key(&key)
                            && !["ifc_class", "globalid", "name", "objecttype", "storey", "colour"].contains(&key.as_str())
                        {
                            index.insert(key, names.len());
                            names.push(col);
                        }
                    }
                }
            }
            let mut values: Vec<Vec<Option<String>>> = vec![vec![None; rows.len()]; names.len()];
            for (r, i) in rows.iter().enumerate() {
                for (set, props) in &self.products[*i].psets {
                    for (k, v) in props {
                        if let Some(c) = index.get(&format!("{set}.{k}").to_lowercase()) {
                            values[*c][r] = Some(v.clone()).filter(|v| !v.is_empty());
                        }
                    }
                }
            }
            fields.extend(names.into_iter().zip(values));
            let mut defs = Vec::new();
            let mut columns = Vec::new();
            for (name, vals) in fields {
                let numeric = vals.iter().any(Option::is_some) && vals.iter().flatten().all(|v| v.parse::<f64>().is_ok());
                defs.push(FieldDef {
                    name,
                    alias: String::new(),
                    kind: if numeric { FieldKind::Real } else { FieldKind::Text },
                });
                columns.push(if numeric {
                    Column::Real(vals.iter().map(|v| v.as_ref().and_then(|v| v.parse().ok())).collect())
                } else {
                    Column::Text(vals.into_iter().collect())
                });
            }
            let geometries = rows
                .iter()
                .map(|i| {
                    let pts: MultiPoint = world[*i].iter().flatten().flatten().map(|p| Point::new(p[0], p[1])).collect();
                    Some(Geometry::Polygon(pts.convex_hull()))
                })
                .collect();
            let n = rows.len();
            let surfaces = Surfaces {
                rows: rows.iter().map(|i| std::mem::take(&mut world[*i])).collect(),
                base_z: base.is_finite().then_some(base),
            };
            out.push(CityLayer {
                layer: Layer {
                    name,
                    source_path: path.to_owned(),
                    driver: "IFC".into(),
                    geometry_type: "Polygon".into(),
                    crs: Some(crs.clone()),
                    fields: defs,
                    columns,
                    fids: (1..=n as i64).collect(),
                    geometries,
                    encoding: None,
                    issues: Vec::new(),
                },
                surfaces: Arc::new(surfaces),
            });
        }
        Ok(out)
    }
}
