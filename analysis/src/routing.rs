//! Road-network travel times for emergency response: a directed graph built from a roads layer
//! (vertices shared by lines are junctions; loose line ends within a snapping distance of another
//! vertex are joined, as tiled or digitised data needs), speeds by road class, one-way streets
//! honoured, and one-to-many Dijkstra from an incident to every node, with the routes.
//!
//! Speeds (km/h) by OpenStreetMap `highway` class (or the same words in Tilezen's `kind_detail`,
//! Geofabrik's `fclass`): motorway 80, trunk 70, primary 60, secondary 50, tertiary 40,
//! unclassified/residential 30, service 20, living_street/track 10–15; Tilezen `kind`: highway 80,
//! major_road 50, minor_road 30. Footways, paths, steps, cycleways, rail and ferries carry no
//! vehicles and are left out. Getting onto the network from a point (and off it to a resource)
//! counts as straight-line distance at [`ACCESS_KMH`].

use geo::{Coord, Geometry, LineString};
use jingwei_layers::Layer;
use rstar::RTree;
use rstar::primitives::GeomWithData;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// Speed of the straight legs between a point and its nearest road node (km/h).
pub const ACCESS_KMH: f64 = 10.0;

/// Vehicle speed of a road class (km/h); `None` for what vehicles do not use.
pub fn speed_kmh(class: &str) -> Option<f64> {
    let c = class.trim().to_ascii_lowercase();
    let c = c.strip_suffix("_link").unwrap_or(&c);
    Some(match c {
        "motorway" | "highway" => 80.0,
        "trunk" => 70.0,
        "primary" => 60.0,
        "secondary" | "major_road" => 50.0,
        "tertiary" => 40.0,
        "unclassified" | "residential" | "road" | "minor_road" => 30.0,
        "service" | "services" => 20.0,
        "track" => 15.0,
        "living_street" => 10.0,
        _ => return None,
    })
}

/// One-way flag of an OSM value: `Some(true)` forward only, `Some(false)` backward only.
fn oneway(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Some(true),
        "-1" | "reverse" => Some(false),
        _ => None,
    }
}

