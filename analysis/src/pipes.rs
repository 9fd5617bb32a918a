//! City lifelines (城市生命线): pipe networks — water supply, drainage, gas, heat — as a graph
//! built from line layers, with valves, sources and customers; traces along the flow and burst
//! isolation (爆管关阀).
//!
//! **Topology.** Pipe ends closer than the snap tolerance become one node. A loose end within
//! the snap tolerance of another pipe's interior joins it there (a T-junction drawn without a
//! vertex); a loose end farther than that but within the gap tolerance is reported as a gap
//! (likely a drawing error the user should fix), never joined silently. Valves within the snap
//! tolerance of a pipe split it there (or sit on its end node); valves farther from every pipe
//! are reported. The graph's edges are the pieces of pipe between nodes.
//!
//! **Burst isolation.** From the broken piece, the search spreads over pieces through nodes until
//! it meets a valve: those valves are the ones to close, the pieces reached are isolated. With
//! sources (plants, pressure stations, regulators) given, every piece that no source reaches once
//! the valves are closed is cut off too (a dead end behind the break). For each valve to close, the
//! same search with that valve failing (stuck open) gives the valves to close next and what more is
//! cut off. A valve at a junction closes the junction.
//!
//! **Traces.** Downstream follows each pipe from its first to its last vertex (drainage networks
//! are drawn in the direction of flow), upstream the reverse. Pipes drawn against the flow are
//! traced wrongly: invert levels are not read yet.

use std::collections::{BTreeSet, VecDeque};

use geo::{Coord, LineString};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Line};
use serde::Serialize;

/// A pipe as read from a layer.
#[derive(Debug, Clone)]
pub struct PipeIn {
    /// Feature id.
    pub fid: i64,
    /// Its line (projected CRS, m), drawn in the direction of flow where that matters.
    pub line: LineString,
}

/// A point feature (valve, source, customer) as read from a layer.
#[derive(Debug, Clone, Copy)]
pub struct PointIn {
    /// Feature id.
    pub fid: i64,
    /// Position (projected CRS, m).
    pub x: f64,
    /// Position.
    pub y: f64,
}

/// Tolerances of a network build.
#[derive(Debug, Clone, Copy)]
pub struct Tolerances {
    /// Ends and valves closer than this (m) connect.
    pub snap_m: f64,
    /// Loose ends closer than this (m) to another pipe are reported as gaps.
    pub gap_m: f64,
    /// Customers farther than this (m) from every pipe are left unattached (and reported).
    pub service_m: f64,
}

impl Default for Tolerances {
    fn default() -> Tolerances {
        Tolerances {
            snap_m: 0.5,
            gap_m: 5.0,
            service_m: 100.0,
        }
    }
}

/// A loose pipe end near another pipe.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Gap {
    /// The pipe with the loose end.
    pub pipe: i64,
    /// The pipe it nearly touches.
    pub near_pipe: i64,
    /// Where the end is.
    pub x: f64,
    /// Where the end is.
    pub y: f64,
    /// How far it is from the other pipe (m).
    pub distance_m: f64,
}

/// What the topology build found.
#[derive(Debug, Clone, Default, Serialize, ts_rs::TS)]
pub struct TopologyReport {
    /// Pipes read.
    pub pipes: usize,
    /// Pipes left out (no line, or shorter than the snap tolerance).
    pub pipes_skipped: usize,
    /// Nodes of the graph.
    pub nodes: usize,
    /// Pieces of pipe between nodes.
    pub edges: usize,
    /// Loose ends joined to another pipe's interior.
    pub t_junctions: usize,
    /// Loose ends near another pipe but not joined.
    pub gaps: Vec<Gap>,
    /// Valves placed on the network.
    pub valves: usize,
    /// Valves farther than the snap tolerance from every pipe.
    pub valves_off_network: Vec<i64>,
    /// Sources placed (at their nearest node).
    pub sources: usize,
    /// Customers attached to a pipe.
    pub customers: usize,
    /// Customers farther than the service distance from every pipe.
    pub customers_unattached: Vec<i64>,
    /// Connected pieces of the network.
    pub components: usize,
}

