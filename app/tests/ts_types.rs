//! The page's types are generated from the Rust types the application API answers with
//! (ts-rs): `ui/src/api.gen.ts` must be exactly what these types declare today, so a field
//! renamed in Rust breaks the build (the page's `tsc` and this test), not the page. Regenerate
//! with `JINGWEI_BLESS=1 cargo test --workspace --test ts_types`.

use std::path::Path;
use ts_rs::{Config, TS};

/// Every type the page receives, dependencies before the types that use them.
fn declarations(cfg: &Config) -> Vec<String> {
    macro_rules! decls {
        ($($t:ty),* $(,)?) => { vec![$(format!("export {}", <$t as TS>::decl(cfg))),*] };
    }
    decls![
        jingwei_layers::catalog::Group,
        jingwei_layers::table::Page,
        jingwei_layers::source::FolderEntry,
        jingwei_scene::view::View,
        jingwei_cases::Status,
        jingwei_cases::Case,
        jingwei_cases::Note,
        jingwei_cases::Attachment,
        jingwei_cases::AuditEntry,
        jingwei_cases::CaseDetail,
        jingwei_cases::incidents::IncidentStatus,
        jingwei_cases::incidents::Incident,
        jingwei_cases::incidents::LogEntry,
        jingwei_analysis::impact::Facility,
        jingwei_analysis::impact::Ring,
        jingwei_feeds::client::Health,
        jingwei_layers::imagery::loader::TileHealth,
        jingwei_app::data::ImageryDto,
        jingwei_app::data::TilesetDto,
        jingwei_app::twin::ClipRequest,
        jingwei_app::twin::SurfacePointDto,
        jingwei_app::imagery::ChipDto,
        jingwei_app::imagery::LegendDto,
        jingwei_app::planning::OverlapDto,
        jingwei_layers::catalog::Provenance,
        jingwei_app::planning::ReviewDto,
        jingwei_app::print::PrintedDto,
        jingwei_app::compare::CompareRequest,
        jingwei_app::compare::EpochDto,
        jingwei_app::compare::TimeFilter,
        jingwei_scene::compare::Compare,
        jingwei_analysis::balance::Balance,
        jingwei_analysis::balance::BalanceRow,
        jingwei_analysis::balance::Transitions,
        jingwei_analysis::compliance::RuleResult,
        jingwei_analysis::compliance::Verdict,
        jingwei_analysis::area::Areas,
        jingwei_analysis::overlap::ClassRow,
        jingwei_analysis::overlap::LayerOverlap,
        jingwei_analysis::overlap::ControlVerdict,
        jingwei_app::imagery::LegendItemDto,
        jingwei_app::data::LayerDto,
        jingwei_app::data::WorkspaceDto,
        jingwei_app::session::Identified,
        jingwei_app::session::SearchHit,
        jingwei_app::session::CursorDto,
        jingwei_app::session::HeightDto,
        jingwei_app::session::OpenedDto,
        jingwei_app::session::DrillDto,
        jingwei_app::files::FolderDto,
        jingwei_app::cases::CaseRow,
        jingwei_app::cases::CaseDetailDto,
        jingwei_app::cases::SelectedDto,
        jingwei_app::violations::DetectionDto,
        jingwei_app::report::ReportsDto,
        jingwei_app::feeds::EventDto,
        jingwei_app::feeds::FeedDto,
        jingwei_app::emergency::Resource,
        jingwei_app::emergency::IncidentDetailDto,
        jingwei_app::emergency::ShelterUse,
        jingwei_app::emergency::AllocationDto,
        jingwei_app::scenario::Model,
        jingwei_app::scenario::ScenarioInput,
        jingwei_app::scenario::ScenarioStep,
        jingwei_app::scenario::ScenarioBand,
        jingwei_app::scenario::ReachedBuilding,
        jingwei_app::scenario::ScenarioDto,
        jingwei_analysis::pipes::Gap,
        jingwei_analysis::pipes::TopologyReport,
        jingwei_app::lifelines::ValveFailureDto,
        jingwei_app::lifelines::BurstDto,
        jingwei_app::lifelines::TraceDto,
        jingwei_app::lifelines::CameraHit,
        jingwei_app::lifelines::ViewshedDto,
        jingwei_app::lifelines::CoverageDto,
        jingwei_feeds::sta::Reading,
        jingwei_app::lifelines::SensorDto,
        jingwei_app::about::ComponentDto,
        jingwei_app::about::NoticeDto,
        jingwei_app::about::AboutDto,
        jingwei_store::Role,
        jingwei_store::SharedCase,
        jingwei_store::SharedNote,
        jingwei_app::shared::Whoami,
        jingwei_app::shared_link::SharedDetail,
        jingwei_app::shared_link::SharedChangeInput,
        jingwei_app::shared_link::SharedWrite,
        jingwei_app::shared_link::ChangeBatch,
    ]
}

#[test]
fn the_pages_generated_types_are_up_to_date() {
    // Integers travel as JSON numbers (fids and ids stay far below 2^53).
    let cfg = Config::default().with_large_int("number");
    let mut text = String::from(
        "// Generated from the Rust types of the application API by app/tests/ts_types.rs (ts-rs).\n\
         // Do not edit: change the Rust type, then run JINGWEI_BLESS=1 cargo test --workspace --test ts_types.\n\n",
    );
    for d in declarations(&cfg) {
        text.push_str(&d);
        text.push_str("\n\n");
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/api.gen.ts");
    if std::env::var_os("JINGWEI_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != text {
        let first = on_disk
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| on_disk.lines().count().min(text.lines().count()));
        panic!(
            "ui/src/api.gen.ts is not what the Rust types declare (first difference at line {}: {:?}); \
             run JINGWEI_BLESS=1 cargo test --workspace --test ts_types and rebuild the page",
            first + 1,
            text.lines().nth(first)
        );
    }
}