/// A value of an hstore-style `other_tags` field (`"oneway"=>"yes","maxspeed"=>"50"`).
fn hstore_get(s: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\"=>\"");
    let i = s.find(&pat)? + pat.len();
    let rest = &s[i..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The routable road network.
pub struct RoadGraph {
    xy: Vec<[f64; 2]>,
    offsets: Vec<u32>,
    to: Vec<u32>,
    cost_s: Vec<f32>,
    /// The same edges reversed (for travel times *to* a point).
    r_offsets: Vec<u32>,
    r_to: Vec<u32>,
    r_cost_s: Vec<f32>,
    nodes: RTree<GeomWithData<[f64; 2], u32>>,
    /// Whether a node lies in a large connected piece of the network (points snap only to
    /// those: a stray fragment — a car park, a clipped road end — would strand them).
    in_main: Vec<bool>,
    /// Lines used, and lines left out (no vehicle class).
    pub lines_used: usize,
    /// Lines left out.
    pub lines_skipped: usize,
}

/// Travel times from one origin to every node.
pub struct Tree {
    /// Seconds to each node (`f32::INFINITY` where unreachable).
    pub time_s: Vec<f32>,
    prev: Vec<u32>,
    origin: [f64; 2],
    origin_access_s: f64,
}

#[derive(PartialEq)]
struct Item(f32, u32);
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

impl RoadGraph {
    /// Build from a line layer in a projected CRS (metres). The class comes from `highway`,
    /// `kind_detail`, `fclass` or `kind`; one-way from `oneway`, `other_tags` or a roundabout.
    pub fn from_layer(layer: &Layer, snap_m: f64) -> Result<RoadGraph, crate::AnalysisError> {
        let field = |names: &[&str]| names.iter().find_map(|n| layer.field_index(n));
        let class_fields: Vec<usize> = ["highway", "kind_detail", "fclass", "kind"]
            .iter()
            .filter_map(|n| layer.field_index(n))
            .collect();
        if class_fields.is_empty() {
            return Err(crate::AnalysisError::Roads {
                path: layer.source_path.clone(),
                layer: layer.name.clone(),
                problem: "has no road class field (highway, kind_detail, fclass or kind)".into(),
            });
        }
        let oneway_f = field(&["oneway"]);
        let tags_f = field(&["other_tags"]);
        let junction_f = field(&["junction"]);
        let mut index: HashMap<(i64, i64), u32> = HashMap::new();
        let mut xy: Vec<[f64; 2]> = Vec::new();
        let mut edges: Vec<(u32, u32, f32)> = Vec::new();
        let (mut used, mut skipped) = (0, 0);
        let mut node = |c: Coord, xy: &mut Vec<[f64; 2]>| -> u32 {
            let key = ((c.x * 100.0).round() as i64, (c.y * 100.0).round() as i64);
            *index.entry(key).or_insert_with(|| {
                xy.push([c.x, c.y]);
                (xy.len() - 1) as u32
            })
        };
        for row in 0..layer.len() {
            let Some(g) = &layer.geometries.geometry(row) else { continue };
            let f = layer.feature(row);
            let speed = class_fields.iter().find_map(|i| f.value(*i).as_str().and_then(speed_kmh));
            let Some(kmh) = speed else {
                skipped += 1;
                continue;
            };
            let tags = tags_f.and_then(|i| f.value(i).as_str().map(str::to_string)).unwrap_or_default();
            let ow = oneway_f
                .and_then(|i| f.value(i).as_str().and_then(oneway))
                .or_else(|| hstore_get(&tags, "oneway").as_deref().and_then(oneway))
                .or_else(|| {
                    let j = junction_f
                        .and_then(|i| f.value(i).as_str().map(str::to_string))
                        .or_else(|| hstore_get(&tags, "junction"));
                    (j.as_deref() == Some("roundabout")).then_some(true)
                });
            let kmh = hstore_get(&tags, "maxspeed")
                .and_then(|m| m.trim().parse::<f64>().ok())
                .filter(|m| *m > 0.0)
                .unwrap_or(kmh);
            let lines: Vec<&LineString> = match g {
                Geometry::LineString(l) => vec![l],
                Geometry::MultiLineString(m) => m.0.iter().collect(),
                _ => {
                    skipped += 1;
                    continue;
                }
            };
            used += 1;
            for l in lines {
                for w in l.0.windows(2) {
                    let (a, b) = (node(w[0], &mut xy), node(w[1], &mut xy));
                    if a == b {
                        continue;
                    }
                    let len = ((w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2)).sqrt();
                    let s = (len / (kmh / 3.6)) as f32;
                    match ow {
                        Some(true) => edges.push((a, b, s)),
                        Some(false) => edges.push((b, a, s)),
                        None => {
                            edges.push((a, b, s));
                            edges.push((b, a, s));
                        }
                    }
                }
            }
        }
        // Join loose ends to the nearest other node within the snapping distance (both ways,
        // at the speed of access).
        let tree = RTree::bulk_load(xy.iter().enumerate().map(|(i, p)| GeomWithData::new(*p, i as u32)).collect());
        let mut degree = vec![0u32; xy.len()];
        for (a, b, _) in &edges {
            degree[*a as usize] += 1;
            degree[*b as usize] += 1;
        }
        if snap_m > 0.0 {
            for (i, p) in xy.iter().enumerate() {
                if degree[i] > 2 {
                    continue;
                }
                let near = tree
                    .locate_within_distance(*p, snap_m * snap_m)
                    .filter(|n| n.data as usize != i)
                    .min_by(|a, b| {
                        let d = |n: &GeomWithData<[f64; 2], u32>| (n.geom()[0] - p[0]).powi(2) + (n.geom()[1] - p[1]).powi(2);
                        d(a).total_cmp(&d(b))
                    });
                if let Some(n) = near {
                    let d = ((n.geom()[0] - p[0]).powi(2) + (n.geom()[1] - p[1]).powi(2)).sqrt();
                    let s = (d / (ACCESS_KMH / 3.6)) as f32;
                    edges.push((i as u32, n.data, s));
                    edges.push((n.data, i as u32, s));
                }
            }
        }
        let csr = |edges: &mut Vec<(u32, u32, f32)>| {
            edges.sort_unstable_by_key(|e| e.0);
            let mut offsets = vec![0u32; xy.len() + 1];
            for (a, _, _) in edges.iter() {
                offsets[*a as usize + 1] += 1;
            }
            for i in 1..offsets.len() {
                offsets[i] += offsets[i - 1];
            }
            (
                offsets,
                edges.iter().map(|e| e.1).collect::<Vec<u32>>(),
                edges.iter().map(|e| e.2).collect::<Vec<f32>>(),
            )
        };
        // Connected pieces (ignoring direction), by union-find.
        let mut parent: Vec<u32> = (0..xy.len() as u32).collect();
        fn find(p: &mut [u32], mut i: u32) -> u32 {
            while p[i as usize] != i {
                p[i as usize] = p[p[i as usize] as usize];
                i = p[i as usize];
            }
            i
        }
        for (a, b, _) in &edges {
            let (ra, rb) = (find(&mut parent, *a), find(&mut parent, *b));
            if ra != rb {
                parent[ra as usize] = rb;
            }
        }
        let roots: Vec<u32> = (0..xy.len() as u32).map(|i| find(&mut parent, i)).collect();
        let mut size: HashMap<u32, usize> = HashMap::new();
        for r in &roots {
            *size.entry(*r).or_default() += 1;
        }
        let largest = size.values().copied().max().unwrap_or(0);
        let big = (largest / 10).max(1).min(largest);
        let in_main: Vec<bool> = roots.iter().map(|r| size[r] >= big).collect();
        let mut reversed: Vec<(u32, u32, f32)> = edges.iter().map(|&(a, b, c)| (b, a, c)).collect();
        let (offsets, to, cost_s) = csr(&mut edges);
        let (r_offsets, r_to, r_cost_s) = csr(&mut reversed);
        Ok(RoadGraph {
            to,
            cost_s,
            offsets,
            r_offsets,
            r_to,
            r_cost_s,
            xy,
            nodes: tree,
            in_main,
            lines_used: used,
            lines_skipped: skipped,
        })
    }

    /// The same network with the edges whose segment `closed` says is impassable (a flooded
    /// street, a closed zone) removed; and how many directed edges that closed.
    pub fn with_closed(&self, closed: impl Fn([f64; 2], [f64; 2]) -> bool) -> (RoadGraph, usize) {
        let mut shut = 0;
        let mut cost_s = self.cost_s.clone();
        for a in 0..self.xy.len() {
            for k in self.offsets[a] as usize..self.offsets[a + 1] as usize {
                if closed(self.xy[a], self.xy[self.to[k] as usize]) {
                    cost_s[k] = f32::INFINITY;
                    shut += 1;
                }
            }
        }
        let mut r_cost_s = self.r_cost_s.clone();
        for b in 0..self.xy.len() {
            for k in self.r_offsets[b] as usize..self.r_offsets[b + 1] as usize {
                if closed(self.xy[self.r_to[k] as usize], self.xy[b]) {
                    r_cost_s[k] = f32::INFINITY;
                }
            }
        }
        (
            RoadGraph {
                xy: self.xy.clone(),
                offsets: self.offsets.clone(),
                to: self.to.clone(),
                cost_s,
                r_offsets: self.r_offsets.clone(),
                r_to: self.r_to.clone(),
                r_cost_s,
                nodes: self.nodes.clone(),
                in_main: self.in_main.clone(),
                lines_used: self.lines_used,
                lines_skipped: self.lines_skipped,
            },
            shut,
        )
    }

    /// Number of junctions and vertices.
    pub fn node_count(&self) -> usize {
        self.xy.len()
    }

    /// Number of directed edges.
    pub fn edge_count(&self) -> usize {
        self.to.len()
    }

    /// The node nearest to a point within the large connected pieces of the network (at least a
    /// tenth of the largest), and its distance (m).
    pub fn nearest_node(&self, x: f64, y: f64) -> Option<(u32, f64)> {
        let n = self.nodes.nearest_neighbor_iter(&[x, y]).find(|n| self.in_main[n.data as usize])?;
        Some((n.data, ((n.geom()[0] - x).powi(2) + (n.geom()[1] - y).powi(2)).sqrt()))
    }

    /// Travel times from the point (x, y) to every node (Dijkstra over the whole network).
    pub fn from_point(&self, x: f64, y: f64) -> Option<Tree> {
        self.dijkstra(x, y, false)
    }

    /// Travel times from every node to the point (x, y) (Dijkstra over the reversed edges):
    /// how long it takes to get *there*, one-way streets included.
    pub fn to_point_tree(&self, x: f64, y: f64) -> Option<Tree> {
        self.dijkstra(x, y, true)
    }

    fn dijkstra(&self, x: f64, y: f64, reverse: bool) -> Option<Tree> {
        let (offsets, to, cost) = if reverse {
            (&self.r_offsets, &self.r_to, &self.r_cost_s)
        } else {
            (&self.offsets, &self.to, &self.cost_s)
        };
        let (origin, d) = self.nearest_node(x, y)?;
        let n = self.xy.len();
        let mut time = vec![f32::INFINITY; n];
        let mut prev = vec![u32::MAX; n];
        let mut heap = BinaryHeap::new();
        time[origin as usize] = 0.0;
        heap.push(Item(0.0, origin));
        while let Some(Item(t, u)) = heap.pop() {
            if t > time[u as usize] {
                continue;
            }
            let (s, e) = (offsets[u as usize] as usize, offsets[u as usize + 1] as usize);
            for k in s..e {
                let v = to[k] as usize;
                let nt = t + cost[k];
                if nt < time[v] {
                    time[v] = nt;
                    prev[v] = u;
                    heap.push(Item(nt, v as u32));
                }
            }
        }
        Some(Tree {
            time_s: time,
            prev,
            origin: [x, y],
            origin_access_s: d / (ACCESS_KMH / 3.6),
        })
    }

    /// Travel time (s) from the tree's origin point to the point (x, y), with the route as
    /// coordinates (origin first); `None` when unreachable.
    pub fn to_point(&self, tree: &Tree, x: f64, y: f64) -> Option<(f64, Vec<[f64; 2]>)> {
        let (node, d) = self.nearest_node(x, y)?;
        let t = tree.time_s[node as usize];
        if !t.is_finite() {
            return None;
        }
        let mut nodes = Vec::new();
        let mut u = node;
        loop {
            nodes.push(self.xy[u as usize]);
            let p = tree.prev[u as usize];
            if p == u32::MAX {
                break;
            }
            u = p;
        }
        nodes.reverse();
        let mut path = Vec::with_capacity(nodes.len() + 2);
        path.push(tree.origin);
        path.extend(nodes);
        path.push([x, y]);
        Some((tree.origin_access_s + f64::from(t) + d / (ACCESS_KMH / 3.6), path))
    }

    /// Check the tree against the graph: no edge could shorten any node's time (the
    /// Bellman condition Dijkstra must leave behind). Returns the worst violation (s).
    pub fn worst_violation(&self, tree: &Tree) -> f32 {
        let mut worst = 0.0f32;
        for u in 0..self.xy.len() {
            if !tree.time_s[u].is_finite() {
                continue;
            }
            for k in self.offsets[u] as usize..self.offsets[u + 1] as usize {
                let v = self.to[k] as usize;
                worst = worst.max(tree.time_s[v] - (tree.time_s[u] + self.cost_s[k]));
            }
        }
        worst
    }
}

/// One resource reached by road.
#[derive(Debug, Clone, Serialize)]
pub struct RoadHit {
    /// Row of the resource.
    pub row: usize,
    /// Travel time (s).
    pub time_s: f64,
    /// The route, origin first, in the graph's CRS.
    pub route: Vec<[f64; 2]>,
}

/// Travel time (s) from a point to the origin of a tree made by [`RoadGraph::to_point_tree`].
pub fn time_from(graph: &RoadGraph, to_tree: &Tree, x: f64, y: f64) -> Option<f64> {
    let (node, d) = graph.nearest_node(x, y)?;
    let t = to_tree.time_s[node as usize];
    t.is_finite()
        .then(|| to_tree.origin_access_s + f64::from(t) + d / (ACCESS_KMH / 3.6))
}

/// Where the affected people of one building go.
#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    /// Building row.
    pub building: usize,
    /// Shelter row.
    pub shelter: usize,
    /// People sent there.
    pub people: f64,
    /// Travel time (s).
    pub time_s: f64,
}

