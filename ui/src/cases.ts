// The violation panel (违法建设): run the rules, list cases by priority with filters, select one
// (the 3D view flies to it with its building, permit and zone highlighted), move it along the
// loop, add notes and photos, flag new cases on a building or a drawn polygon.
import { $, esc, errorText } from "./dom";
import { invoke } from "@tauri-apps/api/core";
import { t } from "./i18n";
import { runJob } from "./job";
import type { CaseDetailDto, CaseRow, ChipDto, ReportsDto, SelectedDto, View } from "./types";


/** What the panel needs from the map. */
export interface MapHooks {
  view(): View | null;
  setView(v: View): void;
  pixels(): [number, number];
  dpr(): number;
  redraw(): Promise<void>;
}


const num = (v: unknown, unit: string, d = 1) => (typeof v === "number" ? `${v.toFixed(d)} ${unit}` : "—");

let hooks: MapHooks;
let rows: CaseRow[] = [];
let selected: CaseDetailDto | null = null;
/** The tool the next click on the map uses. */
export let tool: "none" | "building" | "polygon" | "redline" = "none";
/** Where a red line drawn with the polygon tool goes (the planning section). */
let redlineDone: ((wkt: string) => void) | null = null;

/** Draw a red line on the map (clicks, then Enter or a double-click); `done` gets its WKT. */
export function drawRedline(done: (wkt: string) => void) {
  redlineDone = done;
  setTool("redline");
}
let polygon: [number, number][] = [];

function say(msg: string, error = false) {
  const s = $("case-msg");
  s.textContent = msg;
  s.className = error ? "error" : "";
}

export function initCases(h: MapHooks) {
  hooks = h;
  $("detect").onclick = () => detectNow().catch((e) => say(errorText(e), true));
  for (const id of ["f-status", "f-rule", "f-zone"]) ($(id) as HTMLSelectElement).onchange = () => refresh();
  $("tool-building").onclick = () => setTool(tool === "building" ? "none" : "building");
  $("tool-polygon").onclick = () => setTool(tool === "polygon" ? "none" : "polygon");
  window.addEventListener("keydown", (e) => {
    if (tool !== "polygon" && tool !== "redline") return;
    if (e.key === "Enter") finishPolygon();
    if (e.key === "Escape") setTool("none");
  });
  casesTexts();
}

export function casesTexts() {
  $("cases-title").textContent = t("cases.title");
  $("detect").textContent = t("cases.detect");
  $("tool-building").textContent = t("cases.flag_building");
  $("tool-polygon").textContent = t("cases.draw_polygon");
  const fill = (id: string, opts: [string, string][]) => {
    const sel = $(id) as HTMLSelectElement;
    const v = sel.value;
    sel.innerHTML = opts.map(([k, label]) => `<option value="${k}">${esc(label)}</option>`).join("");
    sel.value = v;
  };
  fill("f-status", [["", t("cases.all_status")], ...["pending", "confirmed", "dismissed", "rectifying", "closed"].map((s) => [s, t(`status.${s}`)] as [string, string])]);
  fill("f-rule", [["", t("cases.all_rules")], ...["no_permit", "over_permit", "in_control_zone", "new_since_survey", "grown_since_survey", "manual"].map((r) => [r, t(`rule.${r}`)] as [string, string])]);
  fill("f-zone", [["", t("cases.all_zones")], ...["ecological_red_line", "permanent_basic_farmland", "river_management_zone", "outside_urban_development_boundary"].map((z) => [z, t(`zone.${z}`)] as [string, string])]);
  renderList();
  if (selected) renderDetail(selected);
}

function setTool(next: typeof tool) {
  tool = next;
  polygon = [];
  drawPolygon();
  $("tool-building").classList.toggle("on", tool === "building");
  $("tool-polygon").classList.toggle("on", tool === "polygon");
  say(tool === "building" ? t("cases.hint_building") : tool === "polygon" || tool === "redline" ? t("cases.hint_polygon") : "");
}

export async function detectNow() {
  say(t("cases.detecting"));
  const r = await runJob(t("cases.detecting"), () =>
    invoke<{ findings: number; created: number; updated: number; unchanged: number; ms: number; store: string }>("run_violations"));
  say(`${t("cases.detected")} ${r.findings}：${t("cases.created")} ${r.created} · ${t("cases.updated")} ${r.updated} · ${t("cases.unchanged")} ${r.unchanged}（${r.ms.toFixed(0)} ms）`);
  await refresh();
  return r;
}

