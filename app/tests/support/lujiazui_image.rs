//! An orthophoto over the demo city for tests: the Landsat scene's pixels
//! (`assets/imagery/L7_ETMs.tif`) placed over Lujiazui by gdal_translate.

use std::path::{Path, PathBuf};

/// Write the image into `dir`; its path.
pub fn over_lujiazui(dir: &Path) -> PathBuf {
    let image = dir.join("over_lujiazui.tif");
    let landsat = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/imagery/L7_ETMs.tif");
    let ok = std::process::Command::new("gdal_translate")
        .args(["-q", "-a_srs", "EPSG:4490", "-a_ullr", "121.48", "31.25", "121.53", "31.21"])
        .arg(&landsat)
        .arg(&image)
        .status()
        .expect("gdal_translate (gdal-bin) runs");
    assert!(ok.success());
    image
}
