//! Reading can be cancelled: through the native GeoPackage reader and through GDAL, before it
//! starts or from the progress callback while it runs; the caller gets `Cancelled`, never a
//! half-read layer.

use jingwei_layers::{LayersError, OpenOptions, Source};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/lujiazui_osm.gpkg")
}

#[test]
fn cancelled_before_and_during_a_read() {
    // Before: nothing is read.
    let mut src = Source::open(demo(), &OpenOptions::default()).unwrap();
    let flag = Arc::new(AtomicBool::new(true));
    src.set_cancel(flag.clone());
    let e = src.read_layer(Some("buildings_polygon")).err().unwrap();
    assert!(matches!(e, LayersError::Cancelled { .. }), "{e}");
    assert!(e.to_string().contains("lujiazui_osm.gpkg") && e.to_string().contains("cancelled"));

    // During: the first progress report cancels the rest.
    let mut src = Source::open(demo(), &OpenOptions::default()).unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = flag.clone();
    src.set_progress(Arc::new(move |_, _| f2.store(true, Ordering::SeqCst)));
    src.set_cancel(flag.clone());
    assert!(matches!(
        src.read_layer(Some("buildings_polygon")),
        Err(LayersError::Cancelled { .. })
    ));

    // Not cancelled: the whole layer.
    let mut src = Source::open(demo(), &OpenOptions::default()).unwrap();
    src.set_cancel(Arc::new(AtomicBool::new(false)));
    assert_eq!(src.read_layer(Some("buildings_polygon")).unwrap().len(), 1450);

    // Through GDAL (a shapefile).
    let shp = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/encoding/lujiazui_pois_gbk.shp");
    let mut src = Source::open(&shp, &OpenOptions::default()).unwrap();
    src.set_cancel(Arc::new(AtomicBool::new(true)));
    assert!(matches!(src.read_layer(None), Err(LayersError::Cancelled { .. })));
}