#[derive(Debug, Clone)]
struct Edge {
    pipe: u32,
    a: u32,
    b: u32,
    length: f64,
    /// Chainage along its pipe where it starts and ends (m).
    from_m: f64,
    to_m: f64,
}

/// A pipe network.
pub struct Network {
    nodes: Vec<[f64; 2]>,
    edges: Vec<Edge>,
    pipes: Vec<PipeIn>,
    /// Edges at each node (CSR).
    offsets: Vec<u32>,
    incident: Vec<u32>,
    /// The valve (fid) at each node, if any.
    valve: Vec<Option<i64>>,
    sources: Vec<u32>,
    /// Customers per edge: (fid).
    customers: Vec<Vec<i64>>,
    edge_index: RTree<GeomWithData<Line<[f64; 2]>, u32>>,
    /// The pieces no source reaches with every valve open (not a burst's doing).
    unsupplied_before: Vec<bool>,
    /// What the build found.
    pub report: TopologyReport,
}

/// Where a point falls on a line: (distance, chainage, segment index).
fn locate(line: &LineString, p: [f64; 2]) -> (f64, f64, usize) {
    let mut best = (f64::INFINITY, 0.0, 0);
    let mut run = 0.0;
    for (k, s) in line.lines().enumerate() {
        let (dx, dy) = (s.end.x - s.start.x, s.end.y - s.start.y);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((p[0] - s.start.x) * dx + (p[1] - s.start.y) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (qx, qy) = (s.start.x + t * dx, s.start.y + t * dy);
        let d = (p[0] - qx).hypot(p[1] - qy);
        if d < best.0 {
            best = (d, run + t * len2.sqrt(), k);
        }
        run += len2.sqrt();
    }
    best
}

fn length(line: &LineString) -> f64 {
    line.lines().map(|s| (s.end.x - s.start.x).hypot(s.end.y - s.start.y)).sum()
}

/// The part of `line` between chainages `a` and `b` (m).
fn cut(line: &LineString, a: f64, b: f64) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::new();
    let mut run = 0.0;
    let at = |s: &geo::Line, t: f64| [s.start.x + t * (s.end.x - s.start.x), s.start.y + t * (s.end.y - s.start.y)];
    for s in line.lines() {
        let len = (s.end.x - s.start.x).hypot(s.end.y - s.start.y);
        let (s0, s1) = (run, run + len);
        run = s1;
        if s1 < a || s0 > b || len == 0.0 {
            continue;
        }
        if out.is_empty() {
            out.push(at(&s, ((a - s0) / len).clamp(0.0, 1.0)));
        }
        out.push(at(&s, ((b - s0) / len).clamp(0.0, 1.0)));
        if s1 >= b {
            break;
        }
    }
    out
}

