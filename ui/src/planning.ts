// The planner's 压占分析: a red line (a GeoPackage, Shapefile, DXF or GeoJSON file, or a
// 界址点坐标 TXT of the land-approval format) against the chosen polygon layers; the table per
// layer and class in m², 公顷 and 亩 (plane and ellipsoidal), the control-line verdicts, the
// overlap pieces added as a layer, and the table exported as CSV (UTF-8 with BOM); and
// 合规性审查 of the same red line by a rules file (符合 / 不符合 / 部分符合 with reasons).
import { invoke } from "@tauri-apps/api/core";
import { $, esc } from "./dom";
import { currentLang, t } from "./i18n";
import { app } from "./state";
import type { Balance, OverlapDto, PrintedDto, ReviewDto, Transitions, WorkspaceDto } from "./types";
import { drawRedline } from "./cases";
import { buildCompare } from "./compare";
import { tableSelection } from "./table";
import { requestFrame } from "./view3d";

/** The last answers (kept when the section is drawn again). */
let last: OverlapDto | null = null;
let lastReview: ReviewDto | null = null;
let lastTable = "";
/** A red line drawn on the map (WKT in the workspace CRS). */
let drawn: string | null = null;

function renderBalance(b: Balance) {
  const plan = b.plan_total_ha !== null;
  const cell = (v: number | null, d: number) => (v === null ? "" : fmt(v, d));
  lastTable = `<table class="ov"><thead><tr><th>${t("overlap.class")}</th><th>${t("balance.status")}</th><th>%</th>${plan ? `<th>${t("balance.plan")}</th><th>%</th><th>±</th>` : ""}</tr></thead><tbody>` +
    b.rows.map((r) => `<tr class="${r.level === 1 ? "layer" : ""}"><td>${r.level === 2 ? "&nbsp;&nbsp;" : ""}${esc(r.code)} ${esc(r.name)}</td><td>${fmt(r.status_ha, 4)}</td><td>${fmt(r.status_share, 2)}</td>${plan ? `<td>${cell(r.plan_ha, 4)}</td><td>${cell(r.plan_share, 2)}</td><td>${cell(r.change_ha, 4)}</td>` : ""}</tr>`).join("") +
    `<tr class="layer"><td>${t("overlap.total")}</td><td>${fmt(b.status_total_ha, 4)}</td><td>100.00</td>${plan ? `<td>${cell(b.plan_total_ha, 4)}</td><td>100.00</td><td></td>` : ""}</tr></tbody></table>`;
  $("lu-result").innerHTML = lastTable;
}

function renderChange(m: Transitions) {
  lastTable = `<table class="ov"><thead><tr><th>${t("change.from_to")}</th>${m.to.map((c) => `<th>${esc(c)}</th>`).join("")}<th>${t("overlap.total")}</th></tr></thead><tbody>` +
    m.from.map((f, i) => `<tr><td>${esc(f)}</td>${m.ha[i].map((v) => `<td>${v ? fmt(v, 4) : ""}</td>`).join("")}<td>${fmt(m.ha[i].reduce((a, b) => a + b, 0), 4)}</td></tr>`).join("") + "</tbody></table>";
  $("lu-result").innerHTML = lastTable;
}

function renderReview(r: ReviewDto) {
  $("rv-result").innerHTML = `<li><b>${esc(r.title)}</b></li>` + r.results.map((x) =>
    `<li class="${x.verdict === "符合" ? "" : "hit"}">${esc(x.name)}：<b>${esc(x.verdict)}</b> — ${esc(x.reason)}</li>`).join("");
}

/** The red line: the file typed, else the one drawn on the map, else the features selected
 * in the attribute table. */
function redline() {
  const path = ($("ov-path") as HTMLInputElement).value.trim();
  const sel = tableSelection();
  if (!path && drawn) return { kind: "wkt", wkt: drawn };
  if (!path && sel) return { kind: "features", layer: sel.layer, fids: sel.fids };
  if (!path) throw new Error(t("overlap.no_redline"));
  return { kind: "file", path, layer: null };
}

