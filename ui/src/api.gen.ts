// Generated from the Rust types of the application API by app/tests/ts_types.rs (ts-rs).
// Do not edit: change the Rust type, then run JINGWEI_BLESS=1 cargo test --workspace --test ts_types.

export type Group = "status_quo" | "plan" | "control" | "thematic" | "emergency";

export type Page = { 
/**
 * Rows matching the filter.
 */
total: number, 
/**
 * Field names.
 */
fields: Array<string>, 
/**
 * Rows of the page: (row, fid, values).
 */
rows: Array<[number, number, Array<unknown>]>, };

export type FolderEntry = { 
/**
 * File or folder name.
 */
name: string, 
/**
 * Full path.
 */
path: string, 
/**
 * A folder to open (not a `.gdb`, which is a dataset).
 */
folder: boolean, 
/**
 * Size in bytes (0 for folders).
 */
size: number, };

export type View = { 
/**
 * Point looked at.
 */
target: [number, number, number], 
/**
 * Distance from the target.
 */
distance_m: number, 
/**
 * Elevation angle; 90 looks straight down.
 */
pitch_deg: number, 
/**
 * Azimuth of the camera around the target.
 */
yaw_deg: number, 
/**
 * Vertical field of view.
 */
fov_deg: number, };

export type Status = "pending" | "confirmed" | "dismissed" | "rectifying" | "closed";

export type Case = { 
/**
 * Row id (the feature id in the GeoPackage).
 */
id: number, 
/**
 * Case number, e.g. `WJ2026-000042`.
 */
case_no: string, 
/**
 * Status.
 */
status: Status, 
/**
 * Priority score 0–100 (see `jingwei_analysis::violations`).
 */
priority: number, 
/**
 * Rules broken (rule ids; `manual` for a hand-flagged case without rules).
 */
rules: Array<string>, 
/**
 * A short title.
 */
title: string, 
/**
 * `detected` or `manual`.
 */
source: string, 
/**
 * The buildings layer the case concerns.
 */
building_layer: string | null, 
/**
 * The building's feature id.
 */
building_fid: number | null, 
/**
 * Assigned inspector.
 */
assignee: string | null, 
/**
 * Evidence numbers (the finding's evidence as JSON).
 */
evidence: any, 
/**
 * Created, ISO 8601 UTC.
 */
created_at: string, 
/**
 * Created by.
 */
created_by: string, 
/**
 * Last change, ISO 8601 UTC.
 */
updated_at: string, };

export type Note = { 
/**
 * Row id.
 */
id: number, 
/**
 * When.
 */
at: string, 
/**
 * Who.
 */
actor: string, 
/**
 * Text.
 */
text: string, };

export type Attachment = { 
/**
 * Row id.
 */
id: number, 
/**
 * When.
 */
at: string, 
/**
 * Who.
 */
actor: string, 
/**
 * File name.
 */
name: string, 
/**
 * MIME type.
 */
mime: string, 
/**
 * Size in bytes.
 */
size: number, };

export type AuditEntry = { 
/**
 * Row id (increasing).
 */
id: number, 
/**
 * The case.
 */
case_id: number, 
/**
 * When (ISO 8601 UTC).
 */
at: string, 
/**
 * Who.
 */
actor: string, 
/**
 * What: `create`, `redetect`, `status`, `assignee`, `note`, `attach`.
 */
action: string, 
/**
 * The field changed.
 */
field: string | null, 
/**
 * Old value.
 */
old_value: string | null, 
/**
 * New value.
 */
new_value: string | null, };

export type CaseDetail = { 
/**
 * Notes, oldest first.
 */
notes: Array<Note>, 
/**
 * Attachments, oldest first.
 */
attachments: Array<Attachment>, 
/**
 * Audit trail, oldest first.
 */
audit: Array<AuditEntry>, 
/**
 * Row id (the feature id in the GeoPackage).
 */
id: number, 
/**
 * Case number, e.g. `WJ2026-000042`.
 */
case_no: string, 
/**
 * Status.
 */
status: Status, 
/**
 * Priority score 0–100 (see `jingwei_analysis::violations`).
 */
priority: number, 
/**
 * Rules broken (rule ids; `manual` for a hand-flagged case without rules).
 */
rules: Array<string>, 
/**
 * A short title.
 */
title: string, 
/**
 * `detected` or `manual`.
 */
source: string, 
/**
 * The buildings layer the case concerns.
 */
building_layer: string | null, 
/**
 * The building's feature id.
 */
building_fid: number | null, 
/**
 * Assigned inspector.
 */
assignee: string | null, 
/**
 * Evidence numbers (the finding's evidence as JSON).
 */
evidence: any, 
/**
 * Created, ISO 8601 UTC.
 */
created_at: string, 
/**
 * Created by.
 */
created_by: string, 
/**
 * Last change, ISO 8601 UTC.
 */
updated_at: string, };

export type IncidentStatus = "active" | "contained" | "closed";

