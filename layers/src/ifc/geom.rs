//! IFC geometry as planar faces: placements, extrusions of profiles, faceted B-reps, surface
//! models, IFC4's tessellated face sets, mapped items, and Boolean clipping by half-spaces (the
//! cut closed by a cap). Coordinates stay in the file's length unit; the caller scales.
//!
//! What is not drawn is named: an item of another kind adds its type to [`Geom::skipped`].

use super::step::{Entity, Step, V};
use std::collections::BTreeMap;

/// A point.
pub type P3 = [f64; 3];
/// A planar face: its outer ring, then its holes (no closing repeat).
pub type Face = Vec<Vec<P3>>;

/// An affine transform: the images of the x, y and z axes, and the translation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Xf {
    /// Columns: the images of x, y, z.
    pub m: [P3; 3],
    /// Translation.
    pub t: P3,
}

impl Xf {
    /// The identity.
    pub const ID: Xf = Xf {
        m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        t: [0.0; 3],
    };

    /// Transform a point.
    pub fn apply(&self, p: P3) -> P3 {
        let d = self.dir(p);
        [d[0] + self.t[0], d[1] + self.t[1], d[2] + self.t[2]]
    }

    /// Transform a direction (no translation).
    pub fn dir(&self, p: P3) -> P3 {
        let m = &self.m;
        [
            m[0][0] * p[0] + m[1][0] * p[1] + m[2][0] * p[2],
            m[0][1] * p[0] + m[1][1] * p[1] + m[2][1] * p[2],
            m[0][2] * p[0] + m[1][2] * p[1] + m[2][2] * p[2],
        ]
    }

    /// `self ∘ o`: first `o`, then `self`.
    pub fn then(&self, o: &Xf) -> Xf {
        Xf {
            m: [self.dir(o.m[0]), self.dir(o.m[1]), self.dir(o.m[2])],
            t: self.apply(o.t),
        }
    }

    fn det(&self) -> f64 {
        dot(self.m[0], cross(self.m[1], self.m[2]))
    }
}

fn sub(a: P3, b: P3) -> P3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: P3, b: P3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: P3, b: P3) -> P3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
fn scale(a: P3, s: f64) -> P3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn norm(a: P3) -> Option<P3> {
    let l = dot(a, a).sqrt();
    (l > 1e-12 && l.is_finite()).then(|| scale(a, 1.0 / l))
}

/// The geometry reader of one file.
pub struct Geom<'a> {
    step: &'a Step,
    /// Plane angle unit in radians (for trimming parameters).
    pub angle: f64,
    /// Length unit in metres (to size circles' segments).
    pub length: f64,
    /// Item types met and not drawn, with how many times.
    pub skipped: BTreeMap<String, usize>,
    /// Surface colours of styled representation items (IfcStyledItem), by item id: RGBA.
    styles: std::collections::HashMap<u32, [u8; 4]>,
    /// The current product's faces by colour (a styled item's, or none).
    pub tally: Vec<(Option<[u8; 4]>, usize)>,
    /// IFC4's colours face by face of tessellated face sets (IfcIndexedColourMap), by face set.
    face_colours: std::collections::HashMap<u32, Vec<[u8; 4]>>,
    /// Set while reading an opening: an extrusion of a profile that is not convex then comes as
    /// one convex prism per piece of its profile, into `pieces` (a convex hole is cut exactly).
    split: bool,
    pieces: Vec<Vec<Face>>,
    /// Profiles and curves being read inside one another (derived profiles, composite curves):
    /// a file whose references go round in a circle stops at `MAX_NESTING`.
    nesting: usize,
    /// Items read for the current product: a Boolean tree whose operands share their operands
    /// doubles at every level, so the reading stops at `MAX_ITEMS`.
    items_read: usize,
}

/// How deep profiles and curves may nest.
const MAX_NESTING: usize = 32;
/// How many representation items one product may take to read.
const MAX_ITEMS: usize = 100_000;

impl<'a> Geom<'a> {
    /// A reader with the file's units.
    pub fn new(step: &'a Step, length: f64, angle: f64) -> Self {
        let mut styles = std::collections::HashMap::new();
        for id in step.of_type("IFCSTYLEDITEM") {
            let e = step.get(id).expect("listed");
            let (Some(item), Some(c)) = (e.arg(0).id(), surface_colour(step, e.arg(1))) else {
                continue;
            };
            styles.insert(item, c);
        }
        // IfcIndexedColourMap(MappedTo, Opacity, Colours: IfcColourRgbList, ColourIndex): a
        // colour (1-based into the list) for each face of the face set, in its order.
        let mut face_colours = std::collections::HashMap::new();
        for id in step.of_type("IFCINDEXEDCOLOURMAP") {
            let e = step.get(id).expect("listed");
            let Some(set) = e.arg(0).id() else { continue };
            let channel = |v: f64| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            let alpha = channel(e.arg(1).num().unwrap_or(1.0));
            let list: Vec<[u8; 4]> = step
                .deref(e.arg(2))
                .map(|l| {
                    l.arg(0)
                        .list()
                        .iter()
                        .map(|c| {
                            let c: Vec<f64> = c.list().iter().filter_map(V::num).collect();
                            let at = |k: usize| channel(c.get(k).copied().unwrap_or(0.0));
                            [at(0), at(1), at(2), alpha]
                        })
                        .collect()
                })
                .unwrap_or_default();
            let per_face: Option<Vec<[u8; 4]>> = e
                .arg(3)
                .list()
                .iter()
                .map(|i| list.get((i.num()? as usize).checked_sub(1)?).copied())
                .collect();
            if let Some(per_face) = per_face {
                face_colours.insert(set, per_face);
            }
        }
        Geom {
            step,
            angle,
            length,
            skipped: BTreeMap::new(),
            styles,
            tally: Vec::new(),
            face_colours,
            split: false,
            pieces: Vec::new(),
            nesting: 0,
            items_read: 0,
        }
    }