impl Network {
    /// Build the network.
    pub fn build(pipes: Vec<PipeIn>, valves: &[PointIn], sources: &[PointIn], customers: &[PointIn], tol: Tolerances) -> Network {
        let mut report = TopologyReport {
            pipes: pipes.len(),
            ..TopologyReport::default()
        };
        let pipes: Vec<PipeIn> = pipes
            .into_iter()
            .filter(|p| p.line.0.len() >= 2 && length(&p.line) > tol.snap_m)
            .collect();
        report.pipes_skipped = report.pipes - pipes.len();
        // End nodes, snapped.
        let mut nodes: Vec<[f64; 2]> = Vec::new();
        // Snapping through a hash grid of snap-sized cells: the nearest node within the
        // tolerance lies in the 3 × 3 cells about a point.
        let cell = tol.snap_m.max(1e-6);
        let mut grid: std::collections::HashMap<(i64, i64), Vec<u32>> = std::collections::HashMap::new();
        let mut node_at = |p: [f64; 2], nodes: &mut Vec<[f64; 2]>| -> u32 {
            let (cx, cy) = ((p[0] / cell).floor() as i64, (p[1] / cell).floor() as i64);
            let mut best: Option<(f64, u32)> = None;
            for dx in -1..=1 {
                for dy in -1..=1 {
                    for &n in grid.get(&(cx + dx, cy + dy)).map_or(&[][..], |v| v.as_slice()) {
                        let q = nodes[n as usize];
                        let d2 = (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2);
                        if d2 <= tol.snap_m * tol.snap_m && best.is_none_or(|b| d2 < b.0) {
                            best = Some((d2, n));
                        }
                    }
                }
            }
            if let Some((_, n)) = best {
                return n;
            }
            let id = nodes.len() as u32;
            nodes.push(p);
            grid.entry((cx, cy)).or_default().push(id);
            id
        };
        // Split points per pipe: (chainage, node).
        let mut splits: Vec<Vec<(f64, u32)>> = Vec::with_capacity(pipes.len());
        for p in &pipes {
            let (s, e) = (p.line.0[0], p.line.0[p.line.0.len() - 1]);
            let a = node_at([s.x, s.y], &mut nodes);
            let b = node_at([e.x, e.y], &mut nodes);
            splits.push(vec![(0.0, a), (length(&p.line), b)]);
        }
        let seg_tree: RTree<GeomWithData<Line<[f64; 2]>, u32>> = RTree::bulk_load(
            pipes
                .iter()
                .enumerate()
                .flat_map(|(i, p)| {
                    p.line
                        .lines()
                        .map(move |s| GeomWithData::new(Line::new([s.start.x, s.start.y], [s.end.x, s.end.y]), i as u32))
                })
                .collect(),
        );
        // Loose ends: nodes used by one pipe end only.
        let mut degree = vec![0u32; nodes.len()];
        for s in &splits {
            degree[s[0].1 as usize] += 1;
            degree[s[1].1 as usize] += 1;
        }
        for (pi, p) in pipes.iter().enumerate() {
            for end in [0, 1] {
                let node = splits[pi][end].1;
                if degree[node as usize] != 1 {
                    continue;
                }
                let q = nodes[node as usize];
                let near = seg_tree
                    .nearest_neighbor_iter_with_distance_2(&q)
                    .take_while(|(_, d2)| *d2 <= tol.gap_m * tol.gap_m)
                    .find(|(g, _)| g.data as usize != pi);
                let Some((g, d2)) = near else { continue };
                let other = g.data as usize;
                let d = d2.sqrt();
                if d <= tol.snap_m {
                    let (_, ch, _) = locate(&pipes[other].line, q);
                    splits[other].push((ch, node));
                    report.t_junctions += 1;
                } else {
                    report.gaps.push(Gap {
                        pipe: p.fid,
                        near_pipe: pipes[other].fid,
                        x: q[0],
                        y: q[1],
                        distance_m: d,
                    });
                }
            }
        }
        // Valves: on their nearest pipe.
        let mut valve_nodes: Vec<(u32, i64)> = Vec::new();
        for v in valves {
            let q = [v.x, v.y];
            let near = seg_tree.nearest_neighbor_iter_with_distance_2(&q).next();
            match near {
                Some((g, d2)) if d2 <= tol.snap_m * tol.snap_m => {
                    let pi = g.data as usize;
                    let (_, ch, _) = locate(&pipes[pi].line, q);
                    // On an existing split point (an end or junction) when close to it.
                    let existing = splits[pi].iter().find(|(c, _)| (c - ch).abs() <= tol.snap_m).map(|(_, n)| *n);
                    let node = existing.unwrap_or_else(|| {
                        let at = cut(&pipes[pi].line, ch, ch);
                        let id = nodes.len() as u32;
                        nodes.push(at.first().copied().unwrap_or(q));
                        splits[pi].push((ch, id));
                        id
                    });
                    valve_nodes.push((node, v.fid));
                }
                _ => report.valves_off_network.push(v.fid),
            }
        }
        // Edges between consecutive split points.
        let mut edges = Vec::new();
        for (pi, s) in splits.iter_mut().enumerate() {
            s.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            s.dedup_by(|b, a| a.1 == b.1);
            for w in s.windows(2) {
                if w[0].1 == w[1].1 {
                    continue;
                }
                edges.push(Edge {
                    pipe: pi as u32,
                    a: w[0].1,
                    b: w[1].1,
                    length: w[1].0 - w[0].0,
                    from_m: w[0].0,
                    to_m: w[1].0,
                });
            }
        }
        let mut count = vec![0u32; nodes.len() + 1];
        for e in &edges {
            count[e.a as usize + 1] += 1;
            count[e.b as usize + 1] += 1;
        }
        for i in 1..count.len() {
            count[i] += count[i - 1];
        }
        let offsets = count.clone();
        let mut fill = count;
        let mut incident = vec![0u32; edges.len() * 2];
        for (k, e) in edges.iter().enumerate() {
            for n in [e.a, e.b] {
                incident[fill[n as usize] as usize] = k as u32;
                fill[n as usize] += 1;
            }
        }
        let mut valve = vec![None; nodes.len()];
        for (n, fid) in &valve_nodes {
            valve[*n as usize] = Some(*fid);
        }
        report.valves = valve_nodes.len();
        let final_tree = RTree::bulk_load(
            edges
                .iter()
                .enumerate()
                .flat_map(|(k, e)| {
                    let pts = cut(&pipes[e.pipe as usize].line, e.from_m, e.to_m);
                    pts.windows(2)
                        .map(move |w| GeomWithData::new(Line::new(w[0], w[1]), k as u32))
                        .collect::<Vec<_>>()
                })
                .collect(),
        );
        let node_tree: RTree<GeomWithData<[f64; 2], u32>> =
            RTree::bulk_load(nodes.iter().enumerate().map(|(i, p)| GeomWithData::new(*p, i as u32)).collect());
        let src: Vec<u32> = sources
            .iter()
            .filter_map(|s| node_tree.nearest_neighbor(&[s.x, s.y]).map(|n| n.data))
            .collect();
        report.sources = src.len();
        let mut per_edge = vec![Vec::new(); edges.len()];
        for c in customers {
            match final_tree.nearest_neighbor_iter_with_distance_2(&[c.x, c.y]).next() {
                Some((g, d2)) if d2 <= tol.service_m * tol.service_m => {
                    per_edge[g.data as usize].push(c.fid);
                    report.customers += 1;
                }
                _ => report.customers_unattached.push(c.fid),
            }
        }
        report.nodes = nodes.len();
        report.edges = edges.len();
        let mut net = Network {
            nodes,
            edges,
            pipes,
            offsets,
            incident,
            valve,
            sources: src,
            customers: per_edge,
            edge_index: final_tree,
            unsupplied_before: Vec::new(),
            report,
        };
        net.report.components = net.components();
        net.unsupplied_before = net.unsupplied(&vec![false; net.edges.len()], &BTreeSet::new());
        net
    }