export type Incident = { 
/**
 * Row id.
 */
id: number, 
/**
 * Number, e.g. `SJ2026-000003`.
 */
incident_no: string, 
/**
 * fire, hazardous_chemical_leak, flood, earthquake, building_collapse, gas_leak, …
 */
kind: string, 
/**
 * Severity (CAP scale or the commander's).
 */
severity: string | null, 
/**
 * Status.
 */
status: IncidentStatus, 
/**
 * Title.
 */
title: string, 
/**
 * `manual` or the feed format it came from.
 */
source: string, 
/**
 * The feed event's id.
 */
event_id: string | null, 
/**
 * Impact rings (m).
 */
rings_m: Array<number>, 
/**
 * When it happened.
 */
occurred_at: string | null, 
/**
 * Created.
 */
created_at: string, 
/**
 * By.
 */
created_by: string, 
/**
 * Last change.
 */
updated_at: string, };

export type LogEntry = { 
/**
 * Row id.
 */
id: number, 
/**
 * When.
 */
at: string, 
/**
 * Who.
 */
actor: string, 
/**
 * What: `create`, `status`, `action`, `rings`, `scenario`.
 */
action: string, 
/**
 * Details.
 */
detail: string | null, };

export type Facility = { 
/**
 * Layer name.
 */
layer: string, 
/**
 * Feature id.
 */
fid: number, 
/**
 * school, hospital, care_home or hazardous.
 */
class: string, 
/**
 * The raw kind.
 */
kind: string, 
/**
 * Name.
 */
name: string | null, 
/**
 * Distance from the incident (m).
 */
distance_m: number, };

export type Ring = { 
/**
 * Distance (m); 0 for the incident's own area.
 */
radius_m: number, 
/**
 * Buildings touched.
 */
buildings: number, 
/**
 * Their floor area (m²).
 */
floor_area_m2: number, 
/**
 * Estimated population.
 */
population: number, 
/**
 * Whether the population came from a field (else from floor area).
 */
population_from_field: boolean, 
/**
 * Critical facilities, nearest first.
 */
facilities: Array<Facility>, };

export type Health = "live" | "stale";

export type TileHealth = { 
/**
 * Tiles fetched with data.
 */
tiles: number, 
/**
 * Tiles fetched without data.
 */
empty: number, 
/**
 * Tiles that failed after every try.
 */
failed: number, 
/**
 * Retries made.
 */
retries: number, 
/**
 * Fetches stopped because the tile left every view that asked for it.
 */
cancelled: number, 
/**
 * The last failure, when the last fetch failed.
 */
last_error: string | null, };

export type ImageryDto = { 
/**
 * Id.
 */
id: string, 
/**
 * Title.
 */
title: string, 
/**
 * Shown.
 */
visible: boolean, 
/**
 * Opacity 0–1.
 */
opacity: number, 
/**
 * `file` or the kind of service.
 */
kind: string, 
/**
 * What it is, or why it is not open.
 */
detail: string, 
/**
 * Advice (build overviews), if any.
 */
hint: string | null, 
/**
 * Whether it is open.
 */
open: boolean, 
/**
 * Tiles had, empty and failed so far, and the last failure.
 */
health: TileHealth, };

export type TilesetDto = { 
/**
 * Id.
 */
id: string, 
/**
 * Title (its folder's name).
 */
title: string, 
/**
 * The root `tileset.json`.
 */
path: string, 
/**
 * Shown.
 */
visible: boolean, 
/**
 * Tiles known so far (implicit subtrees are read as the view reaches them).
 */
tiles: number, 
/**
 * Tiles resident, and their bytes.
 */
resident: number, 
/**
 * Bytes of geometry resident.
 */
resident_bytes: number, 
/**
 * The memory budget (bytes).
 */
budget_bytes: number, 
/**
 * Contents that could not be loaded, one line each (file and problem), at most 20.
 */
broken: Array<string>, };

export type ClipRequest = { 
/**
 * Cut away everything above this height (metres, as drawn).
 */
top_m: number | null, 
/**
 * A vertical section through two points (workspace CRS): the right of the line from the
 * first to the second is cut away.
 */
section: [[number, number], [number, number]] | null, 
/**
 * A polygon layer's id: its areas keep (`keep_inside`) or cut away what they hold.
 */
area_layer: string | null, 
/**
 * With `area_layer`: draw only inside (`true`) or cut a hole (`false`, the default: to see
 * pipes and tunnels under the ground).
 */
keep_inside: boolean, };

export type SurfacePointDto = { 
/**
 * Workspace x (east, metres).
 */
x: number, 
/**
 * Workspace y (north).
 */
y: number, 
/**
 * Height as drawn (metres).
 */
z: number, 
/**
 * What it lies on: `tile`, `model` (a city model's or BIM storey's face), `building` (an
 * extruded footprint) or `ground`.
 */
on: string, 
/**
 * The layer's title (none for the ground).
 */
layer: string | null, };

export type ChipDto = { 
/**
 * The imagery layer.
 */
layer_id: string, 
/**
 * Its title.
 */
title: string, 
/**
 * When it was taken, as far as its name or metadata say (`2023`, `2023-05-01`).
 */
epoch: string | null, 
/**
 * Pixels across and down.
 */
width: number, 
/**
 * Pixels down.
 */
height: number, 
/**
 * The picture, PNG.
 */
png: string, };

export type LegendDto = { 
/**
 * The imagery layer.
 */
layer_id: string, 
/**
 * Swatches and icons with labels.
 */
items: Array<LegendItemDto>, 
/**
 * A legend picture the service drew, as a `data:` URL.
 */
image: string | null, 
/**
 * Why there is no legend, when asking for it failed (the layer stays as it is).
 */
error: string | null, };

