// The shapes of what the application API (crate `jingwei-app`) answers, as the page reads them.
// Each interface names the Rust type it mirrors; `app/tests/dto_contract.rs` serialises those
// types from real use cases on the demo city and fails when a field here is missing there, so a
// renamed field breaks the test run rather than the page.

/** `jingwei_app::data::LayerDto` */
export interface LayerDto {
  id: string; title: string; group: string; features: number; geometry_type: string;
  visible: boolean; synthetic: boolean; invalid: number; opacity: number; fill: string; stroke: string;
  legend: [string, string][];
}
/** `jingwei_app::data::WorkspaceDto` */
export interface WorkspaceDto { crs: string; crs_name: string; origin_xy: [number, number]; layers: LayerDto[]; attribution: string[] }
/** `jingwei_scene::view::View` */
export interface View { target: [number, number, number]; distance_m: number; pitch_deg: number; yaw_deg: number; fov_deg: number }
/** `jingwei_app::session::Identified` */
export interface Identified { layer: string; fid: number; attributes: Record<string, unknown> }
/** `jingwei_app::session::SearchHit` */
export interface SearchHit { layer_id: string; layer: string; fid: number; field: string; value: string }
/** `jingwei_app::session::CursorDto` */
export interface CursorDto { lon: number; lat: number; x: number; y: number; crs: string }
/** `jingwei_app::session::HeightDto` */
export interface HeightDto { layer: string; fid: number; name: string | null; height_m: number; base_m: number; top_m: number; hit_z_m: number }
/** `jingwei_app::session::OpenedDto` */
export interface OpenedDto { workspace: WorkspaceDto; view: View | null; path: string }
/** `jingwei_layers::source::FolderEntry` */
export interface FolderEntry { name: string; path: string; folder: boolean; size: number }
/** `jingwei_app::cases::CaseRow` */
export interface CaseRow {
  id: number; case_no: string; status: string; status_zh: string; priority: number; rules: string[];
  rules_zh: string; assignee: string | null; building_fid: number | null; zone_types: string[];
}
/** `jingwei_cases::Note` */
export interface CaseNote { at: string; actor: string; text: string }
/** `jingwei_cases::Attachment` */
export interface CaseAttachment { id: number; name: string; mime: string; size: number }
/** `jingwei_cases::AuditEntry` */
export interface CaseAudit { at: string; actor: string; action: string; field: string | null; old_value: string | null; new_value: string | null }
/** `jingwei_app::cases::CaseDetailDto` (the case flattened into it) */
export interface CaseDetailDto {
  id: number; case_no: string; status: string; status_zh: string; priority: number; rules_zh: string; title: string;
  assignee: string | null; building_layer: string | null; building_fid: number | null; evidence: any;
  notes: CaseNote[]; attachments: CaseAttachment[]; audit: CaseAudit[]; next: [string, string][];
}
/** `jingwei_app::cases::SelectedDto` */
export interface SelectedDto { detail: CaseDetailDto; view: View | null }
/** `jingwei_app::feeds::EventDto` */
export interface EventDto { id: string; title: string; kind: string; severity: string | null; time: string | null; lonlat: [number, number] | null }
/** `jingwei_app::feeds::FeedDto` */
export interface FeedDto { index: number; name: string; url: string; health: string; last_ok: string | null; error: string | null; events: EventDto[] }
/** `jingwei_cases::incidents::Incident` */
export interface Incident { id: number; incident_no: string; kind: string; severity: string | null; status: string; title: string; source: string; rings_m: number[]; created_at: string }
/** `jingwei_cases::incidents::LogEntry` */
export interface LogEntry { at: string; actor: string; action: string; detail: string | null }
/** `jingwei_analysis::impact::Facility` */
export interface Facility { class: string; name: string | null; kind: string; distance_m: number }
/** `jingwei_analysis::impact::Ring` */
export interface Ring { radius_m: number; buildings: number; floor_area_m2: number; population: number; facilities: Facility[] }
/** `jingwei_app::emergency::Resource` */
export interface Resource { type: string; name: string | null; fid: number; travel_s: number; route_m: number }
/** `jingwei_app::emergency::IncidentDetailDto` */
export interface IncidentDetailDto { incident: Incident; log: LogEntry[]; rings: Ring[]; resources: Resource[]; route_ms: number; view: View | null; drill: boolean }
/** `jingwei_layers::table::Page` */
export interface Page { total: number; fields: string[]; rows: [number, number, unknown[]][] }
/** `jingwei_app::report::ReportsDto` */
export interface ReportsDto { dir: string; cases: number; with_map: number }