/// The outcome of a shelter allocation.
#[derive(Debug, Clone, Serialize)]
pub struct Allocation {
    /// Placements, by increasing travel time.
    pub placements: Vec<Placement>,
    /// People placed per shelter row (and that shelter's capacity).
    pub per_shelter: Vec<(usize, f64, f64)>,
    /// People left over: no shelter within the limit had room.
    pub left_over: f64,
    /// Buildings with people left over.
    pub left_over_buildings: Vec<usize>,
}

/// Assign the people of the affected buildings to shelters reachable within `limit_s`, never
/// beyond a shelter's capacity: greedily by increasing travel time over all (building, shelter)
/// pairs, splitting a building between shelters when one fills up. Nearest-first greedy, not an
/// optimal transport: it keeps every evacuee's trip as short as the remaining capacity allows.
/// `buildings` are (row, x, y, people); `shelters` (row, x, y, capacity).
pub fn allocate(graph: &RoadGraph, buildings: &[(usize, f64, f64, f64)], shelters: &[(usize, f64, f64, f64)], limit_s: f64) -> Allocation {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (si, s) in shelters.iter().enumerate() {
        let Some(tree) = graph.to_point_tree(s.1, s.2) else { continue };
        for (bi, b) in buildings.iter().enumerate() {
            if let Some(t) = time_from(graph, &tree, b.1, b.2)
                && t <= limit_s
            {
                pairs.push((t, bi, si));
            }
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut need: Vec<f64> = buildings.iter().map(|b| b.3.max(0.0)).collect();
    let mut room: Vec<f64> = shelters.iter().map(|s| s.3.max(0.0)).collect();
    let mut placements = Vec::new();
    for (t, bi, si) in pairs {
        let n = need[bi].min(room[si]);
        if n <= 0.0 {
            continue;
        }
        need[bi] -= n;
        room[si] -= n;
        placements.push(Placement {
            building: buildings[bi].0,
            shelter: shelters[si].0,
            people: n,
            time_s: t,
        });
    }
    Allocation {
        per_shelter: shelters.iter().zip(&room).map(|(s, r)| (s.0, s.3 - r, s.3)).collect(),
        left_over: need.iter().sum(),
        left_over_buildings: buildings.iter().zip(&need).filter(|(_, n)| **n > 1e-9).map(|(b, _)| b.0).collect(),
        placements,
    }
}