export type OverlapDto = { 
/**
 * The workspace CRS the plane areas are measured in.
 */
plane_crs: string, 
/**
 * The red line's areas.
 */
redline: Areas, 
/**
 * Per layer and class.
 */
layers: Array<LayerOverlap>, 
/**
 * 永久基本农田, 生态保护红线, 城镇开发边界.
 */
control: Array<ControlVerdict>, 
/**
 * The id of the pieces layer, when it was added.
 */
pieces_layer: string | null, 
/**
 * Each overlaid layer's provenance (数据来源 · version · level), by layer id, where known.
 */
sources: Array<[string, string]>, };

export type Provenance = { 
/**
 * The authority or source (数据来源).
 */
source: string | null, 
/**
 * Version or date (`2024年度变更调查`, `2023-12-31`).
 */
version: string | null, 
/**
 * Level: 国家, 省, 市, 县 (or anything the office writes).
 */
level: string | null, };

export type ReviewDto = { 
/**
 * The rules file's title.
 */
title: string, 
/**
 * The red line's areas.
 */
redline: Areas, 
/**
 * Per rule, in the file's order.
 */
results: Array<RuleResult>, };

export type PrintedDto = { 
/**
 * The files written.
 */
files: Array<string>, 
/**
 * Pages.
 */
pages: number, 
/**
 * `A4` or `A3`.
 */
paper: string, 
/**
 * `portrait` or `landscape`.
 */
orientation: string, 
/**
 * The map's scale denominator, when there is a map.
 */
scale: number | null, 
/**
 * Resolution of PNG pages.
 */
dpi: number | null, 
/**
 * The map frame on the page, `[x, y, w, h]` mm.
 */
map_mm: [number, number, number, number] | null, 
/**
 * The ground in the frame, workspace metres.
 */
ground_extent: [number, number, number, number] | null, 
/**
 * The graphic scale bar's ground length, metres.
 */
bar_metres: number | null, 
/**
 * The graphic scale bar on the page, `[x, y, w, h]` mm.
 */
bar_mm: [number, number, number, number] | null, 
/**
 * The legend's labels.
 */
legend: Array<string>, };

export type CompareRequest = { 
/**
 * Swipe or split.
 */
compare: Compare, 
/**
 * Per scene (2 for a swipe, 2 or 4 for a split), the layers it shows; a layer of no side
 * shows in every pane as the layer tree says.
 */
sides: Array<Array<string>>, };

export type EpochDto = { 
/**
 * The layer (vector or imagery).
 */
layer_id: string, 
/**
 * Its title.
 */
title: string, 
/**
 * Its period as the catalog writes it (`2023`, `2024年度变更调查`, `2023-12-31`).
 */
period: string, };

export type TimeFilter = { 
/**
 * The layer.
 */
layer: string, 
/**
 * Its date field.
 */
field: string, 
/**
 * The last date shown, ISO 8601 (`2015`, `2015-12-31`; compared as text, so a year stands
 * for its whole year).
 */
until: string, 
/**
 * Everything up to `until` (approvals so far); else only `until`'s year.
 */
cumulative: boolean, };

export type Compare = { "mode": "swipe", 
/**
 * A vertical divider (left | right); else horizontal (top / bottom).
 */
vertical: boolean, 
/**
 * Where the divider is, 0–1 across (or down) the frame.
 */
position: number, } | { "mode": "split", 
/**
 * 2 or 4.
 */
panes: number, 
/**
 * Per pane, how much closer than the shared view it looks (1: centre and scale linked;
 * another factor: only the centre). Missing entries are 1.
 */
zoom: Array<number>, };

export type Balance = { 
/**
 * First-level subtotals each followed by its classes (or the classes alone).
 */
rows: Array<BalanceRow>, 
/**
 * Status quo total, 公顷.
 */
status_total_ha: number, 
/**
 * Plan total, 公顷.
 */
plan_total_ha: number | null, };

export type BalanceRow = { 
/**
 * The class code (or value).
 */
code: string, 
/**
 * Its name (the data's name field, else the classification's).
 */
name: string, 
/**
 * 1 for a first-level subtotal, 2 for a class under it (0 where the codes are not of
 * the 2023 system).
 */
level: number, 
/**
 * Status quo, 公顷.
 */
status_ha: number, 
/**
 * Status quo share, % (largest remainder, 2 decimals, among rows of its level).
 */
status_share: number, 
/**
 * Plan, 公顷 (absent without a plan layer).
 */
plan_ha: number | null, 
/**
 * Plan share, %.
 */
plan_share: number | null, 
/**
 * Plan − status, 公顷.
 */
change_ha: number | null, };

export type Transitions = { 
/**
 * The first epoch's classes (rows).
 */
from: Array<string>, 
/**
 * The second epoch's classes (columns), [`NO_DATA`] last where it occurs.
 */
to: Array<string>, 
/**
 * `ha[i][j]`: 公顷 of class `from[i]` that became `to[j]`.
 */
ha: Array<Array<number>>, };

export type RuleResult = { 
/**
 * The rule's id.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * The verdict.
 */
verdict: Verdict, 
/**
 * Why, in one sentence.
 */
reason: string, 
/**
 * The red line's overlap with the rule's classes.
 */
inside: Areas, 
/**
 * The part of the red line outside them.
 */
outside: Areas, };