    fn around(&self, n: u32) -> &[u32] {
        &self.incident[self.offsets[n as usize] as usize..self.offsets[n as usize + 1] as usize]
    }

    fn components(&self) -> usize {
        let mut seen = vec![false; self.nodes.len()];
        let mut count = 0;
        for s in 0..self.nodes.len() {
            if seen[s] || self.around(s as u32).is_empty() {
                continue;
            }
            count += 1;
            let mut stack = vec![s as u32];
            seen[s] = true;
            while let Some(n) = stack.pop() {
                for &e in self.around(n) {
                    let e = &self.edges[e as usize];
                    for m in [e.a, e.b] {
                        if !seen[m as usize] {
                            seen[m as usize] = true;
                            stack.push(m);
                        }
                    }
                }
            }
        }
        count
    }

    /// The piece of pipe nearest to (x, y) and its distance (m).
    pub fn nearest_edge(&self, x: f64, y: f64) -> Option<(usize, f64)> {
        self.edge_index
            .nearest_neighbor_iter_with_distance_2(&[x, y])
            .next()
            .map(|(g, d2)| (g.data as usize, d2.sqrt()))
    }

    /// The first piece of the pipe with feature id `fid`.
    pub fn edge_of_pipe(&self, fid: i64) -> Option<usize> {
        self.edges.iter().position(|e| self.pipes[e.pipe as usize].fid == fid)
    }

