//! The commander's what-if scenarios on the demo city, as the app and the CLI call them: a flood
//! from the Huangpu gauge through the weak section of the synthetic flood wall, rainfall, a gas
//! release, an earthquake; their logs on the incident, replay, drills, and bad parameters.

use jingwei_app::Session;
use jingwei_app::scenario::{Model, ScenarioInput};
use jingwei_app::session::Canvas;
use std::path::Path;

fn demo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json")
}

fn canvas() -> Canvas {
    Canvas {
        width: 800,
        height: 600,
        current: None,
    }
}

/// The demo gauge (assets/demo/feeds/gauge_lujiazui.json).
const GAUGE: (f64, f64) = (121.4948, 31.2354);

fn flood(level: f64, from: Option<f64>, steps: u32) -> Model {
    Model::Flood {
        level_m: level,
        from_m: from,
        steps,
        passable_m: 0.3,
    }
}

#[test]
fn a_rising_huangpu_floods_through_the_weak_wall_and_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "值班长".into());
    s.open_catalog(&demo()).unwrap();
    let inc = s.add_incident_at("flood", GAUGE.0, GAUGE.1).unwrap();
    let key = inc.incident_no.clone();
    let run = |model: Model, evac: Option<f64>| {
        s.run_scenario(
            &ScenarioInput {
                model,
                incident: Some(key.clone()),
                at: None,
                evacuate_min: evac,
            },
            canvas(),
        )
    };
    // Below the weak section's 4.9 m the wall holds: only the river (and what OSM draws on it:
    // a pier's building) is under water, though the ground behind the wall lies at 3.8 m
    // (connected flooding, not a bathtub).
    let low = run(flood(4.8, None, 1), None).unwrap();
    assert!(low.buildings <= 2, "{:?}", low.reached);
    assert!(low.max_value > 10.0, "the river bed at −6 m: {}", low.max_value);
    // 5.6 m pours through the gap onto the low bank behind the wall.
    let high = run(flood(5.6, Some(4.6), 4), Some(30.0)).unwrap();
    assert_eq!(high.steps.len(), 4);
    assert!(high.area_m2 > low.area_m2, "{} vs {}", high.area_m2, low.area_m2);
    assert!(high.buildings > 0 && high.people > 0.0, "{high:?}");
    assert!(high.max_value > 7.0, "the river bed at −6 m: {}", high.max_value);
    assert!(high.roads_closed > 0 && high.roads_closed_m > 0.0);
    for w in high.steps.windows(2) {
        assert!(w[1].area_m2 >= w[0].area_m2, "rising water never shrinks: {:?}", high.steps);
    }
    // Depth bands add up to the buildings reached.
    assert_eq!(high.bands.iter().map(|b| b.buildings).sum::<usize>(), high.buildings);
    let ev = high.evacuation.as_ref().unwrap();
    assert!((ev.placed + ev.left_over - ev.people).abs() <= 2.0, "{ev:?}");
    assert!(high.shelters_unusable + ev.shelters.len() > 0);
    // The time slider shows each step.
    assert_eq!(s.scenario_step(0).unwrap(), 4);
    assert!(s.scenario_step(9).is_err());
    // Logged on the incident with its parameters, and replayable to the same answer.
    let log_id = high.log_id.unwrap();
    let again = s.replay_scenario(&key, log_id, canvas()).unwrap();
    assert_eq!(again.buildings, high.buildings);
    assert_eq!(again.area_m2, high.area_m2);
    let log = s.log_incident_action(&key, "派出抢险队封堵溃口").unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "scenario").count(), 2);
}