export type Verdict = "符合" | "不符合" | "部分符合";

export type Areas = { 
/**
 * Plane area in the projected CRS (平面面积), m².
 */
plane_m2: number, 
/**
 * Ellipsoidal area on CGCS2000 (椭球面积), m².
 */
ellipsoid_m2: number, };

export type ClassRow = { 
/**
 * The class (the class fields' values), or the layer's title.
 */
class: string, 
/**
 * The 坐落单位, where the layer has one.
 */
place: string | null, 
/**
 * Parcels (图斑) the red line overlaps by more than the sliver tolerance.
 */
parcels: number, 
/**
 * The overlap's areas, m².
 */
areas: Areas, 
/**
 * Share of the red line's plane area, 0–1.
 */
share: number, };

export type LayerOverlap = { 
/**
 * The layer's id.
 */
id: string, 
/**
 * Its title.
 */
title: string, 
/**
 * Per class (and place), largest overlap first.
 */
rows: Array<ClassRow>, 
/**
 * The sum of the rows.
 */
total: ClassRow, };

export type ControlVerdict = { 
/**
 * `permanent_basic_farmland`, `ecological_red_line` or `urban_development_boundary`.
 */
line: string, 
/**
 * 是 / 否: touched (farmland, red line) or left (development boundary: some of the red
 * line lies outside it). `None` when no overlaid layer holds that control line.
 */
hit: boolean | null, 
/**
 * The area concerned (overlap; for the boundary, the part outside), m².
 */
areas: Areas, };

export type LegendItemDto = { 
/**
 * What it stands for.
 */
label: string, 
/**
 * A swatch's colour, `#rrggbb` or `rgba(…)`.
 */
color: string | null, 
/**
 * An icon, as a `data:` URL.
 */
icon: string | null, };

export type LayerDto = { 
/**
 * Layer id.
 */
id: string, 
/**
 * Title (Chinese where the catalog gives one).
 */
title: string, 
/**
 * The 一张图 group.
 */
group: Group, 
/**
 * Features.
 */
features: number, 
/**
 * Geometry type.
 */
geometry_type: string, 
/**
 * Whether its features are polygons (by their geometries, whatever the file declares):
 * the layers area analyses take.
 */
polygonal: boolean, 
/**
 * Shown.
 */
visible: boolean, 
/**
 * Synthetic demo data (marked in the tree).
 */
synthetic: boolean, 
/**
 * Where it comes from (数据来源, version, level).
 */
provenance: Provenance, 
/**
 * Features with invalid geometry.
 */
invalid: number, 
/**
 * Opacity 0–1.
 */
opacity: number, 
/**
 * Legend colours as CSS `rgba()`: fill and outline.
 */
fill: string, 
/**
 * Outline colour.
 */
stroke: string, 
/**
 * The classes present in the layer (land-use classes, categories): label and fill.
 */
legend: Array<[string, string]>, 
/**
 * Fields of dates (the time slider can step through them).
 */
date_fields: Array<string>, };

export type WorkspaceDto = { 
/**
 * The workspace CRS, e.g. `EPSG:4549`.
 */
crs: string, 
/**
 * Its name.
 */
crs_name: string, 
/**
 * The local origin (workspace metres).
 */
origin_xy: [number, number], 
/**
 * Layers, in drawing order.
 */
layers: Array<LayerDto>, 
/**
 * Data attributions.
 */
attribution: Array<string>, 
/**
 * Imagery layers, bottom first, drawn under the layers.
 */
imagery: Array<ImageryDto>, 
/**
 * 3D Tiles tilesets (the city twin), streamed for the view.
 */
tilesets: Array<TilesetDto>, 
/**
 * What the 3D view cuts away (剖切), as set (kept in saved workspaces).
 */
clip: ClipRequest, };

export type Identified = { 
/**
 * The layer's title.
 */
layer: string, 
/**
 * Feature id.
 */
fid: number, 
/**
 * Attributes, labelled `alias（name）` where the source gives an alias.
 */
attributes: Record<string, unknown>, };

export type SearchHit = { 
/**
 * Layer id.
 */
layer_id: string, 
/**
 * Layer title.
 */
layer: string, 
/**
 * Feature id.
 */
fid: number, 
/**
 * The field that matched.
 */
field: string, 
/**
 * Its value.
 */
value: string, };

export type CursorDto = { 
/**
 * Longitude (CGCS2000).
 */
lon: number, 
/**
 * Latitude.
 */
lat: number, 
/**
 * Workspace x (east).
 */
x: number, 
/**
 * Workspace y (north).
 */
y: number, 
/**
 * The workspace CRS.
 */
crs: string, };

export type HeightDto = { 
/**
 * Layer title.
 */
layer: string, 
/**
 * Feature id.
 */
fid: number, 
/**
 * The building's name, if it has one.
 */
name: string | null, 
/**
 * Top minus base.
 */
height_m: number, 
/**
 * Base height (on the terrain).
 */
base_m: number, 
/**
 * Top height.
 */
top_m: number, 
/**
 * Height where the ray hit.
 */
hit_z_m: number, };

export type OpenedDto = { 
/**
 * The layer tree.
 */
workspace: WorkspaceDto, 
/**
 * The view saved with it.
 */
view: View | null, 
/**
 * The file.
 */
path: string, };

