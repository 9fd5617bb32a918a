//! Burst isolation on a real-sized network: a synthetic lattice of 100,800 pipes whose answer
//! is known (a burst inside a block closes the block's boundary valves and isolates exactly the
//! block). Timings are printed, not asserted (benchmarks: `jingwei-tools bench-pipes`).

use jingwei_analysis::pipes::{Network, Tolerances, lattice};

#[test]
fn a_burst_in_a_hundred_thousand_pipe_lattice_isolates_its_block() {
    let (n, block, spacing) = (225, 9, 50.0);
    let (pipes, valves, sources, customers) = lattice(n, spacing, block);
    assert!(pipes.len() >= 100_000, "{}", pipes.len());
    let t0 = std::time::Instant::now();
    let net = Network::build(pipes, &valves, &sources, &customers, Tolerances::default());
    let built = t0.elapsed();
    assert_eq!(net.report.pipes, 2 * n * (n - 1));
    assert_eq!(net.report.valves, valves.len());
    assert_eq!(net.report.components, 1);
    assert!(net.report.gaps.is_empty());
    // Bursts in a few interior blocks (block rows/columns 3, 7, 12, 20 of 25).
    for (bc, br) in [(3, 3), (7, 12), (20, 20), (12, 7)] {
        let (c, r) = (bc * block + 4, br * block + 4);
        let (e, d) = net.nearest_edge((c as f64 + 0.5) * spacing, -(r as f64) * spacing).unwrap();
        assert!(d < 1e-9);
        let t1 = std::time::Instant::now();
        let plan = net.isolate(e);
        let took = t1.elapsed();
        assert_eq!(plan.main.valves.len(), 4 * block, "block ({bc}, {br})");
        let interior = 2 * block * (block - 1);
        let want = interior as f64 * spacing + (4 * block) as f64 * spacing / 2.0;
        assert!(
            (plan.main.isolated_length_m - want).abs() < 1e-6,
            "{} vs {want}",
            plan.main.isolated_length_m
        );
        assert!(plan.main.cut_off_pipes.is_empty());
        // Each failing valve opens the neighbouring block: the valves of its three other sides
        // are closed next (those of the shared side already are).
        for f in &plan.if_valve_fails {
            assert_eq!(f.next_valves.len(), 3 * block, "valve {}", f.failed);
        }
        eprintln!(
            "block ({bc}, {br}): isolation with {} failure cases in {took:?}",
            plan.if_valve_fails.len()
        );
    }
    eprintln!("{} pipes: network built in {built:?}", net.report.pipes);
}