#[test]
fn plume_quake_and_rain_reach_buildings_and_bad_parameters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "值班长".into());
    s.open_catalog(&demo()).unwrap();
    let at = Some([121.505, 31.235]);
    let go = |model: Model| {
        s.run_scenario(
            &ScenarioInput {
                model,
                incident: None,
                at,
                evacuate_min: None,
            },
            canvas(),
        )
    };
    let plume = go(Model::Plume {
        rate_g_s: 500.0,
        wind_m_s: 3.0,
        wind_from_deg: 90.0,
        stability: "D".into(),
        height_m: 0.0,
        thresholds_mg_m3: vec![10.0, 100.0],
        minutes: 30.0,
        steps: 3,
        receptor_m: 1.5,
    })
    .unwrap();
    assert_eq!(plume.steps.len(), 3);
    assert!(plume.buildings > 0);
    // The 10 mg/m³ zone holds the 100 mg/m³ zone.
    assert!(plume.bands[1].buildings >= plume.bands[0].buildings && plume.bands[1].area_m2 > plume.bands[0].area_m2);
    let quake = go(Model::Quake {
        magnitude: Some(6.0),
        strike_deg: 45.0,
        region: None,
    })
    .unwrap();
    assert!(quake.max_value > 8.0);
    assert!(
        quake.buildings > 1000,
        "a magnitude 6 at the city reaches all of it: {}",
        quake.buildings
    );
    let rain = go(Model::Rain {
        depth_mm: 150.0,
        runoff: 0.9,
        radius_m: Some(800.0),
        passable_m: 0.3,
    })
    .unwrap();
    assert!(rain.volume_m3.unwrap() > 0.0);
    for bad in [
        Model::Plume {
            rate_g_s: 500.0,
            wind_m_s: 0.0,
            wind_from_deg: 90.0,
            stability: "D".into(),
            height_m: 0.0,
            thresholds_mg_m3: vec![10.0],
            minutes: 30.0,
            steps: 1,
            receptor_m: 1.5,
        },
        Model::Rain {
            depth_mm: -5.0,
            runoff: 0.9,
            radius_m: None,
            passable_m: 0.3,
        },
        Model::Quake {
            magnitude: Some(11.0),
            strike_deg: 0.0,
            region: None,
        },
    ] {
        let e = go(bad).unwrap_err().to_string();
        assert!(!e.is_empty() && !e.contains("panicked"), "{e}");
    }
    // A point off the DEM is a clear error.
    let off = s
        .run_scenario(
            &ScenarioInput {
                model: flood(6.0, None, 1),
                incident: None,
                at: Some([121.3, 31.1]),
                evacuate_min: None,
            },
            canvas(),
        )
        .unwrap_err()
        .to_string();
    assert!(off.contains("outside the DEM"), "{off}");
}

#[test]
fn a_burst_main_closes_its_valves_and_cameras_see_the_street() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "值班长".into());
    s.open_catalog(&demo()).unwrap();
    let topo = s.pipe_topology().unwrap();
    assert!(topo.pipes > 1000 && topo.valves > 1000, "{topo:?}");
    assert_eq!(topo.sources, 2);
    assert!(topo.customers > 1000 && topo.customers_unattached.len() < 50, "{topo:?}");
    // A break near the gauge's street.
    let plan = s.pipe_burst(Some([121.5055, 31.2369]), None, canvas()).unwrap();
    assert!(!plan.valves.is_empty() && plan.valves.len() <= 12, "{plan:?}");
    assert!(plan.isolated_pipes >= 1 && plan.isolated_m > 0.0);
    // A valve that sticks needs more valves closed (or the same set, where it bordered a
    // dead end); never fewer customers out.
    for f in &plan.if_valve_fails {
        assert!(f.customers_out >= plan.isolated_customers, "{f:?}");
        assert!(!f.next_valves.contains(&f.failed));
    }
    let down = s.pipe_trace(plan.pipe, true).unwrap();
    assert!(down.pipes.contains(&plan.pipe));
    // A camera sees part of what lies in its range, and a point it sees lists it.
    let cams = s
        .with_workspace(|ws| {
            let l = ws.layer("cameras").unwrap();
            Ok((0..l.layer.len()).map(|r| l.layer.fids[r]).take(3).collect::<Vec<_>>())
        })
        .unwrap();
    for fid in cams {
        let v = s.camera_viewshed(fid, canvas()).unwrap();
        assert!(v.seen_m2 > 0.0 && v.seen_m2 < v.covered_m2, "{v:?}");
    }
    assert!(
        s.pipe_burst(Some([121.0, 31.0]), None, canvas())
            .unwrap_err()
            .to_string()
            .contains("no pipe within 50 m")
    );
    // Saved and reopened (layers saved as "any geometry"), the network and the DEM are still found.
    let saved = s.save(Some(&dir.path().join("ws.gpkg")), None).unwrap();
    let again = Session::new(dir.path().join("other.gpkg"), "值班长".into());
    again.open_saved(&saved).unwrap();
    assert_eq!(again.pipe_topology().unwrap().pipes, topo.pipes);
    assert_eq!(
        again.pipe_burst(Some([121.5055, 31.2369]), None, canvas()).unwrap().valves,
        plan.valves
    );
    assert!(again.with_workspace(|ws| Ok(ws.analysis_dem().is_some())).unwrap());
}