export type DrillDto = { 
/**
 * On.
 */
drill: boolean, 
/**
 * The store written to.
 */
store: string, };

export type FolderDto = { 
/**
 * The folder.
 */
path: string, 
/**
 * Its parent, if any.
 */
parent: string | null, 
/**
 * Sub-folders and the datasets the core reads.
 */
entries: Array<FolderEntry>, };

export type CaseRow = { 
/**
 * Store id.
 */
id: number, 
/**
 * Case number (WJ2026-000001).
 */
case_no: string, 
/**
 * Status.
 */
status: Status, 
/**
 * Status in Chinese.
 */
status_zh: string, 
/**
 * Priority score.
 */
priority: number, 
/**
 * Rule ids.
 */
rules: Array<string>, 
/**
 * Rules in Chinese.
 */
rules_zh: string, 
/**
 * Inspector.
 */
assignee: string | null, 
/**
 * The building's fid.
 */
building_fid: number | null, 
/**
 * Zone types the building lies in.
 */
zone_types: Array<string>, };

export type CaseDetailDto = { 
/**
 * Status in Chinese.
 */
status_zh: string, 
/**
 * Rules in Chinese.
 */
rules_zh: string, 
/**
 * The statuses it may move to, with their Chinese names.
 */
next: Array<[Status, string]>, 
/**
 * Notes, oldest first.
 */
notes: Array<Note>, 
/**
 * Attachments, oldest first.
 */
attachments: Array<Attachment>, 
/**
 * Audit trail, oldest first.
 */
audit: Array<AuditEntry>, 
/**
 * Row id (the feature id in the GeoPackage).
 */
id: number, 
/**
 * Case number, e.g. `WJ2026-000042`.
 */
case_no: string, 
/**
 * Status.
 */
status: Status, 
/**
 * Priority score 0–100 (see `jingwei_analysis::violations`).
 */
priority: number, 
/**
 * Rules broken (rule ids; `manual` for a hand-flagged case without rules).
 */
rules: Array<string>, 
/**
 * A short title.
 */
title: string, 
/**
 * `detected` or `manual`.
 */
source: string, 
/**
 * The buildings layer the case concerns.
 */
building_layer: string | null, 
/**
 * The building's feature id.
 */
building_fid: number | null, 
/**
 * Assigned inspector.
 */
assignee: string | null, 
/**
 * Evidence numbers (the finding's evidence as JSON).
 */
evidence: any, 
/**
 * Created, ISO 8601 UTC.
 */
created_at: string, 
/**
 * Created by.
 */
created_by: string, 
/**
 * Last change, ISO 8601 UTC.
 */
updated_at: string, };

export type SelectedDto = { 
/**
 * The case.
 */
detail: CaseDetailDto, 
/**
 * The view framing it.
 */
view: View | null, };

export type DetectionDto = { 
/**
 * Buildings checked.
 */
buildings: number, 
/**
 * Findings.
 */
findings: number, 
/**
 * New cases.
 */
created: number, 
/**
 * Open cases updated.
 */
updated: number, 
/**
 * Open cases found again unchanged.
 */
unchanged: number, 
/**
 * Findings per rule id.
 */
per_rule: Array<[string, number]>, 
/**
 * The store the cases went to.
 */
store: string, 
/**
 * Milliseconds the run and the import took.
 */
ms: number, };

export type ReportsDto = { 
/**
 * The folder.
 */
dir: string, 
/**
 * Cases written.
 */
cases: number, 
/**
 * Of them, with a site map.
 */
with_map: number, };

export type EventDto = { 
/**
 * Id.
 */
id: string, 
/**
 * Title.
 */
title: string, 
/**
 * Kind (CAP event, `earthquake`, …).
 */
kind: string, 
/**
 * The incident type it would open.
 */
incident_type: string, 
/**
 * Severity.
 */
severity: string | null, 
/**
 * When (ISO 8601).
 */
time: string | null, 
/**
 * Where (CGCS2000 lon/lat).
 */
lonlat: [number, number] | null, 
/**
 * CAP: whether the alert follows its CAP version's rules (`None` for other feeds).
 */
valid: boolean | null, 
/**
 * CAP: the rules it breaks, as `<element>: rule` (kept by a lenient feed).
 */
violations: Array<string>, 
/**
 * CAP: its XML signature — `valid`, `invalid`, `unverified` (signed, no certificate
 * configured for the feed) or `unsigned`; `None` for other feeds.
 */
signature: string | null, 
/**
 * The signer of a valid signature, or why an invalid one fails.
 */
signature_detail: string | null, };

export type FeedDto = { 
/**
 * Its place in the list (what [`Session::incident_from_event`] takes).
 */
index: number, 
/**
 * Name.
 */
name: string, 
/**
 * URL.
 */
url: string, 
/**
 * Healthy, stale, …
 */
health: Health, 
/**
 * When it last answered.
 */
last_ok: string | null, 
/**
 * Its last error.
 */
error: string | null, 
/**
 * Its current events.
 */
events: Array<EventDto>, };