export async function refresh() {
  const filter = { status: ($("f-status") as HTMLSelectElement).value, rule: ($("f-rule") as HTMLSelectElement).value, zone_type: ($("f-zone") as HTMLSelectElement).value };
  rows = await invoke<CaseRow[]>("list_cases", { filter });
  renderList();
  return rows;
}

function renderList() {
  const list = $("case-list");
  $("case-count").textContent = `${rows.length}`;
  list.innerHTML = rows.slice(0, 500).map((r) =>
    `<li data-id="${r.id}" class="${selected?.id === r.id ? "sel" : ""}"><span class="prio">${r.priority.toFixed(0)}</span>` +
    `<span class="no">${esc(r.case_no)}</span><span class="st st-${r.status}">${esc(t(`status.${r.status}`))}</span>` +
    `<span class="rules">${esc(r.rules.map((x) => t(`rule.${x}`)).join("、"))}</span></li>`).join("");
  list.querySelectorAll("li").forEach((li) => { (li as HTMLElement).onclick = () => selectCase(Number((li as HTMLElement).dataset.id)).catch((e) => say(errorText(e), true)); });
}

export async function selectCase(id: number): Promise<SelectedDto> {
  const [w, h] = hooks.pixels();
  const s = await invoke<SelectedDto>("select_case", { id, width: w, height: h, current: hooks.view() });
  selected = s.detail;
  if (s.view) hooks.setView(s.view);
  renderList();
  renderDetail(s.detail);
  await hooks.redraw();
  return s;
}

function renderDetail(d: CaseDetailDto) {
  const e = d.evidence ?? {};
  const rows: [string, string][] = [[t("ev.area"), num(e.area_m2, "m²")]];
  if (typeof e.permit_coverage === "number") rows.push([t("ev.coverage"), `${(100 * e.permit_coverage).toFixed(1)}%`]);
  if (e.permit) rows.push([t("ev.permit"), `${e.permit.number ?? "#" + e.permit.fid}（${t("ev.approved_height")} ${num(e.permit.approved_height_m, "m")}）`]);
  if (typeof e.height_m === "number") rows.push([t("ev.height"), num(e.height_m, "m")]);
  if (typeof e.height_excess_m === "number" && e.height_excess_m > 0) rows.push([t("ev.height_excess"), num(e.height_excess_m, "m")]);
  if (typeof e.footprint_excess_m2 === "number" && e.footprint_excess_m2 > 0) rows.push([t("ev.footprint_excess"), num(e.footprint_excess_m2, "m²")]);
  for (const z of e.zones ?? []) rows.push([t(`zone.${z.zone_type}`), `${esc(z.name ?? "")} ${num(z.overlap_m2, "m²")}`]);
  const next = d.next.map(([s]) => `<button type="button" data-status="${s}">→ ${esc(t(`status.${s}`))}</button>`).join("");
  $("case-detail").innerHTML =
    `<h4>${esc(d.case_no)} <span class="st st-${d.status}">${esc(t(`status.${d.status}`))}</span> <span class="prio">${d.priority.toFixed(1)}</span></h4>` +
    `<p>${esc(d.rules_zh)}${d.building_fid !== null ? ` · ${esc(d.building_layer ?? "")} #${d.building_fid}` : ""}</p>` +
    `<table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join("")}</table>` +
    `<div class="next"><input id="status-comment" placeholder="${esc(t("cases.comment"))}">${next}</div>` +
    `<div class="assign"><input id="assignee" value="${esc(d.assignee ?? "")}" placeholder="${esc(t("cases.assignee"))}"><button id="assign-btn" type="button">${esc(t("cases.assign"))}</button></div>` +
    `<div class="note"><textarea id="note-text" rows="2" placeholder="${esc(t("cases.note"))}"></textarea><button id="note-btn" type="button">${esc(t("cases.add_note"))}</button></div>` +
    `<div id="case-chips" class="chips"></div>` +
    `<div class="attach"><input id="attach-file" type="file" accept="image/*,.pdf"> <button id="report-btn" type="button">${esc(t("cases.report"))}</button></div>` +
    `<ul class="notes">${d.notes.map((n) => `<li><b>${esc(n.actor)}</b> ${esc(n.at.slice(0, 16).replace("T", " "))}：${esc(n.text)}</li>`).join("")}` +
    `${d.attachments.map((a) => `<li>📎 ${esc(a.name)}（${(a.size / 1024).toFixed(0)} KB）</li>`).join("")}</ul>` +
    `<details><summary>${esc(t("cases.audit"))}（${d.audit.length}）</summary><ul class="audit">${d.audit.map((a) =>
      `<li>${esc(a.at.slice(0, 19).replace("T", " "))} ${esc(a.actor)} ${esc(a.action)} ${esc(a.field ?? "")} ${esc((a.old_value ?? "").slice(0, 40))} → ${esc((a.new_value ?? "").slice(0, 40))}</li>`).join("")}</ul></details>`;
  showChips(d.id).catch(() => undefined);
  $("case-detail").querySelectorAll("button[data-status]").forEach((b) => {
    (b as HTMLElement).onclick = () => setStatus(d.id, (b as HTMLElement).dataset.status!, ($("status-comment") as HTMLInputElement).value).catch((e) => say(errorText(e), true));
  });
  $("assign-btn").onclick = () => invoke<CaseDetailDto>("assign_case", { id: d.id, assignee: ($("assignee") as HTMLInputElement).value }).then(updated).catch((e) => say(errorText(e), true));
  $("report-btn").onclick = () => printReport(d.id).catch((e) => say(errorText(e), true));
  $("note-btn").onclick = () => addNote(d.id, ($("note-text") as HTMLTextAreaElement).value).catch((e) => say(errorText(e), true));
  ($("attach-file") as HTMLInputElement).onchange = async (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (!f) return;
    const bytes = Array.from(new Uint8Array(await f.arrayBuffer()));
    await attach(d.id, f.name, bytes).catch((e) => say(errorText(e), true));
  };
}