    /// The line of piece `e`.
    pub fn edge_line(&self, e: usize) -> Vec<[f64; 2]> {
        let e = &self.edges[e];
        cut(&self.pipes[e.pipe as usize].line, e.from_m, e.to_m)
    }

    /// The pipe (fid) of piece `e`.
    pub fn edge_pipe(&self, e: usize) -> i64 {
        self.pipes[self.edges[e].pipe as usize].fid
    }

    /// The pieces reachable from `start`'s ends without passing a closed valve node; the valve
    /// nodes met on the way (not passed).
    fn spread(&self, start: usize, open: &BTreeSet<u32>) -> (Vec<bool>, BTreeSet<u32>) {
        let mut in_set = vec![false; self.edges.len()];
        let mut seen_node = vec![false; self.nodes.len()];
        let mut valves = BTreeSet::new();
        let mut queue = VecDeque::new();
        in_set[start] = true;
        for n in [self.edges[start].a, self.edges[start].b] {
            queue.push_back(n);
        }
        while let Some(n) = queue.pop_front() {
            if std::mem::replace(&mut seen_node[n as usize], true) {
                continue;
            }
            if self.valve[n as usize].is_some() && !open.contains(&n) {
                valves.insert(n);
                continue;
            }
            for &e in self.around(n) {
                if !in_set[e as usize] {
                    in_set[e as usize] = true;
                    let e = &self.edges[e as usize];
                    queue.push_back(if e.a == n { e.b } else { e.a });
                }
            }
        }
        (in_set, valves)
    }

    /// The pieces no source reaches with `closed` nodes closed and `removed` pieces out.
    fn unsupplied(&self, removed: &[bool], closed: &BTreeSet<u32>) -> Vec<bool> {
        let mut reached = vec![false; self.edges.len()];
        let mut seen = vec![false; self.nodes.len()];
        let mut queue: VecDeque<u32> = self.sources.iter().copied().filter(|s| !closed.contains(s)).collect();
        while let Some(n) = queue.pop_front() {
            if std::mem::replace(&mut seen[n as usize], true) {
                continue;
            }
            for &e in self.around(n) {
                if removed[e as usize] {
                    continue;
                }
                reached[e as usize] = true;
                let ed = &self.edges[e as usize];
                let m = if ed.a == n { ed.b } else { ed.a };
                if !closed.contains(&m) {
                    queue.push_back(m);
                }
            }
        }
        reached.iter().zip(removed).map(|(r, x)| !r && !x).collect()
    }

    fn outcome(&self, start: usize, open: &BTreeSet<u32>) -> Isolation {
        let (isolated, valves) = self.spread(start, open);
        // Cut off: supplied before the break, not after (a piece no source ever reached is
        // not this burst's doing).
        let cut_off = if self.sources.is_empty() {
            vec![false; self.edges.len()]
        } else {
            let after = self.unsupplied(&isolated, &valves);
            after.iter().zip(&self.unsupplied_before).map(|(a, b)| *a && !*b).collect()
        };
        let pick = |set: &[bool]| -> Vec<usize> { set.iter().enumerate().filter(|(_, x)| **x).map(|(k, _)| k).collect() };
        let isolated = pick(&isolated);
        let cut_off = pick(&cut_off);
        let customers = |edges: &[usize]| -> Vec<i64> { edges.iter().flat_map(|e| self.customers[*e].iter().copied()).collect() };
        let pipes = |edges: &[usize]| -> Vec<i64> {
            let s: BTreeSet<i64> = edges.iter().map(|e| self.edge_pipe(*e)).collect();
            s.into_iter().collect()
        };
        let len = |edges: &[usize]| edges.iter().map(|e| self.edges[*e].length).fold(0.0, |a, b| a + b);
        let mut closing: Vec<(i64, u32)> = valves.iter().filter_map(|n| Some((self.valve[*n as usize]?, *n))).collect();
        closing.sort_by_key(|v| v.0);
        Isolation {
            valves: closing.iter().map(|v| v.0).collect(),
            valve_xy: closing.iter().map(|v| self.nodes[v.1 as usize]).collect(),
            valve_nodes: closing.iter().map(|v| v.1).collect(),
            isolated_pipes: pipes(&isolated),
            isolated_length_m: len(&isolated),
            isolated_customers: customers(&isolated),
            cut_off_pipes: pipes(&cut_off),
            cut_off_length_m: len(&cut_off),
            cut_off_customers: customers(&cut_off),
            isolated_edges: isolated,
            cut_off_edges: cut_off,
        }
    }

