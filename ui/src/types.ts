// The shapes of what the application API answers, as the page reads them: generated from the
// Rust types by ts-rs (`api.gen.ts`, written and checked by `app/tests/ts_types.rs`), so a field
// renamed in Rust breaks `tsc` here instead of the page at run time. The names the panels use.

export type {
  AboutDto, AllocationDto, CaseDetailDto, ChipDto, CaseRow, CursorDto, DetectionDto, DrillDto, EventDto, Facility, FeedDto, FolderDto, FolderEntry,
  Group, Health, HeightDto, Identified, ImageryDto, Incident, TilesetDto, ClipRequest, SurfacePointDto, LegendDto, IncidentDetailDto, IncidentStatus, LayerDto, LogEntry, OpenedDto, Page,
  ReportsDto, Resource, Ring, Model, ScenarioInput, ScenarioDto, ScenarioStep, ScenarioBand, BurstDto, CameraHit, CoverageDto, TopologyReport, TraceDto, ViewshedDto, SensorDto, OverlapDto, Balance, BalanceRow, Transitions, Provenance, ReviewDto, RuleResult, Verdict, PrintedDto, EpochDto, CompareRequest, Compare, TimeFilter, Areas, LayerOverlap, ClassRow, ControlVerdict, SearchHit, SelectedDto, Status, View, WorkspaceDto,
} from "./api.gen";
export type { Attachment as CaseAttachment, AuditEntry as CaseAudit, Note as CaseNote } from "./api.gen";
