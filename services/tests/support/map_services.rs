//! The map services of `scripts/map-services.sh` (MapServer, MapProxy, pygeoapi on
//! 127.0.0.1), started once per test binary and shared by its tests: the script's KEY=VALUE
//! lines (URLs, the run folder, the ground mark). Included by the service tests of several
//! crates (`#[path]`), so that there is one copy.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// Start the services (or find them running) and read what the script printed.
pub fn servers() -> &'static HashMap<String, String> {
    static S: OnceLock<HashMap<String, String>> = OnceLock::new();
    S.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/map-services.sh");
        let out = std::process::Command::new(&script)
            .arg("start")
            .output()
            .expect("scripts/map-services.sh runs");
        assert!(
            out.status.success(),
            "map services did not start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect()
    })
}