#[test]
fn pipes_stand_at_their_depth_under_a_see_through_ground_and_sensors_attach() {
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "值班长".into());
    let last: Arc<Mutex<Option<jingwei_scene::scene::SceneData>>> = Arc::new(Mutex::new(None));
    let sink = last.clone();
    s.set_scene_sink(Box::new(move |scene| *sink.lock().unwrap() = Some(scene)))
        .unwrap();
    s.open_catalog(&demo()).unwrap();
    assert_eq!(s.show_underground(0.3).unwrap(), ["water_pipes"]);
    let scene = last.lock().unwrap().clone().unwrap();
    let tubes: Vec<_> = scene.meshes.iter().filter(|m| m.layer_id == "water_pipes").collect();
    assert!(!tubes.is_empty());
    // Mains (DN600 at 1.8 m) and distribution pipes (DN200 at 1.2 m): every vertex lies between
    // 1.2 m and 1.8 + 0.6 m below the ground, lit like a building.
    for m in &tubes {
        assert_eq!(m.kind, jingwei_scene::scene::MeshKind::Building);
        for p in &m.mesh.positions {
            assert!(p[1] <= -1.2 + 1e-3 && p[1] >= -2.4 - 1e-3, "{}", p[1]);
        }
    }
    // The ground's fills see-through, the overlays not.
    let land = scene
        .meshes
        .iter()
        .find(|m| m.layer_id == "landuse" && m.kind == jingwei_scene::scene::MeshKind::Fill)
        .unwrap();
    assert!(land.color[3] <= 0.3 + 1e-6, "{:?}", land.color);
    assert!(s.set_ground_opacity(Some(1.5)).is_err());
    s.set_ground_opacity(None).unwrap();
    let scene = last.lock().unwrap().clone().unwrap();
    let land = scene
        .meshes
        .iter()
        .find(|m| m.layer_id == "landuse" && m.kind == jingwei_scene::scene::MeshKind::Fill)
        .unwrap();
    assert!(land.color[3] > 0.3);

    // The demo's pipe sensors: attached to the pipes they sit on, P-01's low pressure an alarm.
    let list = s.pipe_sensors(&jingwei_app::lifelines::demo_pipe_sensors(), &[]).unwrap();
    assert_eq!(list.len(), 5);
    let p01 = list.iter().find(|r| r.reading.thing.contains("P-01")).unwrap();
    assert_eq!((p01.reading.value, p01.reading.state.as_str()), (0.07, "low"));
    assert!(p01.pipe.is_some() && p01.distance_m.unwrap() < 1.0);
    assert_eq!(
        list.iter().filter(|r| r.reading.state != "ok").count(),
        2,
        "P-01 pressure, F-03 flow"
    );
    // A threshold given by the user wins over the document's own.
    let strict = s
        .pipe_sensors(&jingwei_app::lifelines::demo_pipe_sensors(), &["管网压力<0.3".into()])
        .unwrap();
    assert_eq!(strict.iter().filter(|r| r.reading.state == "low").count(), 2, "P-01 and P-02");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"value\": 3}").unwrap();
    let e = s.pipe_sensors(&bad, &[]).unwrap_err().to_string();
    assert!(e.contains("bad.json") && e.contains("not an array"), "{e}");
}