    /// Burst isolation for a break on piece `edge`: the valves to close and what they cut off;
    /// for each of those valves, what happens if it fails to close.
    pub fn isolate(&self, edge: usize) -> BurstPlan {
        let main = self.outcome(edge, &BTreeSet::new());
        let fallback = main
            .valves
            .iter()
            .zip(&main.valve_nodes)
            .map(|(fid, n)| {
                let alt = self.outcome(edge, &BTreeSet::from([*n]));
                let extra: Vec<i64> = alt.valves.iter().filter(|v| !main.valves.contains(v)).copied().collect();
                ValveFailure {
                    failed: *fid,
                    next_valves: extra,
                    outcome: alt,
                }
            })
            .collect();
        BurstPlan {
            pipe: self.edge_pipe(edge),
            edge,
            sources: self.sources.len(),
            main,
            if_valve_fails: fallback,
        }
    }

    /// The pieces downstream (`down`) or upstream of piece `edge`, following each pipe's drawing
    /// direction.
    pub fn trace(&self, edge: usize, down: bool) -> Vec<usize> {
        let mut seen = vec![false; self.edges.len()];
        let mut out = Vec::new();
        let mut stack = vec![edge];
        seen[edge] = true;
        while let Some(k) = stack.pop() {
            out.push(k);
            let e = &self.edges[k];
            let n = if down { e.b } else { e.a };
            for &j in self.around(n) {
                let f = &self.edges[j as usize];
                let next_end = if down { f.a } else { f.b };
                if next_end == n && !seen[j as usize] {
                    seen[j as usize] = true;
                    stack.push(j as usize);
                }
            }
        }
        out.sort_unstable();
        out
    }
}

/// What closing a set of valves does.
#[derive(Debug, Clone, Serialize)]
pub struct Isolation {
    /// The valves to close (fids).
    pub valves: Vec<i64>,
    /// Where they are.
    pub valve_xy: Vec<[f64; 2]>,
    /// Their nodes in the network.
    #[serde(skip)]
    pub valve_nodes: Vec<u32>,
    /// Pipes (fids) in the isolated section.
    pub isolated_pipes: Vec<i64>,
    /// Its length (m).
    pub isolated_length_m: f64,
    /// Customers on it.
    pub isolated_customers: Vec<i64>,
    /// Pipes no source reaches once the valves are closed (beyond the isolated section).
    pub cut_off_pipes: Vec<i64>,
    /// Their length (m).
    pub cut_off_length_m: f64,
    /// Customers on them.
    pub cut_off_customers: Vec<i64>,
    /// Pieces isolated (for drawing).
    #[serde(skip)]
    pub isolated_edges: Vec<usize>,
    /// Pieces cut off (for drawing).
    #[serde(skip)]
    pub cut_off_edges: Vec<usize>,
}

/// A valve that fails to close, and what must be closed instead.
#[derive(Debug, Clone, Serialize)]
pub struct ValveFailure {
    /// The valve that failed.
    pub failed: i64,
    /// The valves to close next.
    pub next_valves: Vec<i64>,
    /// The whole outcome with the failed valve open.
    pub outcome: Isolation,
}

/// The plan for a burst.
#[derive(Debug, Clone, Serialize)]
pub struct BurstPlan {
    /// The broken pipe.
    pub pipe: i64,
    /// The broken piece.
    #[serde(skip)]
    pub edge: usize,
    /// Sources in the network (0: only the isolated section is counted).
    pub sources: usize,
    /// Close these.
    pub main: Isolation,
    /// If one of them fails.
    pub if_valve_fails: Vec<ValveFailure>,
}