export type Resource = { 
/**
 * Its type (fire station, hospital, shelter, …).
 */
type: string, 
/**
 * Its name.
 */
name: string | null, 
/**
 * Feature id.
 */
fid: number, 
/**
 * Straight-line distance (m), when found by distance.
 */
distance_m: number | null, 
/**
 * Travel time by road (s), when found by road.
 */
travel_s: number | null, 
/**
 * Route length (m).
 */
route_m: number | null, 
/**
 * The route (workspace coordinates), from the resource to the incident.
 */
route: Array<[number, number]>, };

export type IncidentDetailDto = { 
/**
 * The incident.
 */
incident: Incident, 
/**
 * Its action log.
 */
log: Array<LogEntry>, 
/**
 * What each ring reaches.
 */
rings: Array<Ring>, 
/**
 * The nearest resources of each type by road.
 */
resources: Array<Resource>, 
/**
 * Resources the road network does not reach from the incident.
 */
unreachable: Array<Resource>, 
/**
 * Milliseconds the routing took.
 */
route_ms: number, 
/**
 * The view framing the outer ring.
 */
view: View | null, 
/**
 * Whether this is a drill copy.
 */
drill: boolean, };

export type ShelterUse = { 
/**
 * Feature id.
 */
fid: number, 
/**
 * Name.
 */
name: string | null, 
/**
 * People placed.
 */
placed: number, 
/**
 * Capacity.
 */
capacity: number, };

export type AllocationDto = { 
/**
 * The limit (minutes).
 */
limit_min: number, 
/**
 * People affected.
 */
people: number, 
/**
 * People placed.
 */
placed: number, 
/**
 * People no shelter within the limit had room for.
 */
left_over: number, 
/**
 * Fids of buildings with people left over.
 */
left_over_buildings: Array<number>, 
/**
 * Every shelter considered.
 */
shelters: Array<ShelterUse>, };

export type Model = { "model": "flood", 
/**
 * The water level, m.
 */
level_m: number, 
/**
 * Rising from this level (m) in `steps` steps; the last step is `level_m`.
 */
from_m: number | null, 
/**
 * Steps of the rise (1: only the final level).
 */
steps: number, 
/**
 * Roads under more water than this (m) are closed.
 */
passable_m: number, } | { "model": "rain", 
/**
 * Rainfall, mm.
 */
depth_mm: number, 
/**
 * The share that runs off (0–1; 0.9 for a city's sealed ground).
 */
runoff: number, 
/**
 * The circle's radius (m) when the incident is a point (default 1,000 m).
 */
radius_m: number | null, 
/**
 * Roads under more water than this (m) are closed.
 */
passable_m: number, } | { "model": "plume", 
/**
 * Release rate, g/s.
 */
rate_g_s: number, 
/**
 * Wind speed, m/s.
 */
wind_m_s: number, 
/**
 * Where the wind blows from, degrees from true north.
 */
wind_from_deg: number, 
/**
 * Pasquill–Gifford class A–F.
 */
stability: string, 
/**
 * Release height, m.
 */
height_m: number, 
/**
 * Thresholds (mg/m³), e.g. AEGL-3, AEGL-2, AEGL-1 of the substance.
 */
thresholds_mg_m3: Array<number>, 
/**
 * Minutes since the release began (the plume's front); steps divide them.
 */
minutes: number, 
/**
 * Steps of the time slider.
 */
steps: number, 
/**
 * Receptor height, m.
 */
receptor_m: number, } | { "model": "quake", 
/**
 * Surface-wave magnitude; none: read from the incident's title (a feed event's
 * "M 5.1 - …" or "…5.1级…").
 */
magnitude: number | null, 
/**
 * The fault's strike, degrees from true north (the isoseismals' long axis).
 */
strike_deg: number, 
/**
 * `east` or `west` China (default: by longitude).
 */
region: string | null, };

export type ScenarioInput = { 
/**
 * The model.
 */
model: Model, 
/**
 * The incident it is run for (its place, and its log).
 */
incident: string | null, 
/**
 * The place as longitude/latitude (CGCS2000), instead of the incident's.
 */
at: [number, number] | null, 
/**
 * Evacuate the people reached to shelters within this many minutes by road.
 */
evacuate_min: number | null, };

export type ScenarioStep = { 
/**
 * The water level (m) or the minutes since the release.
 */
value: number, 
/**
 * `m` or `min`.
 */
unit: string, 
/**
 * Area reached, m².
 */
area_m2: number, 
/**
 * Buildings reached.
 */
buildings: number, 
/**
 * Estimated people in them.
 */
people: number, };

export type ScenarioBand = { 
/**
 * Label, e.g. `≥ 1.5 m`, `≥ 150 mg/m³`, `VII`.
 */
label: string, 
/**
 * The band's lower value.
 */
lower: number, 
/**
 * Its upper value (none: open).
 */
upper: number | null, 
/**
 * Area, m².
 */
area_m2: number, 
/**
 * Buildings.
 */
buildings: number, 
/**
 * Their floor area, m².
 */
floor_area_m2: number, 
/**
 * Estimated people.
 */
people: number, };

export type ReachedBuilding = { 
/**
 * Feature id.
 */
fid: number, 
/**
 * Name.
 */
name: string | null, 
/**
 * Water depth (m), concentration (mg/m³) or intensity at it.
 */
value: number, 
/**
 * Estimated people.
 */
people: number, };