/** The case's site on the workspace's imagery epochs: side by side, or one over the other
 * with a swipe (the earliest and the latest). */
async function showChips(id: number) {
  const box = $("case-chips");
  const chips = await invoke<ChipDto[]>("case_imagery", { id });
  if (!chips.length) { box.innerHTML = ""; return; }
  const src = (c: ChipDto) => `data:image/png;base64,${c.png}`;
  const cap = (c: ChipDto) => `${esc(c.title)}${c.epoch ? ` · ${esc(c.epoch)}` : ""}`;
  const side = chips.map((c) => `<figure><img src="${src(c)}" alt="${esc(c.title)}"><figcaption>${cap(c)}</figcaption></figure>`).join("");
  if (chips.length < 2) { box.innerHTML = `<div class="side">${side}</div>`; return; }
  const [a, b] = [chips[0], chips[chips.length - 1]];
  box.innerHTML = `<div class="chip-mode"><button type="button" data-m="side">${esc(t("chips.side"))}</button><button type="button" data-m="swipe">${esc(t("chips.swipe"))}</button></div>
    <div class="side">${side}</div>
    <div class="swipe" hidden><img src="${src(a)}" alt="${esc(a.title)}"><img class="over" src="${src(b)}" alt="${esc(b.title)}">
    <input type="range" min="0" max="100" value="50"><div class="cap">${cap(a)} ⟷ ${cap(b)}</div></div>`;
  const over = box.querySelector(".over") as HTMLElement;
  const range = box.querySelector(".swipe input") as HTMLInputElement;
  const clip = () => { over.style.clipPath = `inset(0 0 0 ${range.value}%)`; };
  range.oninput = clip; clip();
  box.querySelectorAll(".chip-mode button").forEach((btn) => {
    (btn as HTMLElement).onclick = () => {
      const swipe = (btn as HTMLElement).dataset.m === "swipe";
      (box.querySelector(".side") as HTMLElement).hidden = swipe;
      (box.querySelector(".swipe") as HTMLElement).hidden = !swipe;
    };
  });
}

/** Write the case's printable report (site map, evidence, notes, photos, audit trail). */
export async function printReport(id: number): Promise<ReportsDto> {
  const r = await runJob(t("cases.report"), () => invoke<ReportsDto>("case_report", { id }));
  say(`${t("cases.report_done")} ${r.dir}`);
  return r;
}

async function updated(d: CaseDetailDto) {
  selected = d;
  renderDetail(d);
  await refresh();
  return d;
}

