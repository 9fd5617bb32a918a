//! Invalid geometry is counted and reported with feature ids, then repaired or set aside as
//! the caller chooses — never silently dropped, never a panic.

use std::process::Command;

fn jingwei(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jingwei")).args(args).output().unwrap()
}

#[test]
fn invalid_geometries_are_reported_with_ids_and_repaired_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("parcels.csv");
    // A bow-tie, a ring with two distinct points, a multipolygon with an empty part, a good
    // square; CGCS2000 Gauss-Krüger CM 114E metres (declared in the .prj-like .csvt-free way:
    // through --in and a workspace is not needed, so the layer stays in native units).
    std::fs::write(
        &csv,
        "id,name,WKT\n\
         1,bowtie,\"POLYGON((0 0,20 20,20 0,0 20,0 0))\"\n\
         2,sliver,\"POLYGON((30 0,40 0,30 0))\"\n\
         3,good,\"POLYGON((50 0,60 0,60 10,50 10,50 0))\"\n\
         4,emptypart,\"MULTIPOLYGON(((70 0,80 0,80 10,70 10,70 0)),EMPTY)\"\n",
    )
    .unwrap();
    let p = csv.to_str().unwrap();
    // Repair (default): the bow-tie becomes two triangles, the sliver cannot be saved.
    let out = jingwei(&["query", p, "--bbox", "-10,-10,100,100", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid geometries") && err.contains("parcels.csv"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<i64> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_i64().unwrap())
        .collect();
    assert!(
        ids.contains(&1) && ids.contains(&3) && ids.contains(&4) && !ids.contains(&2),
        "{ids:?}"
    );
    let bowtie = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["id"] == 1)
        .unwrap();
    assert_eq!(bowtie["geometry"]["type"], "MultiPolygon");
    // Skip: only the good square is left with a geometry; the others are named on stderr.
    let out = jingwei(&["query", p, "--bbox", "-10,-10,100,100", "--invalid", "skip", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<i64> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![3]);
    assert!(err.contains("3 invalid geometries") && err.contains("3 set aside"), "{err}");
}