    /// The colour most of the current product's faces have, from the file's styles; and
    /// start counting afresh.
    pub fn take_colour(&mut self) -> Option<[u8; 4]> {
        let mut by: Vec<([u8; 4], usize)> = Vec::new();
        for (c, n) in self.tally.drain(..) {
            let Some(c) = c else { continue };
            match by.iter_mut().find(|(k, _)| *k == c) {
                Some(e) => e.1 += n,
                None => by.push((c, n)),
            }
        }
        by.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c)
    }

    fn ent(&self, v: &V) -> Option<&'a Entity> {
        self.step.deref(v)
    }

    fn skip(&mut self, ty: &str) {
        *self.skipped.entry(ty.to_owned()).or_default() += 1;
    }

    fn point(&self, v: &V) -> Option<P3> {
        let e = self.ent(v)?;
        let c: Vec<f64> = e.arg(0).list().iter().filter_map(V::num).collect();
        match c.len() {
            2 => Some([c[0], c[1], 0.0]),
            3 => Some([c[0], c[1], c[2]]),
            _ => None,
        }
    }

    fn direction(&self, v: &V) -> Option<P3> {
        let e = self.ent(v)?;
        let c: Vec<f64> = e.arg(0).list().iter().filter_map(V::num).collect();
        match c.len() {
            2 => norm([c[0], c[1], 0.0]),
            3 => norm([c[0], c[1], c[2]]),
            _ => None,
        }
    }

    /// An IfcAxis2Placement3D or 2D (identity when absent).
    pub fn placement(&self, v: &V) -> Xf {
        let Some(e) = self.ent(v) else {
            return Xf::ID;
        };
        let origin = self.point(e.arg(0)).unwrap_or([0.0; 3]);
        let (z, xref) = match e.ty.as_str() {
            "IFCAXIS2PLACEMENT2D" => ([0.0, 0.0, 1.0], self.direction(e.arg(1))),
            _ => (self.direction(e.arg(1)).unwrap_or([0.0, 0.0, 1.0]), self.direction(e.arg(2))),
        };
        frame(origin, z, xref)
    }

    /// An IfcLocalPlacement down its chain of relative placements.
    pub fn local_placement(&self, v: &V) -> Xf {
        let mut xf = Xf::ID;
        let mut cur = self.ent(v);
        let mut hops = 0;
        while let Some(e) = cur {
            if e.ty != "IFCLOCALPLACEMENT" || hops > 64 {
                break;
            }
            xf = self.placement(e.arg(1)).then(&xf);
            cur = self.ent(e.arg(0));
            hops += 1;
        }
        xf
    }

    fn operator(&self, v: &V) -> Xf {
        // IfcCartesianTransformationOperator3D(Axis1, Axis2, LocalOrigin, Scale, Axis3[, Scale2, Scale3]).
        let Some(e) = self.ent(v) else {
            return Xf::ID;
        };
        let origin = self.point(e.arg(2)).unwrap_or([0.0; 3]);
        let z = self.direction(e.arg(4)).unwrap_or([0.0, 0.0, 1.0]);
        let mut xf = frame(origin, z, self.direction(e.arg(0)));
        if let Some(y) = self.direction(e.arg(1))
            && dot(y, xf.m[1]) < 0.0
        {
            xf.m[1] = scale(xf.m[1], -1.0);
        }
        let s1 = e.arg(3).num().unwrap_or(1.0);
        let s2 = e.arg(5).num().unwrap_or(s1);
        let s3 = e.arg(6).num().unwrap_or(s1);
        xf.m = [scale(xf.m[0], s1), scale(xf.m[1], s2), scale(xf.m[2], s3)];
        xf
    }

    /// The faces of the body of a product: its `Body` shape representation (else the first
    /// solid-like one), placed by `xf`.
    pub fn product(&mut self, shape: &V, xf: &Xf, out: &mut Vec<Face>) {
        for item in self.product_items(shape, xf) {
            out.extend(item);
        }
    }

    /// [`Geom::product`] item by item (an opening made of two boxes is two convex solids).
    pub fn product_items(&mut self, shape: &V, xf: &Xf) -> Vec<Vec<Face>> {
        let Some(rep) = self.body(shape) else { return Vec::new() };
        self.items_read = 0;
        let mut items = Vec::new();
        for item in rep.arg(3).list() {
            let mut faces = Vec::new();
            self.item(item, xf, &mut faces, 0, None);
            items.push(faces);
        }
        items
    }

    /// An opening's body as convex solids where it can be: [`Geom::product_items`], with an
    /// extrusion of a profile that is not convex (an L-shaped or stepped opening) split into one
    /// prism per convex piece of its profile. The pieces meet on shared faces, so cutting them
    /// out one after another cuts out the whole.
    pub fn opening_items(&mut self, shape: &V, xf: &Xf) -> Vec<Vec<Face>> {
        let Some(rep) = self.body(shape) else { return Vec::new() };
        self.items_read = 0;
        let mut items = Vec::new();
        for item in rep.arg(3).list() {
            items.extend(self.convex_parts(item, xf, 0, None));
        }
        items
    }

    /// One item as solids to cut out one after another: the prisms of an extrusion whose
    /// profile is not convex, then the rest of its faces as one solid. Its faces do not count
    /// toward the element's colour (they are what is cut away).
    fn convex_parts(&mut self, v: &V, xf: &Xf, depth: usize, style: Option<[u8; 4]>) -> Vec<Vec<Face>> {
        let outer = std::mem::take(&mut self.pieces);
        let (was, tallied) = (self.split, self.tally.len());
        self.split = true;
        let mut rest = Vec::new();
        self.item(v, xf, &mut rest, depth, style);
        self.split = was;
        self.tally.truncate(tallied);
        let mut parts = std::mem::replace(&mut self.pieces, outer);
        if !rest.is_empty() {
            parts.push(rest);
        }
        parts
    }

    /// A product's body representation: `Body` (solid-like first), else the first solid-like one.
    fn body(&self, shape: &V) -> Option<&'a Entity> {
        let pds = self.ent(shape)?;
        let reps: Vec<&'a Entity> = pds.arg(2).list().iter().filter_map(|r| self.ent(r)).collect();
        let ident = |r: &Entity| r.arg(1).text().unwrap_or("").to_ascii_lowercase();
        let kind = |r: &Entity| r.arg(2).text().unwrap_or("").to_ascii_lowercase();
        let solid = |r: &Entity| {
            matches!(
                kind(r).as_str(),
                "sweptsolid"
                    | "advancedsweptsolid"
                    | "brep"
                    | "advancedbrep"
                    | "surfacemodel"
                    | "clipping"
                    | "csg"
                    | "tessellation"
                    | "mappedrepresentation"
                    | "solidmodel"
            )
        };
        reps.iter()
            .find(|r| ident(r) == "body" && solid(r))
            .or_else(|| reps.iter().find(|r| ident(r) == "body"))
            .or_else(|| {
                reps.iter()
                    .find(|r| solid(r) && !matches!(ident(r).as_str(), "box" | "axis" | "footprint"))
            })
            .copied()
    }

    fn item(&mut self, v: &V, xf: &Xf, out: &mut Vec<Face>, depth: usize, outer: Option<[u8; 4]>) {
        let Some(e) = self.ent(v) else { return };
        self.items_read += 1;
        if depth > 32 || self.items_read > MAX_ITEMS {
            return;
        }
        // An item's own style, else the style of what holds it.
        let style = v.id().and_then(|id| self.styles.get(&id).copied()).or(outer);
        let before = out.len();
        let leaf = !matches!(
            e.ty.as_str(),
            "IFCMAPPEDITEM" | "IFCBOOLEANCLIPPINGRESULT" | "IFCBOOLEANRESULT" | "IFCCSGSOLID"
        );
        self.item_faces(e, xf, out, depth, style);
        // A face set coloured face by face counts each face in its own colour (those the map
        // does not reach in the item's).
        let n = out.len() - before;
        match v.id().and_then(|id| self.face_colours.get(&id)).filter(|_| leaf) {
            Some(colours) => {
                for c in colours.iter().take(n) {
                    self.tally.push((Some(*c), 1));
                }
                if n > colours.len() {
                    self.tally.push((style, n - colours.len()));
                }
            }
            None if leaf && n > 0 => self.tally.push((style, n)),
            None => {}
        }
    }

    fn item_faces(&mut self, e: &'a Entity, xf: &Xf, out: &mut Vec<Face>, depth: usize, style: Option<[u8; 4]>) {
        match e.ty.as_str() {
            // Each area of the profile (a composite has several) swept.
            "IFCEXTRUDEDAREASOLID" | "IFCEXTRUDEDAREASOLIDTAPERED" | "IFCREVOLVEDAREASOLID" | "IFCREVOLVEDAREASOLIDTAPERED" => {
                for rings in self.profiles(e.arg(0)) {
                    if e.ty.starts_with("IFCEXTRUDED") {
                        self.extrusion(&rings, e, xf, out);
                    } else {
                        self.revolution(&rings, e, xf, out);
                    }
                }
            }
            "IFCSWEPTDISKSOLID" | "IFCSWEPTDISKSOLIDPOLYGONAL" => self.swept_disk(e, xf, out),
            "IFCFACETEDBREP" | "IFCFACETEDBREPWITHVOIDS" => {
                self.shell(e.arg(0), xf, out);
                if e.ty == "IFCFACETEDBREPWITHVOIDS" {
                    for v in e.arg(1).list() {
                        self.shell(v, xf, out);
                    }
                }
            }
            "IFCCLOSEDSHELL" | "IFCOPENSHELL" | "IFCCONNECTEDFACESET" => self.shell_of(e, xf, out),
            "IFCFACEBASEDSURFACEMODEL" | "IFCSHELLBASEDSURFACEMODEL" => {
                for s in e.arg(0).list() {
                    self.shell(s, xf, out);
                }
            }
            "IFCTRIANGULATEDFACESET" | "IFCTRIANGULATEDIRREGULARNETWORK" => self.triangulated(e, xf, out),
            "IFCPOLYGONALFACESET" => self.polygonal(e, xf, out),
            "IFCMAPPEDITEM" => {
                let Some(map) = self.ent(e.arg(0)) else { return };
                let to = xf.then(&self.operator(e.arg(1))).then(&self.placement(map.arg(0)));
                if let Some(rep) = self.ent(map.arg(1)) {
                    for it in rep.arg(3).list() {
                        self.item(it, &to, out, depth + 1, style);
                    }
                }
            }
            "IFCBOOLEANCLIPPINGRESULT" | "IFCBOOLEANRESULT" => {
                let op = e.arg(0).enumeration().unwrap_or("");
                let mut first = Vec::new();
                self.item(e.arg(1), xf, &mut first, depth + 1, style);
                match op {
                    "DIFFERENCE" => match self.half_space(e.arg(2), xf) {
                        // Bounded by a polygon: what lies outside the boundary's prism stays,
                        // what lies inside is cut by the plane. A convex boundary is exact (the
                        // operand split by each side's plane); another that holds all of the
                        // operand cuts it as the plane would; else the operand stays whole.
                        Some((o, n, Some((frame, ring)))) => {
                            if let Some(sides) = convex_sides(&frame, &ring) {
                                let mut inside = first;
                                for (p, outward) in sides {
                                    out.extend(clip(inside.clone(), p, outward));
                                    inside = clip(inside, p, scale(outward, -1.0));
                                }
                                out.extend(clip(inside, o, n));
                            } else if all_inside(&first, &frame, &ring) {
                                out.extend(clip(first, o, n));
                            } else {
                                self.skip("IFCPOLYGONALBOUNDEDHALFSPACE (not convex)");
                                out.extend(first);
                            }
                        }
                        Some((o, n, _)) => out.extend(clip(first, o, n)),
                        None => {
                            // A solid subtracted: cut out as an opening is, piece by convex
                            // piece (an extrusion of a profile that is not convex split into
                            // prisms). Another kind leaves the first operand whole.
                            let pieces = self.convex_parts(e.arg(2), xf, depth + 1, style);
                            let mut whole = pieces.is_empty();
                            let mut solid = first;
                            for piece in pieces {
                                match subtract_convex(solid, &piece) {
                                    Ok(cut) => solid = cut,
                                    Err(kept) => {
                                        solid = kept;
                                        whole = true;
                                    }
                                }
                            }
                            if whole && let Some(s) = self.ent(e.arg(2)) {
                                let ty = format!("{} (subtracted, not convex)", s.ty);
                                self.skip(&ty);
                            }
                            out.extend(solid);
                        }
                    },
                    "UNION" => {
                        out.extend(first);
                        self.item(e.arg(2), xf, out, depth + 1, style);
                    }
                    _ => {
                        self.skip(&format!("{} {op}", e.ty));
                        out.extend(first);
                    }
                }
            }
            "IFCBLOCK" => {
                let (x, y, z) = (
                    e.arg(1).num().unwrap_or(0.0),
                    e.arg(2).num().unwrap_or(0.0),
                    e.arg(3).num().unwrap_or(0.0),
                );
                let ring = vec![vec![[0.0, 0.0], [x, 0.0], [x, y], [0.0, y]]];
                let to = xf.then(&self.placement(e.arg(0)));
                extrude(&ring, [0.0, 0.0, 1.0], z, &to, out);
            }
            "IFCCSGSOLID" => self.item(e.arg(0), xf, out, depth + 1, style),
            other => self.skip(other),
        }
    }

    /// A half-space operand as (a point on its plane, the normal of the side kept, and for a
    /// polygonal bounded one its boundary's frame and polygon).
    #[allow(clippy::type_complexity)]
    fn half_space(&mut self, v: &V, xf: &Xf) -> Option<(P3, P3, Option<(Xf, Vec<[f64; 2]>)>)> {
        let e = self.ent(v)?;
        if !matches!(
            e.ty.as_str(),
            "IFCHALFSPACESOLID" | "IFCPOLYGONALBOUNDEDHALFSPACE" | "IFCBOXEDHALFSPACE"
        ) {
            return None;
        }
        let plane = self.ent(e.arg(0)).filter(|p| p.ty == "IFCPLANE")?;
        let p = xf.then(&self.placement(plane.arg(0)));
        let n = norm(p.m[2])?;
        // AgreementFlag true: the plane's normal points away from the half-space's material,
        // so what a DIFFERENCE keeps lies on the normal's side.
        let agree = e.arg(1).enumeration() != Some("F");
        let bound = (e.ty == "IFCPOLYGONALBOUNDEDHALFSPACE").then(|| (xf.then(&self.placement(e.arg(2))), self.curve(e.arg(3))));
        Some((p.t, if agree { n } else { scale(n, -1.0) }, bound))
    }

    fn shell(&mut self, v: &V, xf: &Xf, out: &mut Vec<Face>) {
        let Some(s) = self.ent(v) else { return };
        self.shell_of(s, xf, out);
    }

    fn shell_of(&mut self, s: &Entity, xf: &Xf, out: &mut Vec<Face>) {
        let mirror = xf.det() < 0.0;
        for f in s.arg(0).list() {
            let Some(face) = self.ent(f) else { continue };
            let mut rings: Vec<(bool, Vec<P3>)> = Vec::new();
            for b in face.arg(0).list() {
                let Some(bound) = self.ent(b) else { continue };
                let Some(lp) = self.ent(bound.arg(0)) else { continue };
                let mut ring: Vec<P3> = match lp.ty.as_str() {
                    "IFCPOLYLOOP" => lp.arg(0).list().iter().filter_map(|p| self.point(p)).map(|p| xf.apply(p)).collect(),
                    other => {
                        self.skip(other);
                        continue;
                    }
                };
                if bound.arg(1).enumeration() == Some("F") {
                    ring.reverse();
                }
                if mirror {
                    ring.reverse();
                }
                dedup_ring(&mut ring);
                if ring.len() >= 3 {
                    rings.push((bound.ty == "IFCFACEOUTERBOUND", ring));
                }
            }
            if rings.is_empty() {
                continue;
            }
            let outer = rings.iter().position(|r| r.0).unwrap_or(0);
            let mut face = vec![rings.swap_remove(outer).1];
            face.extend(rings.into_iter().map(|r| r.1));
            out.push(face);
        }
    }

    fn coords(&self, v: &V) -> Vec<P3> {
        self.ent(v)
            .map(|l| {
                l.arg(0)
                    .list()
                    .iter()
                    .map(|p| {
                        let c: Vec<f64> = p.list().iter().filter_map(V::num).collect();
                        [
                            c.first().copied().unwrap_or(0.0),
                            c.get(1).copied().unwrap_or(0.0),
                            c.get(2).copied().unwrap_or(0.0),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn triangulated(&self, e: &Entity, xf: &Xf, out: &mut Vec<Face>) {
        let pts = self.coords(e.arg(0));
        let pn: Vec<usize> = e.arg(4).list().iter().filter_map(V::num).map(|i| i as usize).collect();
        let at = |i: f64| -> Option<P3> {
            let i = i as usize;
            let i = if pn.is_empty() { i } else { *pn.get(i.checked_sub(1)?)? };
            pts.get(i.checked_sub(1)?).map(|p| xf.apply(*p))
        };
        for t in e.arg(3).list() {
            let ring: Option<Vec<P3>> = t.list().iter().filter_map(V::num).map(at).collect();
            if let Some(r) = ring.filter(|r| r.len() == 3) {
                out.push(vec![r]);
            }
        }
    }

    fn polygonal(&self, e: &Entity, xf: &Xf, out: &mut Vec<Face>) {
        let pts = self.coords(e.arg(0));
        let pn: Vec<usize> = e.arg(3).list().iter().filter_map(V::num).map(|i| i as usize).collect();
        let ring = |l: &V| -> Option<Vec<P3>> {
            l.list()
                .iter()
                .filter_map(V::num)
                .map(|i| {
                    let i = i as usize;
                    let i = if pn.is_empty() { i } else { *pn.get(i.checked_sub(1)?)? };
                    pts.get(i.checked_sub(1)?).map(|p| xf.apply(*p))
                })
                .collect()
        };
        for f in e.arg(2).list() {
            let Some(face) = self.ent(f) else { continue };
            let Some(outer) = ring(face.arg(0)).filter(|r| r.len() >= 3) else {
                continue;
            };
            let mut rings = vec![outer];
            rings.extend(face.arg(1).list().iter().filter_map(ring).filter(|r| r.len() >= 3));
            out.push(rings);
        }
    }

    /// A profile's areas: one, or each of an IfcCompositeProfileDef's (a twin-web section,
    /// a slab of several parts).
    fn profiles(&mut self, v: &V) -> Vec<Vec<Vec<[f64; 2]>>> {
        match self.ent(v) {
            Some(c) if c.ty == "IFCCOMPOSITEPROFILEDEF" => c.arg(2).list().iter().filter_map(|p| self.profile(p)).collect(),
            _ => self.profile(v).into_iter().collect(),
        }
    }

    fn extrusion(&mut self, rings: &[Vec<[f64; 2]>], e: &Entity, xf: &Xf, out: &mut Vec<Face>) {
        let to = xf.then(&self.placement(e.arg(1)));
        let Some(dir) = self.direction(e.arg(2)) else { return };
        let depth = e.arg(3).num().unwrap_or(0.0);
        // (A profile of hundreds of points, arcs among them, stays whole: splitting costs the
        // cube of its size.)
        if self.split && rings.len() == 1 && rings[0].len() <= 256 && !is_convex(&rings[0]) {
            for piece in convex_pieces(&rings[0]) {
                let mut faces = Vec::new();
                extrude(&[piece], dir, depth, &to, &mut faces);
                self.pieces.push(faces);
            }
            return;
        }
        extrude(rings, dir, depth, &to, out);
    }

    /// IfcRevolvedAreaSolid(SweptArea, Position, Axis, Angle): the profile, in the xy plane of
    /// Position, turned about Axis (an IfcAxis1Placement in that plane) by Angle, counter-
    /// clockwise seen from the axis's tip; a turn short of a whole one is closed at both ends.
    /// (The tapered variant's end profile is not used: it turns the start profile.)
    fn revolution(&mut self, rings: &[Vec<[f64; 2]>], e: &Entity, xf: &Xf, out: &mut Vec<Face>) {
        let to = xf.then(&self.placement(e.arg(1)));
        let Some(axis) = self.ent(e.arg(2)) else { return };
        let at = self.point(axis.arg(0)).unwrap_or([0.0; 3]);
        let dir = self.direction(axis.arg(1)).unwrap_or([0.0, 0.0, 1.0]);
        let angle = e.arg(3).num().unwrap_or(0.0) * self.angle;
        let sweep = angle.clamp(-std::f64::consts::TAU, std::f64::consts::TAU);
        if sweep.abs() < 1e-9 {
            return;
        }
        // The profile's farthest point from the axis sizes the steps as `arc` sizes a circle's.
        let radius_of = |p: [f64; 2]| {
            let d = sub([p[0], p[1], 0.0], at);
            let along = dot(d, dir);
            dot(d, d) - along * along
        };
        let r = rings.iter().flatten().map(|p| radius_of(*p)).fold(0.0, f64::max).sqrt();
        let n = self.arc(r, 0.0, sweep.abs(), true).len().saturating_sub(1);
        if n < 2 {
            return;
        }
        let whole = (sweep.abs() - std::f64::consts::TAU).abs() < 1e-9;
        // Rodrigues' rotation about the axis through `at`, in the profile's frame.
        let rotate = |p: [f64; 2], a: f64| -> P3 {
            let v = sub([p[0], p[1], 0.0], at);
            let (s, c) = a.sin_cos();
            let k = dir;
            let kv = cross(k, v);
            let kd = dot(k, v) * (1.0 - c);
            to.apply([
                at[0] + v[0] * c + kv[0] * s + k[0] * kd,
                at[1] + v[1] * c + kv[1] * s + k[1] * kd,
                at[2] + v[2] * c + kv[2] * s + k[2] * kd,
            ])
        };
        let steps = if whole { n } else { n + 1 };
        let at_step: Vec<Vec<Vec<P3>>> = (0..steps)
            .map(|i| {
                let a = sweep * i as f64 / n as f64;
                rings.iter().map(|r| r.iter().map(|p| rotate(*p, a)).collect()).collect()
            })
            .collect();
        loft(&at_step, whole, out);
    }

    /// IfcSweptDiskSolid(Directrix, Radius, InnerRadius, StartParam, EndParam): a pipe, a
    /// circle (with a hole when InnerRadius is given) swept along the directrix, mitred where
    /// the directrix bends (arcs in it come as short straight pieces). The whole directrix is
    /// swept: StartParam and EndParam are not read. The polygonal variant's fillets are not made.
    fn swept_disk(&mut self, e: &Entity, xf: &Xf, out: &mut Vec<Face>) {
        let mut path = self.curve3(e.arg(0));
        dedup_ring_open(&mut path);
        let radius = e.arg(1).num().unwrap_or(0.0);
        let inner = e.arg(2).num().filter(|r| *r > 1e-12 && *r < radius);
        if path.len() < 2 || radius <= 0.0 {
            return;
        }
        let path: Vec<P3> = path.into_iter().map(|p| xf.apply(p)).collect();
        let dirs: Vec<P3> = path.windows(2).filter_map(|w| norm(sub(w[1], w[0]))).collect();
        if dirs.len() + 1 != path.len() {
            return;
        }
        // One cross-section per directrix point: the first square to the first piece, the next
        // ones carried along each piece onto the plane that halves the bend (so the pipe does
        // not twist), the last square to the last piece.
        // The outer circle counter-clockwise about the first piece, the hole's clockwise.
        let circle = self.arc(radius, 0.0, std::f64::consts::TAU, true);
        let n = circle.len().saturating_sub(1);
        if n < 3 {
            return;
        }
        let start = frame(path[0], dirs[0], None);
        let mut sections: Vec<Vec<Vec<P3>>> = Vec::with_capacity(path.len());
        let mut first = vec![(0..n).map(|i| start.apply([circle[i][0], circle[i][1], 0.0])).collect::<Vec<P3>>()];
        if let Some(r) = inner {
            let s = r / radius;
            first.push(
                (0..n)
                    .rev()
                    .map(|i| start.apply([circle[i][0] * s, circle[i][1] * s, 0.0]))
                    .collect(),
            );
        }
        sections.push(first);
        for i in 1..path.len() {
            let d = dirs[i - 1];
            let plane = if i + 1 < path.len() {
                norm([d[0] + dirs[i][0], d[1] + dirs[i][1], d[2] + dirs[i][2]]).unwrap_or(d)
            } else {
                d
            };
            let along = dot(d, plane);
            if along.abs() < 1e-6 {
                // The directrix turns back on itself: no plane halves that.
                return;
            }
            let next = sections[i - 1]
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|q| {
                            let t = dot(sub(path[i], *q), plane) / along;
                            [q[0] + d[0] * t, q[1] + d[1] * t, q[2] + d[2] * t]
                        })
                        .collect()
                })
                .collect();
            sections.push(next);
        }
        loft(&sections, false, out);
    }

    /// A profile as rings in its plane: the outer one counter-clockwise, holes clockwise.
    fn profile(&mut self, v: &V) -> Option<Vec<Vec<[f64; 2]>>> {
        if self.nesting >= MAX_NESTING {
            return None;
        }
        self.nesting += 1;
        let rings = self.profile_nested(v);
        self.nesting -= 1;
        rings
    }

    fn profile_nested(&mut self, v: &V) -> Option<Vec<Vec<[f64; 2]>>> {
        let e = self.ent(v)?;
        let pos = |g: &Self, i: usize| g.placement(e.arg(i));
        let place = |xf: Xf, r: Vec<[f64; 2]>| -> Vec<[f64; 2]> {
            r.into_iter()
                .map(|p| {
                    let q = xf.apply([p[0], p[1], 0.0]);
                    [q[0], q[1]]
                })
                .collect()
        };
        let mut rings = match e.ty.as_str() {
            "IFCRECTANGLEPROFILEDEF" | "IFCRECTANGLEHOLLOWPROFILEDEF" | "IFCROUNDEDRECTANGLEPROFILEDEF" => {
                let (x, y) = (e.arg(3).num()? / 2.0, e.arg(4).num()? / 2.0);
                let mut rings = vec![vec![[-x, -y], [x, -y], [x, y], [-x, y]]];
                if e.ty == "IFCRECTANGLEHOLLOWPROFILEDEF" {
                    let t = e.arg(5).num().unwrap_or(0.0);
                    if t > 0.0 && t < x && t < y {
                        rings.push(vec![[-x + t, -y + t], [-x + t, y - t], [x - t, y - t], [x - t, -y + t]]);
                    }
                }
                let xf = pos(self, 2);
                rings.into_iter().map(|r| place(xf, r)).collect()
            }
            "IFCCIRCLEPROFILEDEF" | "IFCCIRCLEHOLLOWPROFILEDEF" => {
                let r = e.arg(3).num()?;
                let mut rings = vec![self.arc(r, 0.0, std::f64::consts::TAU, true)];
                rings[0].pop();
                if e.ty == "IFCCIRCLEHOLLOWPROFILEDEF" {
                    let t = e.arg(4).num().unwrap_or(0.0);
                    if t > 0.0 && t < r {
                        let mut inner = self.arc(r - t, 0.0, std::f64::consts::TAU, true);
                        inner.pop();
                        inner.reverse();
                        rings.push(inner);
                    }
                }
                let xf = pos(self, 2);
                rings.into_iter().map(|r| place(xf, r)).collect()
            }
            "IFCARBITRARYCLOSEDPROFILEDEF" | "IFCARBITRARYPROFILEDEFWITHVOIDS" => {
                let mut rings = vec![self.curve(e.arg(2))];
                for c in e.arg(3).list() {
                    rings.push(self.curve(c));
                }
                rings
            }
            "IFCDERIVEDPROFILEDEF" => {
                let parent = self.profile(e.arg(2))?;
                let xf = self.operator(e.arg(3));
                parent.into_iter().map(|r| place(xf, r)).collect()
            }
            // Steel and precast sections, centred on their bounding box as IFC places them;
            // fillets and rounded edges are left square, slopes flat.
            "IFCLSHAPEPROFILEDEF" => {
                let (d, t) = (e.arg(3).num()?, e.arg(5).num()?);
                let (x, y) = (e.arg(4).num().unwrap_or(d) / 2.0, d / 2.0);
                let r = vec![[-x, -y], [x, -y], [x, -y + t], [-x + t, -y + t], [-x + t, y], [-x, y]];
                vec![place(pos(self, 2), r)]
            }
            "IFCTSHAPEPROFILEDEF" => {
                let (y, x, tw, tf) = (e.arg(3).num()? / 2.0, e.arg(4).num()? / 2.0, e.arg(5).num()? / 2.0, e.arg(6).num()?);
                let r = vec![
                    [-tw, -y],
                    [tw, -y],
                    [tw, y - tf],
                    [x, y - tf],
                    [x, y],
                    [-x, y],
                    [-x, y - tf],
                    [-tw, y - tf],
                ];
                vec![place(pos(self, 2), r)]
            }
            "IFCUSHAPEPROFILEDEF" => {
                let (y, x, tw, tf) = (e.arg(3).num()? / 2.0, e.arg(4).num()? / 2.0, e.arg(5).num()?, e.arg(6).num()?);
                let r = vec![
                    [-x, -y],
                    [x, -y],
                    [x, -y + tf],
                    [-x + tw, -y + tf],
                    [-x + tw, y - tf],
                    [x, y - tf],
                    [x, y],
                    [-x, y],
                ];
                vec![place(pos(self, 2), r)]
            }
            "IFCCSHAPEPROFILEDEF" => {
                let (y, x, t, g) = (e.arg(3).num()? / 2.0, e.arg(4).num()? / 2.0, e.arg(5).num()?, e.arg(6).num()?);
                let r = vec![
                    [-x, -y],
                    [x, -y],
                    [x, -y + g],
                    [x - t, -y + g],
                    [x - t, -y + t],
                    [-x + t, -y + t],
                    [-x + t, y - t],
                    [x - t, y - t],
                    [x - t, y - g],
                    [x, y - g],
                    [x, y],
                    [-x, y],
                ];
                vec![place(pos(self, 2), r)]
            }
            "IFCZSHAPEPROFILEDEF" => {
                // The bottom flange to +x, the top one to −x, each FlangeWidth from the web's
                // centre line (as IfcOpenShell reads it).
                let (y, x, tw, tf) = (e.arg(3).num()? / 2.0, e.arg(4).num()?, e.arg(5).num()? / 2.0, e.arg(6).num()?);
                let r = vec![
                    [-tw, -y],
                    [x, -y],
                    [x, -y + tf],
                    [tw, -y + tf],
                    [tw, y],
                    [-x, y],
                    [-x, y - tf],
                    [-tw, y - tf],
                ];
                vec![place(pos(self, 2), r)]
            }
            "IFCISHAPEPROFILEDEF" | "IFCASYMMETRICISHAPEPROFILEDEF" => {
                // The bottom flange's width and thickness, then (asymmetric) the top one's.
                let (bw, y, tw, bt) = (e.arg(3).num()? / 2.0, e.arg(4).num()? / 2.0, e.arg(5).num()? / 2.0, e.arg(6).num()?);
                let asymmetric = e.ty == "IFCASYMMETRICISHAPEPROFILEDEF";
                let tfw = e.arg(8).num().filter(|_| asymmetric).map_or(bw, |w| w / 2.0);
                let tt = e.arg(9).num().filter(|_| asymmetric).unwrap_or(bt);
                let r = vec![
                    [-bw, -y],
                    [bw, -y],
                    [bw, -y + bt],
                    [tw, -y + bt],
                    [tw, y - tt],
                    [tfw, y - tt],
                    [tfw, y],
                    [-tfw, y],
                    [-tfw, y - tt],
                    [-tw, y - tt],
                    [-tw, -y + bt],
                    [-bw, -y + bt],
                ];
                vec![place(pos(self, 2), r)]
            }
            "IFCTRAPEZIUMPROFILEDEF" => {
                // About the bottom line's middle and half the height; the top line starts
                // TopXOffset from the bottom line's start.
                let (bx, tx, y, off) = (e.arg(3).num()? / 2.0, e.arg(4).num()?, e.arg(5).num()? / 2.0, e.arg(6).num()?);
                let r = vec![[-bx, -y], [bx, -y], [-bx + off + tx, y], [-bx + off, y]];
                vec![place(pos(self, 2), r)]
            }
            "IFCELLIPSEPROFILEDEF" => {
                let (a, b) = (e.arg(3).num()?, e.arg(4).num()?);
                let mut r: Vec<[f64; 2]> = self
                    .arc(a.max(b), 0.0, std::f64::consts::TAU, true)
                    .into_iter()
                    .map(|p| [p[0] * a / a.max(b), p[1] * b / a.max(b)])
                    .collect();
                r.pop();
                vec![place(pos(self, 2), r)]
            }
            other => {
                let other = other.to_owned();
                self.skip(&other);
                return None;
            }
        };
        for r in &mut rings {
            if r.len() > 1 && r.first() == r.last() {
                r.pop();
            }
        }
        rings.retain(|r| r.len() >= 3);
        if rings.is_empty() {
            return None;
        }
        for (i, r) in rings.iter_mut().enumerate() {
            let ccw = area2(r) > 0.0;
            if ccw != (i == 0) {
                r.reverse();
            }
        }
        Some(rings)
    }

    /// Points along a circle of radius `r` about the origin from angle `a0` to `a1` (radians),
    /// counter-clockwise when `ccw`; about one segment per 10° (finer on large circles).
    fn arc(&self, r: f64, a0: f64, a1: f64, ccw: bool) -> Vec<[f64; 2]> {
        use std::f64::consts::TAU;
        // Counter-clockwise a sweep in (0, 2π] unless already positive, clockwise in [−2π, 0)
        // unless already negative (by remainder: angles of any size, a unit's factor of 10¹⁷
        // in a damaged file among them, take one step).
        let mut sweep = a1 - a0;
        if !sweep.is_finite() {
            return vec![[r * a0.cos(), r * a0.sin()]];
        }
        if ccw && sweep <= 0.0 {
            sweep = sweep.rem_euclid(TAU);
            if sweep <= 0.0 {
                sweep = TAU;
            }
        } else if !ccw && sweep >= 0.0 {
            sweep = -((-sweep).rem_euclid(TAU));
            if sweep >= 0.0 {
                sweep = -TAU;
            }
        }
        // A segment every 10°, or every 0.5 m of arc on large circles.
        let by_angle = (sweep.abs() / 10f64.to_radians()).ceil();
        let by_length = (sweep.abs() * r * self.length / 0.5).ceil();
        let n = by_angle.max(by_length).clamp(2.0, 720.0) as usize;
        (0..=n)
            .map(|i| {
                let a = a0 + sweep * i as f64 / n as f64;
                [r * a.cos(), r * a.sin()]
            })
            .collect()
    }

    /// A curve as a 2D polyline (profiles lie in a plane).
    fn curve(&mut self, v: &V) -> Vec<[f64; 2]> {
        self.curve3(v).into_iter().map(|p| [p[0], p[1]]).collect()
    }

    /// A curve as a polyline in its own coordinates (a profile's in its plane, at z = 0; a
    /// directrix's in 3D).
    fn curve3(&mut self, v: &V) -> Vec<P3> {
        if self.nesting >= MAX_NESTING {
            return Vec::new();
        }
        self.nesting += 1;
        let points = self.curve3_nested(v);
        self.nesting -= 1;
        points
    }

    fn curve3_nested(&mut self, v: &V) -> Vec<P3> {
        let Some(e) = self.ent(v) else { return Vec::new() };
        match e.ty.as_str() {
            "IFCPOLYLINE" => e.arg(0).list().iter().filter_map(|p| self.point(p)).collect(),
            "IFCCOMPOSITECURVE" => {
                let mut out: Vec<P3> = Vec::new();
                for s in e.arg(0).list() {
                    let Some(seg) = self.ent(s) else { continue };
                    let mut pts = self.curve3(seg.arg(2));
                    if seg.arg(1).enumeration() == Some("F") {
                        pts.reverse();
                    }
                    for p in pts {
                        if out
                            .last()
                            .is_none_or(|q| (q[0] - p[0]).abs() + (q[1] - p[1]).abs() + (q[2] - p[2]).abs() > 1e-9)
                        {
                            out.push(p);
                        }
                    }
                }
                out
            }
            "IFCTRIMMEDCURVE" => {
                let Some(basis) = self.ent(e.arg(0)) else { return Vec::new() };
                let sense = e.arg(3).enumeration() != Some("F");
                match basis.ty.as_str() {
                    "IFCCIRCLE" | "IFCELLIPSE" => {
                        let xf = self.placement(basis.arg(0));
                        let (ra, rb) = (basis.arg(1).num().unwrap_or(0.0), basis.arg(2).num());
                        let rb = if basis.ty == "IFCELLIPSE" { rb.unwrap_or(ra) } else { ra };
                        let prefer_cartesian = e.arg(4).enumeration() == Some("CARTESIAN");
                        let angle = |trim: &V| -> Option<f64> {
                            let param = trim.list().iter().find_map(|t| match t {
                                V::Typed(ty, v) if ty == "IFCPARAMETERVALUE" => v.num(),
                                V::Real(r) => Some(*r),
                                _ => None,
                            });
                            let cart = trim.list().iter().find_map(|t| self.point(t)).map(|p| {
                                // Into the circle's frame: x along its x axis.
                                let d = sub(p, xf.t);
                                (dot(d, xf.m[1]) / rb).atan2(dot(d, xf.m[0]) / ra)
                            });
                            match (param, cart) {
                                (Some(_), Some(c)) if prefer_cartesian => Some(c),
                                (Some(p), _) => Some(p * self.angle),
                                (None, c) => c,
                            }
                        };
                        let (Some(a0), Some(a1)) = (angle(e.arg(1)), angle(e.arg(2))) else {
                            return Vec::new();
                        };
                        self.arc(1.0, a0, a1, sense)
                            .into_iter()
                            .map(|p| xf.apply([p[0] * ra, p[1] * rb, 0.0]))
                            .collect()
                    }
                    "IFCLINE" | "IFCPOLYLINE" => {
                        let ends: Vec<P3> = [e.arg(1), e.arg(2)]
                            .iter()
                            .filter_map(|t| t.list().iter().find_map(|t| self.point(t)))
                            .collect();
                        if ends.len() == 2 {
                            if sense { ends } else { ends.into_iter().rev().collect() }
                        } else {
                            let mut pts = self.curve3(e.arg(0));
                            if !sense {
                                pts.reverse();
                            }
                            pts
                        }
                    }
                    other => {
                        let other = format!("IFCTRIMMEDCURVE of {other}");
                        self.skip(&other);
                        Vec::new()
                    }
                }
            }
            "IFCCIRCLE" | "IFCELLIPSE" => {
                let xf = self.placement(e.arg(0));
                let ra = e.arg(1).num().unwrap_or(0.0);
                let rb = if e.ty == "IFCELLIPSE" { e.arg(2).num().unwrap_or(ra) } else { ra };
                let mut pts = self.arc(1.0, 0.0, std::f64::consts::TAU, true);
                pts.pop();
                pts.into_iter().map(|p| xf.apply([p[0] * ra, p[1] * rb, 0.0])).collect()
            }
            "IFCINDEXEDPOLYCURVE" => {
                let pts = self.coords(e.arg(0));
                let at = |i: f64| pts.get((i as usize).wrapping_sub(1)).copied();
                let segs = e.arg(1).list();
                if segs.is_empty() {
                    return pts;
                }
                let mut out: Vec<P3> = Vec::new();
                for s in segs {
                    // IfcLineIndex and IfcArcIndex: arcs through their three points are kept
                    // as those points joined, a chord approximation.
                    for p in s.list().iter().filter_map(V::num).filter_map(at) {
                        if out.last() != Some(&p) {
                            out.push(p);
                        }
                    }
                }
                out
            }
            other => {
                let other = other.to_owned();
                self.skip(&other);
                Vec::new()
            }
        }
    }
}

/// The surface colour (RGBA) of an IfcStyledItem's styles: through IfcPresentationStyleAssignment
/// (IFC2X3) or directly, the IfcSurfaceStyle's shading or rendering colour and transparency.
fn surface_colour(step: &Step, styles: &V) -> Option<[u8; 4]> {
    let mut pending: Vec<&V> = styles.list().iter().collect();
    let mut hops = 0;
    while let Some(v) = pending.pop() {
        hops += 1;
        if hops > 64 {
            break;
        }
        let Some(e) = step.deref(v) else { continue };
        match e.ty.as_str() {
            "IFCPRESENTATIONSTYLEASSIGNMENT" => pending.extend(e.arg(0).list().iter()),
            "IFCSURFACESTYLE" => pending.extend(e.arg(2).list().iter()),
            "IFCSURFACESTYLESHADING" | "IFCSURFACESTYLERENDERING" => {
                let surface = step.deref(e.arg(0)).filter(|c| c.ty == "IFCCOLOURRGB")?;
                let rgb = |c: &Entity| [1, 2, 3].map(|i| c.arg(i).num().unwrap_or(0.8).clamp(0.0, 1.0));
                // A rendering's diffuse colour: its own, or the surface colour scaled by a ratio.
                let diffuse = match (e.ty.as_str(), e.arg(2)) {
                    ("IFCSURFACESTYLERENDERING", V::Ref(_)) => {
                        step.deref(e.arg(2)).filter(|c| c.ty == "IFCCOLOURRGB").map_or(rgb(surface), rgb)
                    }
                    ("IFCSURFACESTYLERENDERING", v) => {
                        let k = v.num().unwrap_or(1.0).clamp(0.0, 1.0);
                        rgb(surface).map(|c| c * k)
                    }
                    _ => rgb(surface),
                };
                let t = e.arg(1).num().unwrap_or(0.0).clamp(0.0, 1.0);
                let [r, g, b] = diffuse.map(|c| (c * 255.0).round() as u8);
                return Some([r, g, b, ((1.0 - t) * 255.0).round() as u8]);
            }
            _ => {}
        }
    }
    None
}

/// A right-handed frame at `origin` with z along `z` and x as near `xref` as is perpendicular.
fn frame(origin: P3, z: P3, xref: Option<P3>) -> Xf {
    let z = norm(z).unwrap_or([0.0, 0.0, 1.0]);
    let guess = xref.unwrap_or(if z[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] });
    let x = norm(sub(guess, scale(z, dot(guess, z))))
        .or_else(|| norm(cross([0.0, 1.0, 0.0], z)))
        .unwrap_or([1.0, 0.0, 0.0]);
    let y = cross(z, x);
    Xf { m: [x, y, z], t: origin }
}

/// A solid through cross-sections (each the same rings, point for point): a quadrilateral
/// between each pair of corresponding edges of consecutive sections (a triangle where two
/// corners meet, on a revolution's axis), back from the last to the first when `closed`, else
/// the first and last sections as ends (turned as `extrude` turns them, so that all faces share
/// one orientation); then turned outward if they enclose a negative volume (a left-handed sweep
/// or revolution makes them inward).
fn loft(sections: &[Vec<Vec<P3>>], closed: bool, out: &mut Vec<Face>) {
    let m = sections.len();
    if m < 2 {
        return;
    }
    let mut faces: Vec<Face> = Vec::new();
    for i in 0..if closed { m } else { m - 1 } {
        for (a, b) in sections[i].iter().zip(&sections[(i + 1) % m]) {
            for j in 0..a.len() {
                let k = (j + 1) % a.len();
                let mut q = vec![a[j], a[k], b[k], b[j]];
                dedup_ring(&mut q);
                if q.len() >= 3 {
                    faces.push(vec![q]);
                }
            }
        }
    }
    if !closed {
        faces.push(sections[0].iter().map(|r| r.iter().rev().copied().collect()).collect());
        faces.push(sections[m - 1].clone());
    }
    if volume(&faces) < 0.0 {
        for r in faces.iter_mut().flatten() {
            r.reverse();
        }
    }
    out.extend(faces);
}

/// Drop repeated points of an open polyline (its ends stay).
fn dedup_ring_open(r: &mut Vec<P3>) {
    r.dedup_by(|a, b| sub(*a, *b).iter().all(|d| d.abs() < 1e-9));
}

fn newell(r: &[P3]) -> P3 {
    let mut n = [0.0; 3];
    for (i, a) in r.iter().enumerate() {
        let b = r[(i + 1) % r.len()];
        n[0] += (a[1] - b[1]) * (a[2] + b[2]);
        n[1] += (a[2] - b[2]) * (a[0] + b[0]);
        n[2] += (a[0] - b[0]) * (a[1] + b[1]);
    }
    n
}

fn area2(r: &[[f64; 2]]) -> f64 {
    (0..r.len())
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % r.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

fn dedup_ring(r: &mut Vec<P3>) {
    dedup_ring_open(r);
    while r.len() > 1 && sub(r[0], r[r.len() - 1]).iter().all(|d| d.abs() < 1e-9) {
        r.pop();
    }
}

/// Extrude rings (outer counter-clockwise, holes clockwise, in the xy plane of `to`) along
/// `dir` by `depth`: bottom, top and sides, each facing outwards.
fn extrude(rings: &[Vec<[f64; 2]>], dir: P3, depth: f64, to: &Xf, out: &mut Vec<Face>) {
    if depth.abs() < 1e-12 || rings.is_empty() {
        return;
    }
    let d = scale(dir, depth);
    // Outward faces need the sweep to leave the profile's plane on its positive side, in a
    // right-handed frame; otherwise every face turns round.
    let flip = (d[2] < 0.0) != (to.det() < 0.0);
    let bottom: Vec<Vec<P3>> = rings
        .iter()
        .map(|r| r.iter().map(|p| to.apply([p[0], p[1], 0.0])).collect())
        .collect();
    let top: Vec<Vec<P3>> = rings
        .iter()
        .map(|r| r.iter().map(|p| to.apply([p[0] + d[0], p[1] + d[1], d[2]])).collect())
        .collect();
    let mut push = |mut f: Face| {
        if flip {
            f.iter_mut().for_each(|r| r.reverse());
        }
        out.push(f);
    };
    push(bottom.iter().map(|r| r.iter().rev().copied().collect()).collect());
    push(top.clone());
    for (b, t) in bottom.iter().zip(&top) {
        for i in 0..b.len() {
            let j = (i + 1) % b.len();
            push(vec![vec![b[i], b[j], t[j], t[i]]]);
        }
    }
}

/// `faces` (a closed solid) less the convex solid `hole`: the solid split by each of the hole's
/// face planes in turn, the pieces outside kept (they meet along faces inside the material, which
/// never show). `Err` gives `faces` back when the hole is not convex.
#[allow(clippy::result_large_err)]
pub fn subtract_convex(faces: Vec<Face>, hole: &[Face]) -> std::result::Result<Vec<Face>, Vec<Face>> {
    // (A solid the cut would enlarge — one not closed — is given back too.)
    let pts: Vec<P3> = hole.iter().flatten().flatten().copied().collect();
    let Some(first) = pts.first().copied() else { return Err(faces) };
    let scale_of = pts
        .iter()
        .map(|p| dot(sub(*p, first), sub(*p, first)).sqrt())
        .fold(0.0, f64::max)
        .max(1e-9);
    let tol = 1e-9 * scale_of.max(1.0);
    // The hole's planes, outward, each once.
    let mut planes: Vec<(P3, P3)> = Vec::new();
    for f in hole {
        let Some(n) = norm(newell(&f[0])) else { continue };
        let o = f[0][0];
        let side: Vec<f64> = pts.iter().map(|p| dot(sub(*p, o), n)).collect();
        let n = if side.iter().all(|d| *d <= tol) {
            n
        } else if side.iter().all(|d| *d >= -tol) {
            scale(n, -1.0)
        } else {
            return Err(faces);
        };
        if !planes
            .iter()
            .any(|(q, m)| dot(*m, n) > 1.0 - 1e-9 && dot(sub(o, *q), *m).abs() <= tol)
        {
            planes.push((o, n));
        }
    }
    if planes.len() < 4 {
        return Err(faces);
    }
    // Nothing to do when the solid lies wholly outside one of the planes.
    let solid: Vec<P3> = faces.iter().flatten().flatten().copied().collect();
    if planes.iter().any(|(o, n)| solid.iter().all(|p| dot(sub(*p, *o), *n) >= -tol)) {
        return Ok(faces);
    }
    let before = volume(&faces);
    let mut out = Vec::new();
    let mut rest = faces.clone();
    for (o, n) in planes {
        out.extend(clip(rest.clone(), o, n));
        rest = clip(rest, o, scale(n, -1.0));
        if rest.is_empty() {
            break;
        }
    }
    // A cut never adds material: where the solid was not closed and consistently wound (so the
    // pieces do not add up), the solid stays whole.
    let after = volume(&out);
    if after < -1e-9 || after > before + 1e-6 * before.abs() + 1e-9 {
        return Err(faces);
    }
    Ok(out)
}

/// The signed volume planar faces close (divergence theorem over each ring's fan).
pub fn volume(faces: &[Face]) -> f64 {
    let mut v = 0.0;
    for f in faces {
        for r in f {
            for i in 1..r.len().saturating_sub(1) {
                v += dot(r[0], cross(r[i], r[i + 1])) / 6.0;
            }
        }
    }
    v
}

/// Keep what lies on the side of the plane through `o` that `n` points to, and close the cut
/// with caps (the cut's loops, the largest one outer and those inside it its holes).
pub fn clip(faces: Vec<Face>, o: P3, n: P3) -> Vec<Face> {
    // Distances within a nanometre of the plane count as on it.
    let side = |p: P3| {
        let d = dot(sub(p, o), n);
        if d.abs() <= 1e-9 { 0.0 } else { d }
    };
    let mut out = Vec::with_capacity(faces.len());
    let mut cuts: Vec<(P3, P3)> = Vec::new();
    // Edges lying in the plane, of faces kept whole and of faces dropped whole: where a kept
    // face meets a dropped one along the plane, the cut's cap has that edge too.
    let mut kept_edges: Vec<(P3, P3)> = Vec::new();
    let mut dropped_edges: std::collections::HashSet<([i64; 3], [i64; 3])> = Default::default();
    let on_plane = |face: &Face, ds: &[Vec<f64>]| -> Vec<(P3, P3)> {
        let mut e = Vec::new();
        for (ring, d) in face.iter().zip(ds) {
            for i in 0..ring.len() {
                let j = (i + 1) % ring.len();
                if d[i] == 0.0 && d[j] == 0.0 {
                    e.push((ring[i], ring[j]));
                }
            }
        }
        e
    };
    for face in faces {
        let ds: Vec<Vec<f64>> = face.iter().map(|r| r.iter().map(|p| side(*p)).collect()).collect();
        if ds.iter().flatten().all(|d| *d == 0.0) {
            // A face in the plane bounds the kept part only if it faces away from it.
            if dot(newell(&face[0]), n) < 0.0 {
                out.push(face);
            }
            continue;
        }
        if ds.iter().flatten().all(|d| *d >= 0.0) {
            kept_edges.extend(on_plane(&face, &ds));
            out.push(face);
            continue;
        }
        if ds.iter().flatten().all(|d| *d <= 0.0) {
            dropped_edges.extend(on_plane(&face, &ds).into_iter().map(|(a, b)| (key(a), key(b))));
            continue;
        }
        let mut kept: Face = Vec::new();
        for (ring, d) in face.iter().zip(&ds) {
            let mut r = Vec::with_capacity(ring.len() + 2);
            // Each exit from the kept side pairs with the next entry; the kept ring runs along
            // the plane from the exit to the entry, so the cap runs from the entry to the exit.
            let mut exit: Option<P3> = None;
            let mut first_entry: Option<P3> = None;
            for i in 0..ring.len() {
                let j = (i + 1) % ring.len();
                let (a, b, da, db) = (ring[i], ring[j], d[i], d[j]);
                if da >= 0.0 {
                    r.push(a);
                }
                if (da >= 0.0) != (db >= 0.0) {
                    let t = da / (da - db);
                    let p = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
                    r.push(p);
                    if da >= 0.0 {
                        exit = Some(p);
                    } else if let Some(x) = exit.take() {
                        cuts.push((p, x));
                    } else {
                        first_entry = Some(p);
                    }
                }
            }
            if let (Some(x), Some(y)) = (exit, first_entry) {
                cuts.push((y, x));
            }
            dedup_ring(&mut r);
            if r.len() >= 3 {
                kept.push(r);
            } else if kept.is_empty() {
                break;
            }
        }
        if kept.first().is_some_and(|r| r.len() >= 3) {
            out.push(kept);
        }
    }
    for (a, b) in kept_edges {
        if dropped_edges.contains(&(key(b), key(a))) {
            cuts.push((b, a));
        }
    }
    out.extend(caps(cuts, n));
    out
}

/// A point rounded to a micrometre, to match edges and chain segments.
fn key(p: P3) -> [i64; 3] {
    [
        (p[0] * 1e6).round() as i64,
        (p[1] * 1e6).round() as i64,
        (p[2] * 1e6).round() as i64,
    ]
}

/// Chain the cut's segments into loops and make faces of them facing `-n` (out of the kept part).
fn caps(segs: Vec<(P3, P3)>, n: P3) -> Vec<Face> {
    if segs.len() < 3 {
        return Vec::new();
    }
    let mut next: BTreeMap<[i64; 3], Vec<usize>> = BTreeMap::new();
    for (i, s) in segs.iter().enumerate() {
        next.entry(key(s.0)).or_default().push(i);
    }
    let mut used = vec![false; segs.len()];
    let mut loops: Vec<Vec<P3>> = Vec::new();
    for start in 0..segs.len() {
        if used[start] {
            continue;
        }
        let mut ring = vec![segs[start].0];
        used[start] = true;
        let mut at = segs[start].1;
        let first = key(segs[start].0);
        for _ in 0..segs.len() {
            if key(at) == first {
                break;
            }
            ring.push(at);
            let Some(i) = next.get(&key(at)).and_then(|c| c.iter().copied().find(|i| !used[*i])) else {
                break;
            };
            used[i] = true;
            at = segs[i].1;
        }
        dedup_ring(&mut ring);
        if ring.len() >= 3 && key(at) == first {
            loops.push(ring);
        }
    }
    // Measure loops in the cut plane; orient each to face −n.
    let u = norm(cross(n, if n[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] })).unwrap_or([1.0, 0.0, 0.0]);
    let v = cross(n, u);
    let flat = |r: &Vec<P3>| -> Vec<[f64; 2]> { r.iter().map(|p| [dot(*p, u), dot(*p, v)]).collect() };
    let mut rings: Vec<(f64, Vec<[f64; 2]>, Vec<P3>)> = loops
        .into_iter()
        .map(|r| {
            let f = flat(&r);
            (area2(&f), f, r)
        })
        .collect();
    rings.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    let mut faces: Vec<(Vec<[f64; 2]>, Face)> = Vec::new();
    for (a, f, mut r) in rings {
        // Seen from +n (u, v, n right-handed), counter-clockwise faces +n: the cap wants −n for
        // an outer ring, +n for a hole.
        let holder = faces.iter().position(|(outer, _)| inside(f[0], outer));
        let want_ccw = holder.is_some();
        if (a > 0.0) != want_ccw {
            r.reverse();
        }
        match holder {
            Some(h) => faces[h].1.push(r),
            None => faces.push((f, vec![r])),
        }
    }
    faces.into_iter().map(|(_, f)| f).collect()
}

/// Whether a counter-clockwise ring turns left (or goes straight) at every vertex.
fn is_convex(r: &[[f64; 2]]) -> bool {
    let k = r.len();
    let scale = r.iter().map(|p| p[0].abs().max(p[1].abs())).fold(1.0, f64::max);
    (0..k).all(|i| turn(r[i], r[(i + 1) % k], r[(i + 2) % k]) >= -1e-12 * scale * scale)
}

/// The cross product of a→b and b→c: positive where the path turns left at b.
fn turn(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
}

/// A simple counter-clockwise polygon as convex pieces that meet along whole shared edges: split
/// at a reflex vertex by a diagonal inside the polygon (one that makes the vertex convex on both
/// sides where there is one, the shortest such), then each side again. Every split leaves two
/// smaller polygons, so it ends; a triangle is convex.
fn convex_pieces(ring: &[[f64; 2]]) -> Vec<Vec<[f64; 2]>> {
    let mut todo = vec![ring.to_vec()];
    let mut done = Vec::new();
    while let Some(r) = todo.pop() {
        let k = r.len();
        if k <= 3 || is_convex(&r) {
            done.push(r);
            continue;
        }
        let scale = r.iter().map(|p| p[0].abs().max(p[1].abs())).fold(1.0, f64::max);
        let eps = 1e-12 * scale * scale;
        let Some(i) = (0..k).find(|&i| turn(r[(i + k - 1) % k], r[i], r[(i + 1) % k]) < -eps) else {
            done.push(r);
            continue;
        };
        let mut best: Option<(bool, f64, usize)> = None;
        for j in 0..k {
            if j == i || j == (i + 1) % k || j == (i + k - 1) % k || !diagonal_inside(&r, i, j) {
                continue;
            }
            // Convex at i on both sides: the diagonal lies between the two edges' extensions.
            let (prev, next) = (r[(i + k - 1) % k], r[(i + 1) % k]);
            let resolves = turn(prev, r[i], r[j]) >= -eps && turn(r[j], r[i], next) >= -eps;
            let len = (r[j][0] - r[i][0]).hypot(r[j][1] - r[i][1]);
            let better = match best {
                None => true,
                Some((b, l, _)) => (resolves && !b) || (resolves == b && len < l),
            };
            if better {
                best = Some((resolves, len, j));
            }
        }
        let Some((_, _, j)) = best else {
            // No diagonal from that vertex (a degenerate ring): keep it whole.
            done.push(r);
            continue;
        };
        let (a, b) = (i.min(j), i.max(j));
        let first: Vec<[f64; 2]> = r[a..=b].to_vec();
        let second: Vec<[f64; 2]> = r[b..].iter().chain(&r[..=a]).copied().collect();
        todo.push(first);
        todo.push(second);
    }
    done
}

/// Whether the segment between vertices `i` and `j` of a simple polygon runs inside it: it
/// crosses no edge, passes through no other vertex, and its midpoint is inside.
fn diagonal_inside(r: &[[f64; 2]], i: usize, j: usize) -> bool {
    let (p, q) = (r[i], r[j]);
    let k = r.len();
    let len = (q[0] - p[0]).hypot(q[1] - p[1]);
    if len == 0.0 {
        return false;
    }
    for e in 0..k {
        let f = (e + 1) % k;
        if e != i && e != j && seg_dist(r[e], p, q) < 1e-9 * len {
            return false;
        }
        if [e, f].contains(&i) || [e, f].contains(&j) {
            continue;
        }
        let (a, b) = (r[e], r[f]);
        let (d1, d2) = (turn(p, q, a) * turn(p, q, b), turn(a, b, p) * turn(a, b, q));
        if d1 < 0.0 && d2 < 0.0 {
            return false;
        }
    }
    inside([(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0], r)
}

/// The side planes (a point, the outward normal) of the prism over a convex polygon in `frame`'s
/// xy plane; `None` when the polygon is not convex.
fn convex_sides(frame: &Xf, ring: &[[f64; 2]]) -> Option<Vec<(P3, P3)>> {
    let mut r: Vec<[f64; 2]> = ring.to_vec();
    if r.len() > 1 && r.first() == r.last() {
        r.pop();
    }
    r.dedup();
    if r.len() < 3 {
        return None;
    }
    if area2(&r) < 0.0 {
        r.reverse();
    }
    let k = r.len();
    let turns_left = (0..k).all(|i| turn(r[i], r[(i + 1) % k], r[(i + 2) % k]) >= -1e-12);
    if !turns_left {
        return None;
    }
    Some(
        (0..k)
            .filter_map(|i| {
                let (a, b) = (r[i], r[(i + 1) % k]);
                let out = norm(frame.dir([b[1] - a[1], a[0] - b[0], 0.0]))?;
                Some((frame.apply([a[0], a[1], 0.0]), out))
            })
            .collect(),
    )
}

/// Whether every vertex of `faces`, seen in `frame`'s xy plane, lies in `ring` (or on it).
fn all_inside(faces: &[Face], frame: &Xf, ring: &[[f64; 2]]) -> bool {
    if ring.len() < 3 {
        return false;
    }
    let (u, v) = (
        norm(frame.m[0]).unwrap_or([1.0, 0.0, 0.0]),
        norm(frame.m[1]).unwrap_or([0.0, 1.0, 0.0]),
    );
    let tol = 1e-6 * ring.iter().map(|p| p[0].abs().max(p[1].abs())).fold(1.0, f64::max);
    faces.iter().flatten().flatten().all(|p| {
        let d = sub(*p, frame.t);
        let q = [dot(d, u), dot(d, v)];
        inside(q, ring) || (0..ring.len()).any(|i| seg_dist(q, ring[i], ring[(i + 1) % ring.len()]) < tol)
    })
}

fn seg_dist(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l = dx * dx + dy * dy;
    let t = if l > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((p[0] - a[0] - t * dx).powi(2) + (p[1] - a[1] - t * dy).powi(2)).sqrt()
}

fn inside(p: [f64; 2], ring: &[[f64; 2]]) -> bool {
    let mut c = false;
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
        if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]) {
            c = !c;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_clipped_by_a_slanted_plane_stays_closed() {
        let mut faces = Vec::new();
        extrude(
            &[vec![[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]]],
            [0.0, 0.0, 1.0],
            3.0,
            &Xf::ID,
            &mut faces,
        );
        assert!((volume(&faces) - 6.0).abs() < 1e-9, "{}", volume(&faces));
        // Keep z ≤ 2: the normal of the kept side points down.
        let low = clip(faces.clone(), [0.0, 0.0, 2.0], [0.0, 0.0, -1.0]);
        assert!((volume(&low) - 4.0).abs() < 1e-9, "{}", volume(&low));
        // A roof pitch, keeping z ≤ 1 + x: below it within the 2×1×3 box lie ∫₀² (1 + x) dx = 4
        // m³; the plane runs exactly through the box's top edge at x = 2, so the cap's edge
        // there comes from a face that only touches the plane.
        let n = norm([1.0, 0.0, -1.0]).unwrap();
        let pitched = clip(faces.clone(), [0.0, 0.0, 1.0], n);
        assert!((volume(&pitched) - 4.0).abs() < 1e-9, "{}", volume(&pitched));
        // And one that cuts the box's sides only: z ≤ 1.5 + x / 2, ∫₀² (1.5 + x/2) dx = 4.
        let n = norm([0.5, 0.0, -1.0]).unwrap();
        let pitched = clip(faces, [0.0, 0.0, 1.5], n);
        assert!((volume(&pitched) - 4.0).abs() < 1e-9, "{}", volume(&pitched));
    }

    #[test]
    fn non_convex_profiles_split_into_convex_pieces_of_the_same_area() {
        // Five teeth 1 m wide and 3 m long on a 1 m spine.
        let comb: Vec<[f64; 2]> = [
            (0, 0),
            (9, 0),
            (9, 4),
            (8, 4),
            (8, 1),
            (7, 1),
            (7, 4),
            (6, 4),
            (6, 1),
            (5, 1),
            (5, 4),
            (4, 4),
            (4, 1),
            (3, 1),
            (3, 4),
            (2, 4),
            (2, 1),
            (1, 1),
            (1, 4),
            (0, 4),
        ]
        .iter()
        .map(|&(x, y)| [f64::from(x), f64::from(y)])
        .collect();
        assert_eq!(area2(&comb), 48.0);
        for ring in [
            vec![[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 2.0], [0.0, 2.0]],
            vec![
                [2.0, 1.0],
                [5.0, 1.0],
                [5.0, 2.0],
                [4.0, 2.0],
                [4.0, 4.0],
                [3.0, 4.0],
                [3.0, 2.0],
                [2.0, 2.0],
            ],
            comb,
        ] {
            assert!(area2(&ring) > 0.0 && !is_convex(&ring));
            let pieces = convex_pieces(&ring);
            assert!(pieces.len() >= 2, "{pieces:?}");
            for p in &pieces {
                assert!(is_convex(p) && area2(p) > 0.0, "{p:?}");
            }
            let sum: f64 = pieces.iter().map(|p| area2(p)).sum();
            assert!((sum - area2(&ring)).abs() < 1e-9, "{sum} against {}", area2(&ring));
        }
    }

    #[test]
    fn references_in_a_circle_and_doubling_trees_end() {
        // A composite curve made of itself, a profile derived from itself, and a Boolean union
        // whose operands are both the next union, 20 levels down to a block (2²⁰ paths).
        let mut f = String::from(
            "ISO-10303-21;HEADER;FILE_SCHEMA(('IFC4'));ENDSEC;DATA;\n\
             #1=IFCCOMPOSITECURVE((#2),.F.);#2=IFCCOMPOSITECURVESEGMENT(.CONTINUOUS.,.T.,#1);\n\
             #3=IFCSWEPTDISKSOLID(#1,0.1,$,$,$);#4=IFCDERIVEDPROFILEDEF(.AREA.,$,#4,$,$);\n\
             #5=IFCEXTRUDEDAREASOLID(#4,$,#6,1.);#6=IFCDIRECTION((0.,0.,1.));\n",
        );
        for k in 10..30 {
            f.push_str(&format!("#{k}=IFCBOOLEANRESULT(.UNION.,#{n},#{n});\n", n = k + 1));
        }
        f.push_str(
            "#30=IFCBLOCK($,1.,1.,1.);#100=IFCSHAPEREPRESENTATION($,'Body','CSG',(#3,#5,#10));\n\
             #101=IFCPRODUCTDEFINITIONSHAPE($,$,(#100));ENDSEC;END-ISO-10303-21;",
        );
        let step = super::super::step::parse(f.as_bytes()).unwrap();
        let mut g = Geom::new(&step, 1.0, 1.0);
        let mut out = Vec::new();
        g.product(&V::Ref(101), &Xf::ID, &mut out);
        // The union stopped at the item budget; what it read of the block is there.
        assert!(
            !out.is_empty() && g.items_read > MAX_ITEMS,
            "{} faces, {} items",
            out.len(),
            g.items_read
        );
    }

    #[test]
    fn frames_are_right_handed() {
        let f = frame([1.0, 2.0, 3.0], [0.0, 0.0, 1.0], Some([0.0, 1.0, 0.0]));
        assert_eq!(f.apply([1.0, 0.0, 0.0]), [1.0, 3.0, 3.0]);
        assert!((f.det() - 1.0).abs() < 1e-12);
    }
}
