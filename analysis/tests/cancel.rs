//! Running the rules is a long job: it reports progress up to its planned total and stops when
//! cancelled, before it starts or in the middle, returning nothing half-made.

use jingwei_analysis::violations::{BuildingFields, Buildings, Inputs, PermitFields, Thresholds, ZoneFields, Zones, detect, detect_job};
use jingwei_layers::{Cancelled, Job, RepairMode, Workspace};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[test]
fn detection_reports_progress_and_stops_when_cancelled() {
    let ws = Workspace::open_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        RepairMode::Repair,
    )
    .unwrap();
    let layer = |id: &str| &ws.layer(id).unwrap().layer;
    let (b, p) = (layer("buildings"), layer("permits"));
    let inputs = Inputs {
        buildings: Buildings {
            layer: b,
            fields: BuildingFields::guess(b),
        },
        permits: Some((p, PermitFields::guess(p))),
        zones: ["control_zones", "river_protection"]
            .into_iter()
            .map(|z| Zones {
                layer: layer(z),
                fields: ZoneFields::guess(layer(z)),
            })
            .collect(),
        previous: None,
    };
    let n = inputs.buildings.layer.len() as u64;
    let t = Thresholds::default();

    // Two passes over the buildings (permit coverage, then the rules); reports reach the end.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let job = Job::new().with_progress(Arc::new(move |d, total| s2.lock().unwrap().push((d, total))));
    let full = detect_job(&inputs, &t, &job).unwrap();
    assert_eq!(job.total(), 2 * n);
    assert_eq!(job.done(), 2 * n);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 1, "{seen:?}");
    assert!(seen.iter().any(|&(d, total)| d == total && total == 2 * n), "{seen:?}");
    assert_eq!(full.findings.len(), detect(&inputs, &t).findings.len());
    assert!(!full.findings.is_empty());

    // Cancelled before it starts.
    let job = Job::new();
    job.cancel();
    assert_eq!(detect_job(&inputs, &t, &job).err(), Some(Cancelled));

    // Cancelled from another thread's point of view in the middle: once a quarter is done.
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = flag.clone();
    let job = Job::new().with_cancel(flag.clone()).with_progress(Arc::new(move |d, total| {
        if d * 4 >= total {
            f2.store(true, Ordering::SeqCst);
        }
    }));
    assert_eq!(detect_job(&inputs, &t, &job).err(), Some(Cancelled));
    assert!(flag.load(Ordering::SeqCst));
    assert!(job.done() < job.total(), "it ran to the end: {} of {}", job.done(), job.total());
}