export type ScenarioDto = { 
/**
 * `flood`, `rain`, `plume` or `quake`.
 */
model: string, 
/**
 * The input, as JSON (what the log keeps and a replay reads).
 */
input: string, 
/**
 * Steps for the time slider (at least one; the last is the full scenario).
 */
steps: Array<ScenarioStep>, 
/**
 * Bands of the last step.
 */
bands: Array<ScenarioBand>, 
/**
 * Area reached, m².
 */
area_m2: number, 
/**
 * The largest value: deepest water (m), highest concentration (mg/m³) or intensity.
 */
max_value: number, 
/**
 * Water volume (m³; floods).
 */
volume_m3: number | null, 
/**
 * Rain that ran off the DEM (m³; rainfall).
 */
runoff_m3: number | null, 
/**
 * Buildings reached.
 */
buildings: number, 
/**
 * Estimated people in them.
 */
people: number, 
/**
 * The buildings reached, highest value first (at most [`LISTED`]).
 */
reached: Array<ReachedBuilding>, 
/**
 * Road segments closed (floods).
 */
roads_closed: number, 
/**
 * Their length, m.
 */
roads_closed_m: number, 
/**
 * Shelters left out because the scenario reaches them.
 */
shelters_unusable: number, 
/**
 * The evacuation, when asked for.
 */
evacuation: AllocationDto | null, 
/**
 * The log entry that records the run (runs for an incident).
 */
log_id: number | null, 
/**
 * Whether it ran in a drill.
 */
drill: boolean, 
/**
 * Milliseconds it took.
 */
ms: number, 
/**
 * The view framing it.
 */
view: View | null, };

export type Gap = { 
/**
 * The pipe with the loose end.
 */
pipe: number, 
/**
 * The pipe it nearly touches.
 */
near_pipe: number, 
/**
 * Where the end is.
 */
x: number, 
/**
 * Where the end is.
 */
y: number, 
/**
 * How far it is from the other pipe (m).
 */
distance_m: number, };

export type TopologyReport = { 
/**
 * Pipes read.
 */
pipes: number, 
/**
 * Pipes left out (no line, or shorter than the snap tolerance).
 */
pipes_skipped: number, 
/**
 * Nodes of the graph.
 */
nodes: number, 
/**
 * Pieces of pipe between nodes.
 */
edges: number, 
/**
 * Loose ends joined to another pipe's interior.
 */
t_junctions: number, 
/**
 * Loose ends near another pipe but not joined.
 */
gaps: Array<Gap>, 
/**
 * Valves placed on the network.
 */
valves: number, 
/**
 * Valves farther than the snap tolerance from every pipe.
 */
valves_off_network: Array<number>, 
/**
 * Sources placed (at their nearest node).
 */
sources: number, 
/**
 * Customers attached to a pipe.
 */
customers: number, 
/**
 * Customers farther than the service distance from every pipe.
 */
customers_unattached: Array<number>, 
/**
 * Connected pieces of the network.
 */
components: number, };

export type ValveFailureDto = { 
/**
 * The valve.
 */
failed: number, 
/**
 * What to close next.
 */
next_valves: Array<number>, 
/**
 * Customers out then.
 */
customers_out: number, };

export type BurstDto = { 
/**
 * The broken pipe (fid).
 */
pipe: number, 
/**
 * Where the break is (workspace CRS).
 */
at: [number, number], 
/**
 * Valves to close (fids of the pipe points).
 */
valves: Array<number>, 
/**
 * Pipes isolated.
 */
isolated_pipes: number, 
/**
 * Their length, m.
 */
isolated_m: number, 
/**
 * Customers (points) on them.
 */
isolated_customers: number, 
/**
 * Pipes without supply once the valves are closed.
 */
cut_off_pipes: number, 
/**
 * Their length, m.
 */
cut_off_m: number, 
/**
 * Customers without supply (isolated ones included).
 */
customers_out: number, 
/**
 * People those customers supply (their people field, when there is one).
 */
people_out: number, 
/**
 * For each valve: the valves to close next if it fails.
 */
if_valve_fails: Array<ValveFailureDto>, 
/**
 * Supply points in the network (0: only the isolated section counts).
 */
sources: number, 
/**
 * Milliseconds the analysis took.
 */
ms: number, 
/**
 * The view framing it.
 */
view: View | null, };

export type TraceDto = { 
/**
 * The pipe traced from.
 */
pipe: number, 
/**
 * Downstream (else upstream).
 */
downstream: boolean, 
/**
 * Pipes reached.
 */
pipes: Array<number>, 
/**
 * Their length, m.
 */
length_m: number, };

export type CameraHit = { 
/**
 * Feature id.
 */
fid: number, 
/**
 * Name.
 */
name: string | null, 
/**
 * Distance, m.
 */
distance_m: number, };

export type ViewshedDto = { 
/**
 * The camera.
 */
fid: number, 
/**
 * Area seen, m².
 */
seen_m2: number, 
/**
 * Area in its range and field of view, m².
 */
covered_m2: number, 
/**
 * Cell size of the analysis, m.
 */
cell_m: number, 
/**
 * The view framing it.
 */
view: View | null, };

export type CoverageDto = { 
/**
 * The area's size, m².
 */
area_m2: number, 
/**
 * The share some camera sees (0–1).
 */
seen_share: number, 
/**
 * The cameras that see part of it, most first: (fid, share of the area).
 */
cameras: Array<[number, number]>, };

