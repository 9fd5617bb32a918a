//! The page's types (`ui/src/api.gen.ts`, generated from the Rust types by ts-rs) against what
//! the application API really answers: each object type's fields must be keys of the JSON its
//! Rust type serialises to, taken from real use cases on the demo city — so the generator's
//! reading of the serde attributes (skip, flatten, rename) is checked too.

#[path = "support/lujiazui_image.rs"]
mod support;

use jingwei_analysis::violations::Thresholds;
use jingwei_app::Session;
use jingwei_app::cases::FilterDto;
use jingwei_app::session::{Canvas, Pixel};
use jingwei_layers::Job;
use jingwei_layers::table::TableQuery;
use serde_json::{Value, to_value};
use std::collections::BTreeMap;
use std::path::Path;

/// Block comments out of TypeScript source.
fn strip_comments(ts: &str) -> String {
    let mut out = String::new();
    let mut rest = ts;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    out
}

/// `export type Name = { field: type, … }` → field names, from the TypeScript source (union
/// types are passed over).
fn interfaces(ts: &str) -> BTreeMap<String, Vec<String>> {
    let ts = strip_comments(ts);
    let mut out = BTreeMap::new();
    let mut rest = ts.as_str();
    while let Some(i) = rest.find("export type ") {
        rest = &rest[i + "export type ".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let after = rest[name.len()..].trim_start().trim_start_matches('=').trim_start();
        if !after.starts_with('{') {
            continue;
        }
        let open = rest.find('{').unwrap();
        let (mut depth, mut end) = (0i32, open);
        for (j, c) in rest[open..].char_indices() {
            match c {
                '{' | '[' | '<' | '(' => depth += 1,
                '}' | ']' | '>' | ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = open + j;
                break;
            }
        }
        let body = &rest[open + 1..end];
        // Fields at the top level of the body: `name:` or `name?:` after `{`, `;` or a newline.
        let (mut fields, mut depth, mut token) = (Vec::new(), 0i32, String::new());
        for c in body.chars() {
            match c {
                '{' | '[' | '<' | '(' => depth += 1,
                '}' | ']' | '>' | ')' => depth -= 1,
                ':' if depth == 0 && !token.trim().is_empty() => {
                    fields.push(token.trim().trim_end_matches('?').to_string());
                    token.clear();
                    continue;
                }
                ';' | '\n' if depth == 0 => {
                    token.clear();
                    continue;
                }
                _ => {}
            }
            if depth == 0 && (c.is_alphanumeric() || c == '_' || c == '?') {
                token.push(c);
            } else if c == '"' {
                // A quoted name (the tag of a tagged enum: `"mode": "swipe"`).
            } else if depth == 0 && !c.is_whitespace() {
                token.clear();
            }
        }
        out.insert(name, fields);
        rest = &rest[end..];
    }
    out
}

#[test]
fn the_pages_types_match_what_the_api_answers() {
    let ts = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/api.gen.ts")).unwrap();
    let declared = interfaces(&ts);
    assert!(declared["LayerDto"].contains(&"geometry_type".to_string()), "{declared:?}");

    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "contract".into());
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json");
    s.open_catalog(&demo).unwrap();
    // An image over Lujiazui (the Landsat scene's pixels, placed there by gdal_translate).
    let image = support::over_lujiazui(dir.path());
    let ws = s.add_file(&image, &Job::new()).unwrap();
    assert_eq!(ws.imagery.len(), 1);
    let canvas = Canvas {
        width: 800,
        height: 600,
        current: None,
    };
    let tower = s
        .search("上海中心", None)
        .unwrap()
        .into_iter()
        .find(|h| h.layer_id == "buildings")
        .unwrap();
    let view = s.fly_to_feature("buildings", tower.fid, canvas).unwrap();
    let px = Pixel {
        x: 400.0,
        y: 300.0,
        width: 800,
        height: 600,
        view,
    };
    let (_, run) = s.run_violations(&Thresholds::default(), &Job::new()).unwrap();
    let cases = s.list_cases(&FilterDto::default()).unwrap();
    let key = cases[0].id.to_string();
    s.add_case_note(&key, "核查").unwrap();
    let detail = s.attach_case_file(&key, "a.jpg", &[0xff, 0xd8]).unwrap();
    let inc = s.place_incident("fire", &px).unwrap();
    s.log_incident_action(&inc.id.to_string(), "出动").unwrap();
    let inc_detail = s.select_incident(&inc.id.to_string(), canvas).unwrap();
    let wide = s
        .with_workspace(|w| {
            let c = geo::Centroid::centroid(inc.geometry.as_ref().unwrap()).unwrap();
            jingwei_app::emergency::impact(w, &geo::Geometry::Point(c), &[3000.0], None, None)
        })
        .unwrap();
    let saved = dir.path().join("saved.gpkg");
    s.save(Some(&saved), Some(view)).unwrap();
    let feeds = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(s.poll_feeds())
        .unwrap();
    let folder = jingwei_layers::source::list_readable(demo.parent().unwrap()).unwrap();
    // A report run with no case to draw (the renderer is never asked for a map).
    struct NoDrawing;
    impl jingwei_app::report::SiteMapRenderer for NoDrawing {
        fn render_png(&mut self, _: &jingwei_scene::scene::SceneData, _: &jingwei_scene::view::View) -> jingwei_app::Result<Vec<u8>> {
            panic!("no case matches: nothing to draw")
        }
    }
    let closed = FilterDto {
        status: Some("closed".into()),
        ..FilterDto::default()
    };
    let reports = s
        .write_case_reports(None, &closed, Some(&dir.path().join("reports")), &mut NoDrawing)
        .unwrap();
    assert_eq!((reports.cases, reports.with_map), (0, 0));
    assert!(dir.path().join("reports/index.html").exists());

    let overlap = s
        .overlap(&jingwei_app::planning::OverlapRequest {
            redline: jingwei_app::planning::Redline::Wkt {
                wkt: "POLYGON((356500 3458000,357600 3458000,357600 3458900,356500 3458900,356500 3458000))".into(),
            },
            layers: vec!["landuse".into()],
            sliver_m2: None,
            add_pieces: false,
        })
        .unwrap();
    s.set_compare(Some(jingwei_app::compare::CompareRequest {
        compare: jingwei_scene::compare::Compare::Swipe {
            vertical: true,
            position: 0.5,
        },
        sides: vec![vec!["landuse".into()], vec!["buildings".into()]],
    }))
    .unwrap();
    let compare = s.compare().unwrap().unwrap();
    s.set_compare(None).unwrap();
    let epoch = {
        let c = dir.path().join("epochs.json");
        let gpkg = demo.parent().unwrap().join("lujiazui_osm.gpkg");
        let e = |id: &str, v: &str| serde_json::json!({"id": id, "title_zh": id, "title_en": id, "group": "status_quo", "file": gpkg, "layer": "landuse_polygon", "version": v});
        std::fs::write(
            &c,
            serde_json::json!({"title_zh": "多期", "title_en": "Epochs", "attribution": [], "layers": [e("a", "2023"), e("b", "2024")]})
                .to_string(),
        )
        .unwrap();
        let s2 = Session::new(dir.path().join("e.gpkg"), "c".into());
        s2.open_catalog(&c).unwrap();
        s2.epochs().unwrap().remove(0)
    };
    let review = s
        .review(
            &demo.parent().unwrap().join("compliance/rules.toml"),
            &jingwei_app::planning::Redline::Wkt {
                wkt: "POLYGON((356500 3458000,357600 3458000,357600 3458900,356500 3458900,356500 3458000))".into(),
            },
        )
        .unwrap();
    let balance = s.land_use_balance("landuse", Some("landuse")).unwrap();
    let flood = s
        .run_scenario(
            &jingwei_app::scenario::ScenarioInput {
                model: jingwei_app::scenario::Model::Flood {
                    level_m: 5.6,
                    from_m: Some(4.6),
                    steps: 2,
                    passable_m: 0.3,
                },
                incident: Some(inc.id.to_string()),
                at: None,
                evacuate_min: Some(20.0),
            },
            canvas,
        )
        .unwrap();
    let topology = s.pipe_topology().unwrap();
    let burst = s.pipe_burst(Some([121.5055, 31.2369]), None, canvas).unwrap();
    let trace = s.pipe_trace(burst.pipe, true).unwrap();
    let seeing = s.cameras_seeing(121.5055, 31.2369).unwrap();
    let viewshed = s.camera_viewshed(seeing[0].fid, canvas).unwrap();
    let coverage = s.camera_coverage(&inc.id.to_string(), 150.0).unwrap();
    let sensors = s.pipe_sensors(&jingwei_app::lifelines::demo_pipe_sensors(), &[]).unwrap();
    let first = |v: Value| v.as_array().and_then(|a| a.first().cloned()).unwrap_or(Value::Null);
    let shared_case = jingwei_store::SharedCase {
        id: 1,
        case_no: "WJ2026-000001".into(),
        department: "城东".into(),
        status: jingwei_cases::Status::Pending,
        priority: 50.0,
        rules: vec![],
        title: "违建".into(),
        source: "manual".into(),
        assignee: None,
        building_layer: None,
        building_fid: None,
        evidence: serde_json::Value::Null,
        phone: None,
        id_number: None,
        personal_sealed: false,
        geometry: None,
        created_at: "2026-12-06T00:00:00.000Z".into(),
        created_by: "insp_east".into(),
        updated_at: "2026-12-06T00:00:00.000Z".into(),
        updated_by: "insp_east".into(),
        version: 1,
    };
    let shared_note = jingwei_store::SharedNote {
        id: 1,
        case_id: 1,
        at: "2026-12-06T00:00:00.000Z".into(),
        actor: "insp_east".into(),
        text: "现场核实".into(),
    };
    // A city twin: the CesiumGS sample tileset in a workspace of its own (UTM zone 18N).
    let twin = Session::new(dir.path().join("twin.gpkg"), "c".into())
        .add_file(
            &std::env::var_os("JINGWEI_SHARED_DATA")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
                .join("3d/tiles3d/1.0/TilesetWithRequestVolume/tileset.json"),
            &Job::new(),
        )
        .unwrap();
    assert_eq!((twin.crs.as_str(), twin.tilesets.len(), twin.layers.len()), ("EPSG:32618", 1, 0));
    let samples: BTreeMap<&str, Value> = BTreeMap::from([
        ("LayerDto", to_value(&ws.layers[0]).unwrap()),
        ("AboutDto", to_value(s.about().unwrap()).unwrap()),
        ("ComponentDto", to_value(&s.about().unwrap().components[0]).unwrap()),
        ("NoticeDto", to_value(s.about().unwrap().data.last().unwrap()).unwrap()),
        ("WorkspaceDto", to_value(&ws).unwrap()),
        ("ImageryDto", first(to_value(s.imagery().unwrap()).unwrap())),
        ("TilesetDto", to_value(&twin.tilesets[0]).unwrap()),
        ("TileHealth", to_value(&s.imagery().unwrap()[0].health).unwrap()),
        ("ChipDto", first(to_value(s.case_imagery(&key, 64).unwrap()).unwrap())),
        (
            "LegendDto",
            to_value(s.imagery_legend(&s.imagery().unwrap()[0].id).unwrap()).unwrap(),
        ),
        (
            "LegendItemDto",
            first(to_value(&s.imagery_legend(&s.imagery().unwrap()[0].id).unwrap().items).unwrap()),
        ),
        ("View", to_value(view).unwrap()),
        ("Identified", first(to_value(s.identify(&px).unwrap()).unwrap())),
        ("SearchHit", to_value(&tower).unwrap()),
        ("CursorDto", to_value(s.cursor_position(&px).unwrap()).unwrap()),
        ("HeightDto", to_value(s.measure_height(&px).unwrap()).unwrap()),
        (
            "SurfacePointDto",
            to_value(s.surface_point(&px).unwrap().expect("the middle of the view shows something")).unwrap(),
        ),
        (
            "OpenedDto",
            to_value(Session::new(dir.path().join("o.gpkg"), "c".into()).open_saved(&saved).unwrap()).unwrap(),
        ),
        ("FolderEntry", first(to_value(&folder).unwrap())),
        ("CaseRow", to_value(&cases[0]).unwrap()),
        ("CaseDetailDto", to_value(&detail).unwrap()),
        ("Note", first(to_value(&detail.detail.notes).unwrap())),
        ("Attachment", first(to_value(&detail.detail.attachments).unwrap())),
        ("AuditEntry", first(to_value(&detail.detail.audit).unwrap())),
        ("SelectedDto", to_value(s.select_case(&key, canvas).unwrap()).unwrap()),
        ("FeedDto", to_value(&feeds[0]).unwrap()),
        ("EventDto", first(to_value(&feeds[0].events).unwrap())),
        ("Incident", to_value(&inc_detail.incident).unwrap()),
        ("LogEntry", first(to_value(&inc_detail.log).unwrap())),
        ("Ring", to_value(&inc_detail.rings[0]).unwrap()),
        ("Facility", first(to_value(&wide[0].facilities).unwrap())),
        ("Resource", first(to_value(&inc_detail.resources).unwrap())),
        ("IncidentDetailDto", to_value(&inc_detail).unwrap()),
        ("ReportsDto", to_value(&reports).unwrap()),
        ("Case", to_value(&detail.detail.case).unwrap()),
        ("CaseDetail", to_value(&detail.detail).unwrap()),
        ("DrillDto", to_value(s.drill_state().unwrap()).unwrap()),
        ("ScenarioDto", to_value(&flood).unwrap()),
        ("ScenarioStep", to_value(&flood.steps[0]).unwrap()),
        ("ScenarioBand", to_value(&flood.bands[0]).unwrap()),
        ("ReachedBuilding", first(to_value(&flood.reached).unwrap())),
        ("ScenarioInput", serde_json::from_str::<Value>(&flood.input).unwrap()),
        // A union of the models; the parser reads its first (flood) variant.
        ("Model", serde_json::from_str::<Value>(&flood.input).unwrap()["model"].clone()),
        ("TopologyReport", to_value(&topology).unwrap()),
        ("Gap", first(to_value(&topology.gaps).unwrap())),
        ("BurstDto", to_value(&burst).unwrap()),
        ("ValveFailureDto", first(to_value(&burst.if_valve_fails).unwrap())),
        ("TraceDto", to_value(&trace).unwrap()),
        ("CameraHit", first(to_value(&seeing).unwrap())),
        ("ViewshedDto", to_value(&viewshed).unwrap()),
        ("CoverageDto", to_value(&coverage).unwrap()),
        ("SensorDto", first(to_value(&sensors).unwrap())),
        ("Reading", to_value(&sensors[0].reading).unwrap()),
        (
            "FolderDto",
            to_value(jingwei_app::files::browse(demo.parent().and_then(Path::to_str)).unwrap()).unwrap(),
        ),
        ("DetectionDto", to_value(&run).unwrap()),
        ("OverlapDto", to_value(&overlap).unwrap()),
        ("Areas", to_value(overlap.redline).unwrap()),
        ("LayerOverlap", to_value(&overlap.layers[0]).unwrap()),
        ("ClassRow", to_value(&overlap.layers[0].total).unwrap()),
        ("ControlVerdict", to_value(&overlap.control[0]).unwrap()),
        ("ReviewDto", to_value(&review).unwrap()),
        ("Compare", to_value(&compare.compare).unwrap()),
        ("CompareRequest", to_value(&compare).unwrap()),
        ("ClipRequest", {
            // A storey plan's cut, applied and cleared again.
            let applied = s
                .set_clip(&jingwei_app::twin::ClipRequest {
                    top_m: Some(30.0),
                    section: Some([[0.0, 0.0], [1.0, 1.0]]),
                    ..Default::default()
                })
                .unwrap();
            s.set_clip(&Default::default()).unwrap();
            to_value(&applied).unwrap()
        }),
        ("EpochDto", to_value(&epoch).unwrap()),
        (
            "TimeFilter",
            to_value(jingwei_app::compare::TimeFilter {
                layer: "permits".into(),
                field: "issue_date".into(),
                until: s.date_epochs("permits", "issue_date").unwrap()[0].clone(),
                cumulative: true,
            })
            .unwrap(),
        ),
        (
            "PrintedDto",
            to_value(
                s.print_map(&jingwei_app::print::PrintRequest {
                    scale: Some(5000),
                    out: dir.path().join("map.pdf"),
                    ..Default::default()
                })
                .unwrap(),
            )
            .unwrap(),
        ),
        ("Balance", to_value(&balance).unwrap()),
        ("BalanceRow", to_value(&balance.rows[0]).unwrap()),
        (
            "Transitions",
            to_value(s.land_use_change("landuse", "control_zones", false).unwrap()).unwrap(),
        ),
        ("Provenance", to_value(&ws.layers[0].provenance).unwrap()),
        ("RuleResult", to_value(&review.results[0]).unwrap()),
        (
            "Page",
            to_value(s.attribute_page("buildings", TableQuery::default(), 0, 3).unwrap()).unwrap(),
        ),
        // The shared store's answers (the live ones are checked against a cluster in
        // app/tests/shared_link.rs and the WebDriver test; here, their shapes).
        ("SharedCase", to_value(&shared_case).unwrap()),
        ("SharedNote", to_value(&shared_note).unwrap()),
        (
            "SharedDetail",
            to_value(jingwei_app::shared_link::SharedDetail {
                case: shared_case.clone(),
                notes: vec![shared_note.clone()],
            })
            .unwrap(),
        ),
        (
            "SharedWrite",
            to_value(jingwei_app::shared_link::SharedWrite::Saved {
                case: Box::new(shared_case.clone()),
            })
            .unwrap(),
        ),
        (
            "SharedChangeInput",
            to_value(jingwei_app::shared_link::SharedChangeInput {
                id: 1,
                version: 1,
                status: Some("confirmed".into()),
                assignee: Some("w1".into()),
                comment: Some("现场核实".into()),
            })
            .unwrap(),
        ),
        ("ChangeBatch", to_value(jingwei_app::shared_link::ChangeBatch::default()).unwrap()),
        (
            "Whoami",
            to_value(jingwei_app::shared::Whoami {
                store: "insp_east@localhost:5432/jingwei".into(),
                role: Some(jingwei_store::Role::Inspector),
                department: Some("城东".into()),
            })
            .unwrap(),
        ),
    ]);
    // What the page reads must have a sample; the CLI's allocation types may go without.
    for name in ["ShelterUse", "AllocationDto"] {
        assert!(declared.contains_key(name), "{name}");
    }
    for (name, fields) in declared
        .iter()
        .filter(|(n, _)| !["ShelterUse", "AllocationDto"].contains(&n.as_str()))
    {
        let sample = samples
            .get(name.as_str())
            .unwrap_or_else(|| panic!("ui/src/api.gen.ts declares {name}, which this test has no sample of: add one"));
        let obj = sample
            .as_object()
            .unwrap_or_else(|| panic!("{name}: the API answered {sample} (no object to check)"));
        assert!(!fields.is_empty(), "{name}: no fields parsed");
        for f in fields {
            assert!(
                obj.contains_key(f),
                "ui/src/api.gen.ts: {name}.{f} is not in what the API answers (keys: {:?})",
                obj.keys().collect::<Vec<_>>()
            );
        }
        // And the other way: nothing the API answers is missing from the generated type.
        for k in obj.keys() {
            assert!(
                fields.contains(k),
                "{name}: the API answers `{k}`, which api.gen.ts does not declare"
            );
        }
    }
    for name in samples.keys() {
        assert!(
            declared.contains_key(*name),
            "{name} has a sample but no interface in ui/src/types.ts"
        );
    }
}