/// A synthetic lattice network for tests and benchmarks: `n` × `n` junctions `spacing` m apart,
/// pipes between neighbours (2·n·(n−1) pipes, drawn west→east and north→south), a valve on the
/// middle of every pipe that crosses a block boundary (blocks of `block` × `block` junctions), a
/// source at the north-west corner and a customer beside the middle of every pipe. A burst
/// inside an interior block isolates exactly that block.
pub fn lattice(n: usize, spacing: f64, block: usize) -> (Vec<PipeIn>, Vec<PointIn>, Vec<PointIn>, Vec<PointIn>) {
    let mut pipes = Vec::new();
    let mut valves = Vec::new();
    let mut customers = Vec::new();
    let p = |c: usize, r: usize| Coord {
        x: c as f64 * spacing,
        y: -(r as f64) * spacing,
    };
    let mut fid = 0;
    for r in 0..n {
        for c in 0..n {
            for (dc, dr) in [(1, 0), (0, 1)] {
                let (c2, r2) = (c + dc, r + dr);
                if c2 >= n || r2 >= n {
                    continue;
                }
                fid += 1;
                let (a, b) = (p(c, r), p(c2, r2));
                pipes.push(PipeIn {
                    fid,
                    line: LineString::new(vec![a, b]),
                });
                let mid = ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
                // A pipe crosses a block boundary when its ends lie in different blocks.
                if c / block != c2 / block || r / block != r2 / block {
                    valves.push(PointIn { fid, x: mid.0, y: mid.1 });
                }
                customers.push(PointIn {
                    fid,
                    x: mid.0 + if dr == 1 { 3.0 } else { 0.0 },
                    y: mid.1 + if dc == 1 { 3.0 } else { 0.0 },
                });
            }
        }
    }
    let sources = vec![PointIn { fid: 1, x: 0.0, y: 0.0 }];
    (pipes, valves, sources, customers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipe(fid: i64, pts: &[(f64, f64)]) -> PipeIn {
        PipeIn {
            fid,
            line: LineString::from(pts.to_vec()),
        }
    }

    fn pt(fid: i64, x: f64, y: f64) -> PointIn {
        PointIn { fid, x, y }
    }

    /// A hand-made network with known answers:
    ///
    /// ```text
    ///  S(0,0)──1──(100,0)──2──(200,0)──3──(300,0)
    ///              V10 at (50,0)   V11 at (150,0)   V12 at (250,0)
    ///                      │4 (100,0)→(100,-100), V13 at (100,-50)
    ///                      │5 (100,-100)→(200,-100)  (dead end)
    /// ```
    fn network() -> Network {
        let pipes = vec![
            pipe(1, &[(0.0, 0.0), (100.0, 0.0)]),
            pipe(2, &[(100.0, 0.0), (200.0, 0.0)]),
            pipe(3, &[(200.0, 0.0), (300.0, 0.0)]),
            pipe(4, &[(100.0, 0.0), (100.0, -100.0)]),
            pipe(5, &[(100.0, -100.0), (200.0, -100.0)]),
            // A pipe whose end stops 2 m short of pipe 3: a gap, not joined.
            pipe(6, &[(260.0, -50.0), (260.0, -2.0)]),
            // A pipe ending on pipe 5's interior (T-junction without a vertex).
            pipe(7, &[(150.0, -100.0), (150.0, -150.0)]),
        ];
        let valves = [
            pt(10, 50.0, 0.0),
            pt(11, 150.0, 0.0),
            pt(12, 250.0, 0.0),
            pt(13, 100.0, -50.0),
            pt(14, 999.0, 999.0),
        ];
        let customers = [
            pt(100, 120.0, 3.0),
            pt(101, 180.0, -95.0),
            pt(102, 280.0, 5.0),
            pt(103, 40.0, 2.0),
            pt(104, 152.0, -140.0),
        ];
        Network::build(pipes, &valves, &[pt(1, 0.0, 0.0)], &customers, Tolerances::default())
    }

    #[test]
    fn topology_reports_gaps_t_junctions_and_stray_valves() {
        let n = network();
        let r = &n.report;
        assert_eq!(r.t_junctions, 1);
        assert_eq!(r.gaps.len(), 1);
        assert_eq!((r.gaps[0].pipe, r.gaps[0].near_pipe), (6, 3));
        assert!((r.gaps[0].distance_m - 2.0).abs() < 1e-9);
        assert_eq!(r.valves, 4);
        assert_eq!(r.valves_off_network, [14]);
        assert_eq!(r.components, 2, "pipe 6 stands alone");
    }

    #[test]
    fn a_burst_closes_the_valves_around_it_and_cuts_off_the_dead_end() {
        let n = network();
        // Break on pipe 2 between (100,0) and V11: the section is bounded by V10, V11 and V13.
        let (e, _) = n.nearest_edge(120.0, 0.0).unwrap();
        let plan = n.isolate(e);
        assert_eq!(plan.main.valves, [10, 11, 13]);
        assert_eq!(plan.main.isolated_pipes, [1, 2, 4]);
        assert!((plan.main.isolated_length_m - (50.0 + 50.0 + 50.0)).abs() < 1e-9);
        assert_eq!(plan.main.isolated_customers, [100]);
        // Beyond V11 (pipe 2's east half and pipe 3) and below V13 (pipes 4, 5, 7) no source
        // reaches once the valves are closed.
        assert_eq!(plan.main.cut_off_pipes, [2, 3, 4, 5, 7]);
        let mut cut = plan.main.cut_off_customers.clone();
        cut.sort();
        assert_eq!(cut, [101, 102, 104]);
        // If V11 sticks open, V12 must be closed too.
        let f = plan.if_valve_fails.iter().find(|f| f.failed == 11).unwrap();
        assert_eq!(f.next_valves, [12]);
        // If V10 sticks, nothing stops the water from the source: the source side is the section.
        let f10 = plan.if_valve_fails.iter().find(|f| f.failed == 10).unwrap();
        assert!(f10.next_valves.is_empty());
        assert!(f10.outcome.isolated_pipes.contains(&1));
    }

    #[test]
    fn traces_follow_the_drawing_direction() {
        let n = network();
        let (e, _) = n.nearest_edge(100.0, -20.0).unwrap();
        let down: BTreeSet<i64> = n.trace(e, true).iter().map(|k| n.edge_pipe(*k)).collect();
        assert_eq!(
            down.into_iter().collect::<Vec<_>>(),
            [4, 5, 7],
            "pipe 7 leaves pipe 5 at the T-junction"
        );
        let up: BTreeSet<i64> = n.trace(e, false).iter().map(|k| n.edge_pipe(*k)).collect();
        assert_eq!(up.into_iter().collect::<Vec<_>>(), [1, 4]);
    }

    #[test]
    fn a_burst_in_a_lattice_isolates_its_block() {
        // 12 × 12 junctions in 4 × 4 blocks: a burst inside the middle block (junctions 4–7)
        // closes the 16 boundary valves (4 per side) and isolates the block's 24 interior pipes
        // plus the 16 half-pipes up to the valves.
        let (pipes, valves, sources, customers) = lattice(12, 50.0, 4);
        let n = Network::build(pipes, &valves, &sources, &customers, Tolerances::default());
        assert_eq!(n.report.pipes, 2 * 12 * 11);
        let (e, _) = n.nearest_edge(5.0 * 50.0 + 25.0, -5.0 * 50.0).unwrap();
        let plan = n.isolate(e);
        assert_eq!(plan.main.valves.len(), 16);
        assert!((plan.main.isolated_length_m - (24.0 * 50.0 + 16.0 * 25.0)).abs() < 1e-6);
        assert!(
            plan.main.cut_off_pipes.is_empty(),
            "the lattice is looped: nothing else loses supply"
        );
    }
}