export type Reading = { 
/**
 * The Thing's name.
 */
thing: string, 
/**
 * The datastream's name (or id).
 */
datastream: string, 
/**
 * Unit symbol.
 */
unit: string, 
/**
 * The Thing's location (longitude, latitude), if it has one.
 */
lonlat: [number, number] | null, 
/**
 * When (ISO 8601, UTC).
 */
time: string, 
/**
 * The latest result.
 */
value: number, 
/**
 * The limits that apply (below, above).
 */
limits: [number | null, number | null], 
/**
 * `ok`, `low` or `high`.
 */
state: string, };

export type SensorDto = { 
/**
 * The reading and its alarm state.
 */
reading: Reading, 
/**
 * The pipe (fid) it sits on, when one lies within [`SENSOR_ATTACH_M`].
 */
pipe: number | null, 
/**
 * Its distance from that pipe, m.
 */
distance_m: number | null, };

export type ComponentDto = { 
/**
 * Its name.
 */
name: string, 
/**
 * The version in this process (run-time for the C libraries, compile-time for crates).
 */
version: string, 
/**
 * Its licence (SPDX).
 */
licence: string, };

export type NoticeDto = { 
/**
 * What it is (a file, or the layers of the open workspace that share a source).
 */
what: string, 
/**
 * The licence or terms.
 */
licence: string, 
/**
 * The source or copyright line.
 */
source: string, };

export type AboutDto = { 
/**
 * 经纬 Jingwei.
 */
product: string, 
/**
 * The product version.
 */
version: string, 
/**
 * The commit of the build.
 */
commit: string, 
/**
 * The commit's date.
 */
commit_date: string, 
/**
 * The target it was compiled for (`x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-gnu`).
 */
target: string, 
/**
 * GDAL, PROJ, GEOS, SQLite, Bevy, Tauri, geo, rstar.
 */
components: Array<ComponentDto>, 
/**
 * The bundled data and fonts, then the open workspace's layer sources.
 */
data: Array<NoticeDto>, 
/**
 * The folder holding the full licence texts and attributions (the package's
 * `/usr/share/doc/jingwei`, or the source tree).
 */
licence_dir: string, };

export type Role = "inspector" | "commander" | "auditor" | "admin" | "gateway";

export type SharedCase = { 
/**
 * Row id.
 */
id: number, 
/**
 * Case number (`WJ2026-000042`).
 */
case_no: string, 
/**
 * Department (区/街道).
 */
department: string, 
/**
 * Status.
 */
status: Status, 
/**
 * Priority 0–100.
 */
priority: number, 
/**
 * Rules broken.
 */
rules: Array<string>, 
/**
 * Title.
 */
title: string, 
/**
 * `detected` or `manual`.
 */
source: string, 
/**
 * Assigned inspector.
 */
assignee: string | null, 
/**
 * The buildings layer the case concerns.
 */
building_layer: string | null, 
/**
 * The building's feature id there.
 */
building_fid: number | null, 
/**
 * Evidence (JSON).
 */
evidence: any, 
/**
 * Phone of the party, opened with the data key.
 */
phone: string | null, 
/**
 * ID number of the party, opened with the data key.
 */
id_number: string | null, 
/**
 * Whether sealed personal fields were left closed (no data key, or another one).
 */
personal_sealed: boolean, 
/**
 * Created (ISO 8601 UTC).
 */
created_at: string, 
/**
 * By.
 */
created_by: string, 
/**
 * Last change.
 */
updated_at: string, 
/**
 * By.
 */
updated_by: string, 
/**
 * Version: 1 when created, one more with each change.
 */
version: number, };

export type SharedNote = { 
/**
 * Row id.
 */
id: number, 
/**
 * The case.
 */
case_id: number, 
/**
 * When.
 */
at: string, 
/**
 * Who.
 */
actor: string, 
/**
 * Text.
 */
text: string, };

export type Whoami = { 
/**
 * `user@host:port/db`.
 */
store: string, 
/**
 * Role.
 */
role: Role | null, 
/**
 * Department.
 */
department: string | null, };

export type SharedDetail = { 
/**
 * The case.
 */
case: SharedCase, 
/**
 * Its notes, oldest first.
 */
notes: Array<SharedNote>, };

export type SharedChangeInput = { 
/**
 * The case.
 */
id: number, 
/**
 * The version the user saw.
 */
version: number, 
/**
 * A new status.
 */
status?: string, 
/**
 * A new assignee (`""` clears it).
 */
assignee?: string, 
/**
 * A note with the change.
 */
comment?: string, };

export type SharedWrite = { "outcome": "saved", 
/**
 * The case.
 */
case: SharedCase, } | { "outcome": "stale", 
/**
 * The case as the user saw it (when this session showed it).
 */
yours: SharedCase | null, 
/**
 * What the user tried, in words.
 */
tried: string, 
/**
 * The case as it is now.
 */
theirs: SharedCase, };

export type ChangeBatch = { 
/**
 * Cases changed (their notes, attachments, conflicts included).
 */
cases: Array<number>, 
/**
 * Incidents changed (their log included).
 */
incidents: Array<number>, 
/**
 * The connection dropped and came back: what was missed is unknown; read everything again.
 */
resync: boolean, 
/**
 * Notifications gathered into this batch.
 */
heard: number, };

