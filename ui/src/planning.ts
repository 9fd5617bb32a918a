// The planner's 压占分析: a red line (a GeoPackage, Shapefile, DXF or GeoJSON file, or a
// 界址点坐标 TXT of the land-approval format) against the chosen polygon layers; the table per
// layer and class in m², 公顷 and 亩 (plane and ellipsoidal), the control-line verdicts, the
// overlap pieces added as a layer, and the table exported as CSV (UTF-8 with BOM); and
// 合规性审查 of the same red line by a rules file (符合 / 不符合 / 部分符合 with reasons).
import { invoke } from "@tauri-apps/api/core";
import { $, esc } from "./dom";
import { currentLang, t } from "./i18n";
import { app } from "./state";
import type { OverlapDto, ReviewDto, WorkspaceDto } from "./types";
import { requestFrame } from "./view3d";

const POLYGONS = /polygon|surface/i;
/** The last answers (kept when the section is drawn again). */
let last: OverlapDto | null = null;
let lastReview: ReviewDto | null = null;
let rulesPath = "";

function renderReview(r: ReviewDto) {
  $("rv-result").innerHTML = `<li><b>${esc(r.title)}</b></li>` + r.results.map((x) =>
    `<li class="${x.verdict === "符合" ? "" : "hit"}">${esc(x.name)}：<b>${esc(x.verdict)}</b> — ${esc(x.reason)}</li>`).join("");
}

function request(addPieces: boolean) {
  const layers = [...document.querySelectorAll<HTMLInputElement>("#ov-layers input:checked")].map((c) => c.value);
  const sliver = Number(($("ov-sliver") as HTMLInputElement).value);
  return {
    redline: { kind: "file", path: ($("ov-path") as HTMLInputElement).value.trim(), layer: null },
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

/** The 压占分析 section under the layers. */
export function buildPlanning() {
  const box = $("planning");
  if (!app.ws) { box.innerHTML = ""; return; }
  const checked = new Set([...document.querySelectorAll<HTMLInputElement>("#ov-layers input:checked")].map((c) => c.value));
  const keep = document.getElementById("ov-path") as HTMLInputElement | null;
  const path = keep?.value ?? "";
  const open = (document.getElementById("ov") as HTMLDetailsElement | null)?.open ?? false;
  const polys = app.ws.layers.filter((l) => POLYGONS.test(l.geometry_type));
  // By default the planning groups, not the buildings (a planner adds them to count demolitions).
  const byDefault = (id: string, group: string) => id !== "buildings" && ["control", "status_quo", "plan"].includes(group);
  box.innerHTML = `<details id="ov"${open ? " open" : ""}><summary>${t("overlap.title")}</summary>
    <input id="ov-path" type="text" placeholder="${t("overlap.path")}" value="${esc(path)}">
    <div id="ov-layers">${polys.map((l) => `<label><input type="checkbox" value="${esc(l.id)}" ${checked.size ? (checked.has(l.id) ? "checked" : "") : (byDefault(l.id, l.group) ? "checked" : "")}> ${esc(l.title)}</label>`).join("")}</div>
    <label>${t("overlap.sliver")} <input id="ov-sliver" type="number" min="0" step="0.01" value="0.01"> m²</label>
    <div><button id="ov-go" type="button">${t("overlap.run")}</button> <button id="ov-csv" type="button">${t("overlap.csv")}</button> <button id="ov-xlsx" type="button">${t("overlap.xlsx")}</button></div>
    <input id="rv-rules" type="text" placeholder="${t("review.rules")}" value="${esc(rulesPath)}">
    <div><button id="rv-go" type="button">${t("review.run")}</button></div><ul id="rv-result" class="verdicts"></ul>
    <div id="ov-msg" class="msg"></div><div id="ov-result"></div></details>`;
  box.dataset.lang = currentLang();
  if (last) renderResult(last);
  if (lastReview) renderReview(lastReview);
  ($("rv-go") as HTMLButtonElement).onclick = async () => {
    rulesPath = ($("rv-rules") as HTMLInputElement).value.trim();
    $("ov-msg").textContent = t("overlap.running");
    try {
      lastReview = await invoke<ReviewDto>("review", { rules: rulesPath, redline: request(false).redline });
      $("ov-msg").textContent = "";
      renderReview(lastReview);
    } catch (e) { $("ov-msg").textContent = String((e as { message?: string }).message ?? e); }
  };
  ($("ov-go") as HTMLButtonElement).onclick = async () => {
    $("ov-msg").textContent = t("overlap.running");
    try {
      const [o, ws] = await invoke<[OverlapDto, WorkspaceDto]>("overlap", { request: request(true) });
      app.ws = ws;
      last = o;
      // The tree (and this section, with the answer) drawn again: the pieces are a layer now.
      const { buildTree } = await import("./tree");
      buildTree();
      await requestFrame();
    } catch (e) { $("ov-msg").textContent = String((e as { message?: string }).message ?? e); }
  };
  for (const [button, command] of [["ov-csv", "overlap_csv"], ["ov-xlsx", "overlap_xlsx"]]) {
    ($(button) as HTMLButtonElement).onclick = async () => {
      $("ov-msg").textContent = t("overlap.running");
      try {
        const path = await invoke<string>(command, { request: request(false) });
        $("ov-msg").textContent = `${t("overlap.saved")} ${path}`;
      } catch (e) { $("ov-msg").textContent = String((e as { message?: string }).message ?? e); }
    };
  }
}