export async function setStatus(id: number, status: string, comment: string) {
  return updated(await invoke<CaseDetailDto>("set_case_status", { id, status, comment: comment || null }));
}

export async function addNote(id: number, text: string) {
  return updated(await invoke<CaseDetailDto>("add_case_note", { id, text }));
}

export async function attach(id: number, name: string, bytes: number[]) {
  return updated(await invoke<CaseDetailDto>("attach_case_file", { id, name, bytes }));
}

/** A click on the map while a tool is on; returns true when the panel used it. */
export async function mapClick(x: number, y: number): Promise<boolean> {
  const v = hooks.view();
  if (tool === "none" || !v) return false;
  const dpr = hooks.dpr();
  const [w, h] = hooks.pixels();
  if (tool === "building") {
    try {
      const r = await invoke<CaseRow>("flag_building", { x: x * dpr, y: y * dpr, width: w, height: h, view: v, title: t("cases.manual_title") });
      setTool("none");
      say(`${t("cases.flagged")} ${r.case_no}`);
      await refresh();
      await selectCase(r.id);
    } catch (e) { say(errorText(e), true); }
  } else {
    polygon.push([x, y]);
    drawPolygon();
  }
  return true;
}

/** Finish the drawn polygon (Enter or double-click). */
export async function finishPolygon(): Promise<CaseRow | null> {
  const v = hooks.view();
  if ((tool !== "polygon" && tool !== "redline") || polygon.length < 3 || !v) return null;
  const dpr = hooks.dpr();
  const [w, h] = hooks.pixels();
  const points = polygon.map(([x, y]) => [x * dpr, y * dpr]);
  if (tool === "redline") {
    const done = redlineDone;
    try {
      const wkt = await invoke<string>("redline_from_screen", { points, width: w, height: h, view: v });
      setTool("none");
      done?.(wkt);
    } catch (e) { say(errorText(e), true); }
    return null;
  }
  const r = await invoke<CaseRow>("flag_polygon", { points, width: w, height: h, view: v, title: t("cases.manual_title") });
  setTool("none");
  say(`${t("cases.flagged")} ${r.case_no}`);
  await refresh();
  await selectCase(r.id);
  return r;
}

/** The view moved: a half-drawn polygon no longer matches the ground. */
export function viewMoved() {
  if ((tool === "polygon" || tool === "redline") && polygon.length) { polygon = []; drawPolygon(); }
}

function drawPolygon() {
  const svg = $("draw") as unknown as SVGSVGElement;
  svg.innerHTML = polygon.length
    ? `<polygon points="${polygon.map(([x, y]) => `${x},${y}`).join(" ")}" />` + polygon.map(([x, y]) => `<circle cx="${x}" cy="${y}" r="4" />`).join("")
    : "";
}

/** For the smoke test: drive the panel like an inspector would. */
export async function smokeFlow(redShare: () => number): Promise<Record<string, unknown>> {
  const det = await detectNow();
  const list = await refresh();
  const top = list[0];
  const before = redShare();
  const sel = await selectCase(top.id);
  const highlighted = redShare();
  const confirmed = await setStatus(top.id, "confirmed", "现场核实属实");
  await addNote(top.id, "已拍照取证");
  await attach(top.id, "现场照片.jpg", [0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
  const report = await printReport(top.id);
  ($("f-rule") as HTMLSelectElement).value = "in_control_zone";
  const inZone = await refresh();
  ($("f-rule") as HTMLSelectElement).value = "";
  // A polygon drawn around the middle of the view.
  const [w, h] = hooks.pixels();
  const dpr = hooks.dpr();
  setTool("polygon");
  for (const [fx, fy] of [[0.45, 0.55], [0.55, 0.55], [0.55, 0.65], [0.45, 0.65]]) await mapClick((w * fx) / dpr, (h * fy) / dpr);
  const drawn = await finishPolygon();
  return {
    findings: det.findings, created: det.created, listed: list.length, top_case: top.case_no, top_priority: top.priority,
    flew: sel.view !== null, red_before: before, red_selected: highlighted, status_after: confirmed.status, notes: confirmed.notes.length, in_zone_listed: inZone.length,
    in_zone_all_match: inZone.every((r) => r.rules.includes("in_control_zone")), drawn_case: drawn?.case_no ?? null, report,
  };
}