function request(addPieces: boolean) {
  const layers = [...document.querySelectorAll<HTMLInputElement>("#ov-layers input:checked")].map((c) => c.value);
  const sliver = Number(($("ov-sliver") as HTMLInputElement).value);
  return {
    redline: redline(),
    layers,
    sliver_m2: Number.isFinite(sliver) && sliver >= 0 ? sliver : null,
    add_pieces: addPieces,
  };
}

const fmt = (v: number, d: number) => v.toLocaleString("zh-CN", { minimumFractionDigits: d, maximumFractionDigits: d });

function verdict(line: string, hit: boolean | null, m2: number): string {
  const name = t(`overlap.${line}`);
  const yes = hit === null ? t("overlap.no_layer") : hit ? `${t("overlap.yes")} (${fmt(m2, 2)} m²)` : t("overlap.no");
  return `<li class="${hit ? "hit" : ""}">${esc(name)}: <b>${esc(yes)}</b></li>`;
}

function renderResult(o: OverlapDto) {
  const r = o.redline;
  const rows = o.layers.map((l) => `<tr class="layer"><th colspan="6">${esc(l.title)}</th></tr>` + l.rows.concat([{ ...l.total, class: t("overlap.total"), place: null }]).map((c) =>
    `<tr><td>${esc(c.class)}${c.place ? ` · ${esc(c.place)}` : ""}</td><td>${c.parcels}</td><td>${fmt(c.areas.plane_m2, 2)}</td><td>${fmt(c.areas.plane_m2 / 1e4, 4)}</td><td>${fmt(c.areas.plane_m2 * 3 / 2000, 2)}</td><td>${fmt(c.share * 100, 2)}</td></tr>`).join("")).join("");
  $("ov-result").innerHTML = `<div class="head">${t("overlap.redline")}: ${fmt(r.plane_m2, 2)} m² = ${fmt(r.plane_m2 / 1e4, 4)} ${t("overlap.ha")} = ${fmt(r.plane_m2 * 3 / 2000, 2)} ${t("overlap.mu")}
      <span class="muted">(${t("overlap.plane")} ${esc(o.plane_crs)}; ${t("overlap.ellipsoid")} ${fmt(r.ellipsoid_m2, 2)} m²)</span></div>
    <ul class="verdicts">${o.control.map((v) => verdict(v.line, v.hit, v.areas.plane_m2)).join("")}</ul>
    <table class="ov"><thead><tr><th>${t("overlap.class")}</th><th>${t("overlap.parcels")}</th><th>m²</th><th>${t("overlap.ha")}</th><th>${t("overlap.mu")}</th><th>%</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The fixed parts, made once (again only when the language changes), so that drawing the
 * layer lists again never loses what the planner typed or the answers shown. */
function skeleton(box: HTMLElement) {
  box.innerHTML = `<details id="ov"><summary>${t("overlap.title")}</summary>
    <input id="ov-path" type="text" placeholder="${t("overlap.path")}">
    <div><button id="ov-draw" type="button">${t("overlap.draw")}</button> <span id="ov-drawn" class="muted"></span></div>
    <div id="ov-layers"></div>
    <label>${t("overlap.sliver")} <input id="ov-sliver" type="number" min="0" step="0.01" value="0.01"> m²</label>
    <div><button id="ov-go" type="button">${t("overlap.run")}</button> <button id="ov-csv" type="button">${t("overlap.csv")}</button> <button id="ov-xlsx" type="button">${t("overlap.xlsx")}</button></div>
    <input id="rv-rules" type="text" placeholder="${t("review.rules")}">
    <div><button id="rv-go" type="button">${t("review.run")}</button></div><ul id="rv-result" class="verdicts"></ul>
    <div id="ov-msg" class="msg"></div><div id="ov-result"></div></details>
    <details id="lu"><summary>${t("balance.title")}</summary>
      <label>${t("balance.status")} <select id="lu-a"></select></label>
      <label>${t("balance.plan")} <select id="lu-b"></select></label>
      <div><button id="lu-balance" type="button">${t("balance.run")}</button> <button id="lu-change" type="button">${t("change.run")}</button></div>
      <div id="lu-msg" class="msg"></div><div id="lu-result">${lastTable}</div></details>
    <details id="pr"><summary>${t("print.title")}</summary>
      <input id="pr-template" type="text" placeholder="${t("print.template")}">
      <label>${t("print.name")} <input id="pr-name" type="text"></label>
      <label>${t("print.paper")} <select id="pr-paper"><option>A4</option><option>A3</option></select></label>
      <label>${t("print.orientation")} <select id="pr-orient"><option value="landscape">${t("print.landscape")}</option><option value="portrait">${t("print.portrait")}</option></select></label>
      <label>${t("print.scale")} <select id="pr-scale"><option value="">${t("print.auto")}</option>${[500, 1000, 2000, 5000, 10000].map((s) => `<option value="${s}">1:${s}</option>`).join("")}</select></label>
      <label>${t("print.unit")} <input id="pr-unit" type="text"></label>
      <input id="pr-out" type="text" placeholder="${t("print.out")}">
      <div><button id="pr-map" type="button">${t("print.map")}</button> <button id="pr-overlap" type="button">${t("print.overlap")}</button> <button id="pr-balance" type="button">${t("print.balance")}</button> <button id="pr-change" type="button">${t("print.change")}</button></div>
      <div id="pr-msg" class="msg"></div></details>
    <div id="compare-box"></div>`;
  box.dataset.lang = currentLang();
  if (last) renderResult(last);
  if (lastReview) renderReview(lastReview);
  const failed = (id: string) => (e: unknown) => { $(id).textContent = String((e as { message?: string }).message ?? e); };
  const redraw = async () => {
    const { buildTree } = await import("./tree");
    buildTree();
    await requestFrame();
  };
  ($("ov-draw") as HTMLButtonElement).onclick = () => {
    drawRedline((wkt) => {
      drawn = wkt;
      ($("ov-path") as HTMLInputElement).value = "";
      $("ov-drawn").textContent = t("overlap.drawn");
    });
  };
  if (drawn) $("ov-drawn").textContent = t("overlap.drawn");
  ($("ov-go") as HTMLButtonElement).onclick = async () => {
    $("ov-msg").textContent = t("overlap.running");
    try {
      const [o, ws] = await invoke<[OverlapDto, WorkspaceDto]>("overlap", { request: request(true) });
      app.ws = ws;
      last = o;
      $("ov-msg").textContent = "";
      renderResult(o);
      await redraw(); // the pieces are a layer now
    } catch (e) { failed("ov-msg")(e); }
  };
  for (const [button, command] of [["ov-csv", "overlap_csv"], ["ov-xlsx", "overlap_xlsx"]]) {
    ($(button) as HTMLButtonElement).onclick = async () => {
      $("ov-msg").textContent = t("overlap.running");
      try {
        const path = await invoke<string>(command, { request: request(false) });
        $("ov-msg").textContent = `${t("overlap.saved")} ${path}`;
      } catch (e) { failed("ov-msg")(e); }
    };
  }
  ($("rv-go") as HTMLButtonElement).onclick = async () => {
    $("ov-msg").textContent = t("overlap.running");
    try {
      const rules = ($("rv-rules") as HTMLInputElement).value.trim();
      lastReview = await invoke<ReviewDto>("review", { rules, redline: request(false).redline });
      $("ov-msg").textContent = "";
      renderReview(lastReview);
    } catch (e) { failed("ov-msg")(e); }
  };
  const pick = (id: string) => ($(id) as HTMLSelectElement).value;
  // Print: what the form says (empty fields leave the template's values), centred on the view.
  const value = (id: string) => ($(id) as HTMLInputElement).value.trim() || null;
  const printRequest = () => ({
    template: value("pr-template"),
    title: value("pr-name"),
    paper: pick("pr-paper"),
    orientation: pick("pr-orient"),
    scale: pick("pr-scale") ? Number(pick("pr-scale")) : null,
    unit: value("pr-unit"),
    out: value("pr-out") ?? "",
    view: app.view ?? null,
  });
  const printed = (p: PrintedDto) => {
    $("pr-msg").textContent = `${t("print.saved")} ${p.pages} ${t("print.pages")}${p.scale ? ` (1:${p.scale})` : ""}: ${p.files.join(", ")}`;
  };
  for (const [button, go] of [
    ["pr-map", () => invoke<PrintedDto>("print_map", { print: printRequest() })],
    ["pr-overlap", () => invoke<PrintedDto>("print_overlap", { request: request(false), print: printRequest() })],
    ["pr-balance", () => invoke<PrintedDto>("print_balance", { status: pick("lu-a"), plan: pick("lu-b") || null, print: printRequest() })],
    ["pr-change", () => { if (!pick("lu-b")) throw new Error(t("change.need_two")); return invoke<PrintedDto>("print_change", { from: pick("lu-a"), to: pick("lu-b"), print: printRequest() }); }],
  ] as const) {
    ($(button) as HTMLButtonElement).onclick = async () => {
      $("pr-msg").textContent = t("overlap.running");
      try { printed(await go()); } catch (e) { failed("pr-msg")(e); }
    };
  }
  ($("lu-balance") as HTMLButtonElement).onclick = async () => {
    $("lu-msg").textContent = t("overlap.running");
    try {
      renderBalance(await invoke<Balance>("land_use_balance", { status: pick("lu-a"), plan: pick("lu-b") || null }));
      $("lu-msg").textContent = "";
    } catch (e) { failed("lu-msg")(e); }
  };
  ($("lu-change") as HTMLButtonElement).onclick = async () => {
    $("lu-msg").textContent = t("overlap.running");
    try {
      if (!pick("lu-b")) throw new Error(t("change.need_two"));
      const [m, ws] = await invoke<[Transitions, WorkspaceDto]>("land_use_change", { from: pick("lu-a"), to: pick("lu-b") });
      app.ws = ws;
      $("lu-msg").textContent = "";
      renderChange(m);
      await redraw(); // the changed pieces are a layer now
    } catch (e) { failed("lu-msg")(e); }
  };
}

/** The 压占分析 and land-use sections under the layers: made once, their layer lists kept
 * up to date with the workspace's polygon layers. */
export function buildPlanning() {
  const box = $("planning");
  if (!app.ws) { box.innerHTML = ""; delete box.dataset.lang; return; }
  if (!document.getElementById("ov") || box.dataset.lang !== currentLang()) skeleton(box);
  void buildCompare();
  const polys = app.ws.layers.filter((l) => l.polygonal);
  const list = $("ov-layers");
  const had = new Set([...list.querySelectorAll<HTMLInputElement>("input")].map((c) => c.value));
  const checked = new Set([...list.querySelectorAll<HTMLInputElement>("input:checked")].map((c) => c.value));
  // By default the planning groups, not the buildings (a planner adds them to count
  // demolitions) nor layers made by an analysis.
  const byDefault = (id: string, group: string) => id !== "buildings" && ["control", "status_quo", "plan"].includes(group);
  list.innerHTML = polys.map((l) => {
    const on = had.has(l.id) ? checked.has(l.id) : (had.size === 0 && byDefault(l.id, l.group));
    return `<label><input type="checkbox" value="${esc(l.id)}" ${on ? "checked" : ""}> ${esc(l.title)}</label>`;
  }).join("");
  for (const [id, blank] of [["lu-a", false], ["lu-b", true]] as const) {
    const sel = $(id) as HTMLSelectElement;
    const was = sel.value;
    sel.innerHTML = (blank ? `<option value="">—</option>` : "") + polys.map((l) => `<option value="${esc(l.id)}">${esc(l.title)}</option>`).join("");
    if ([...sel.options].some((o) => o.value === was)) sel.value = was;
  }
}
