// 模拟推演 and 城市生命线 in the command panel: what-if scenarios run at the selected incident
// (flood from a water level, rainfall, a gas release, an earthquake) with their steps on a time
// slider, bands, reached buildings and evacuation; pipe bursts (爆管关阀) and cameras picked on
// the map. Every answer comes from the application API; this file only asks and shows.
import { $, esc, errorText } from "./dom";
import { invoke } from "@tauri-apps/api/core";
import { t } from "./i18n";
import type { MapHooks } from "./cases";
import type { BurstDto, CameraHit, CoverageDto, LogEntry, Model, ScenarioDto, ScenarioInput, SensorDto, TopologyReport, ViewshedDto } from "./types";

type ModelName = Model["model"];
const MODELS: ModelName[] = ["flood", "rain", "plume", "quake"];

/** The parameters each model asks for: [key, default]. */
const PARAMS: Record<ModelName, [string, string][]> = {
  flood: [["level_m", "5.6"], ["from_m", "4.6"], ["steps", "4"], ["passable_m", "0.3"]],
  rain: [["depth_mm", "150"], ["runoff", "0.9"], ["radius_m", "800"], ["passable_m", "0.3"]],
  plume: [["rate_g_s", "500"], ["wind_m_s", "3"], ["wind_from_deg", "90"], ["stability", "D"], ["height_m", "0"], ["thresholds_mg_m3", "10,100"], ["minutes", "30"], ["steps", "3"]],
  quake: [["magnitude", ""], ["strike_deg", "0"]],
};

let hooks: MapHooks;
let incidentId: number | null = null;
let last: ScenarioDto | null = null;
let mode: "burst" | "see" | null = null;
let playing: number | null = null;
/** Called after a run is logged on the incident (the command panel re-reads its log). */
let onLogged: (id: number) => Promise<unknown> = async () => {};

export function setOnLogged(f: (id: number) => Promise<unknown>) {
  onLogged = f;
}

function say(msg: string, error = false) {
  const s = $("wi-msg");
  s.textContent = msg;
  s.className = error ? "error" : "";
}

const fail = (e: unknown) => say(errorText(e), true);

export function initWhatIf(h: MapHooks) {
  hooks = h;
  whatIfTexts();
}

/** Show the panel for the selected incident (null: hide it). */
export function whatIfFor(id: number | null) {
  const changed = id !== incidentId;
  if (changed) last = null;
  incidentId = id;
  $("whatif").hidden = id === null;
  // The same incident again (its log re-read): the form and the result stay as they are.
  if (id !== null && changed) whatIfTexts();
}

export function whatIfTexts() {
  const box = $("whatif");
  const current = (document.getElementById("wi-model") as HTMLSelectElement | null)?.value as ModelName | undefined;
  const m: ModelName = current ?? "flood";
  box.innerHTML =
    `<h4>${esc(t("wi.title"))}</h4>` +
    `<div class="tools"><select id="wi-model">${MODELS.map((k) => `<option value="${k}"${k === m ? " selected" : ""}>${esc(t(`wi.model.${k}`))}</option>`).join("")}</select></div>` +
    `<div id="wi-params" class="params"></div>` +
    `<div class="tools"><label>${esc(t("wi.evacuate"))} <input id="wi-evac" size="4" placeholder="${esc(t("wi.minutes"))}"></label>` +
    `<button id="wi-run" type="button">${esc(t("wi.run"))}</button><button id="wi-clear" type="button">${esc(t("wi.clear"))}</button></div>` +
    `<div id="wi-msg"></div><div id="wi-result"></div>` +
    `<h4>${esc(t("wi.lifelines"))}</h4>` +
    `<div class="tools"><button id="wi-topo" type="button">${esc(t("wi.topology"))}</button>` +
    `<button id="wi-burst" type="button">${esc(t("wi.burst"))}</button>` +
    `<button id="wi-see" type="button">${esc(t("wi.see"))}</button>` +
    `<button id="wi-cover" type="button">${esc(t("wi.coverage"))}</button>` +
    `<button id="wi-sensors" type="button">${esc(t("wi.sensors"))}</button></div>` +
    `<div class="tools"><label>${esc(t("wi.ground"))} <input id="wi-ground" type="range" min="0" max="100" value="100"></label>` +
    `<button id="wi-pipes" type="button">${esc(t("wi.show_pipes"))}</button></div>` +
    `<div id="wi-life"></div>`;
  renderParams(m);
  ($("wi-model") as HTMLSelectElement).onchange = () => renderParams(($("wi-model") as HTMLSelectElement).value as ModelName);
  $("wi-run").onclick = () => run().catch(fail);
  $("wi-clear").onclick = () => invoke("scenario_clear").then(() => { last = null; $("wi-result").innerHTML = ""; $("wi-life").innerHTML = ""; return hooks.redraw(); }).catch(fail);
  $("wi-topo").onclick = () => topology().catch(fail);
  $("wi-burst").onclick = () => pick("burst");
  $("wi-see").onclick = () => pick("see");
  $("wi-cover").onclick = () => coverage().catch(fail);
  $("wi-sensors").onclick = () => sensors().catch(fail);
  const ground = $("wi-ground") as HTMLInputElement;
  ground.onchange = () => {
    const v = Number(ground.value) / 100;
    invoke("set_ground_opacity", { opacity: v >= 1 ? null : v }).then(() => hooks.redraw()).catch(fail);
  };
  $("wi-pipes").onclick = () => showPipes().catch(fail);
  if (last) renderResult(last);
}

function renderParams(m: ModelName) {
  $("wi-params").innerHTML = PARAMS[m].map(([k, d]) =>
    `<label>${esc(t(`wi.p.${k}`))} <input data-p="${k}" value="${esc(d)}" size="6"></label>`).join("");
}

/** The model of the form. */
function model(): Model {
  const m = ($("wi-model") as HTMLSelectElement).value as ModelName;
  const v: Record<string, string> = {};
  $("wi-params").querySelectorAll("input[data-p]").forEach((i) => { v[(i as HTMLInputElement).dataset.p!] = (i as HTMLInputElement).value.trim(); });
  const n = (k: string) => Number(v[k]);
  const opt = (k: string) => (v[k] === "" || v[k] === undefined ? null : Number(v[k]));
  switch (m) {
    case "flood": return { model: "flood", level_m: n("level_m"), from_m: opt("from_m"), steps: n("steps") || 1, passable_m: n("passable_m") };
    case "rain": return { model: "rain", depth_mm: n("depth_mm"), runoff: n("runoff"), radius_m: opt("radius_m"), passable_m: n("passable_m") };
    case "plume": return {
      model: "plume", rate_g_s: n("rate_g_s"), wind_m_s: n("wind_m_s"), wind_from_deg: n("wind_from_deg"), stability: v.stability,
      height_m: n("height_m"), thresholds_mg_m3: v.thresholds_mg_m3.split(/[,，\s]+/).filter((x) => x).map(Number), minutes: n("minutes"), steps: n("steps") || 1, receptor_m: 1.5,
    };
    case "quake": return { model: "quake", magnitude: opt("magnitude"), strike_deg: n("strike_deg"), region: null };
  }
}

export async function runScenario(input: ScenarioInput): Promise<ScenarioDto> {
  const [w, h] = hooks.pixels();
  const d = await invoke<ScenarioDto>("scenario_run", { input, width: w, height: h, current: hooks.view() });
  await shown(d);
  return d;
}

async function run() {
  if (incidentId === null) return;
  const evac = ($("wi-evac") as HTMLInputElement).value.trim();
  say(t("wi.running"));
  const id = incidentId;
  const d = await runScenario({ model: model(), incident: String(id), at: null, evacuate_min: evac ? Number(evac) : null });
  await onLogged(id);
  say(`${d.ms.toFixed(0)} ms`);
}

async function shown(d: ScenarioDto) {
  last = d;
  if (d.view) hooks.setView(d.view);
  renderResult(d);
  await hooks.redraw();
}

const m2 = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} km²` : `${Math.round(v)} m²`);
const unitOf = (d: ScenarioDto) => (d.model === "plume" ? "mg/m³" : d.model === "quake" ? "" : "m");

function renderResult(d: ScenarioDto) {
  const steps = d.steps.length > 1
    ? `<div class="slider"><button id="wi-play" type="button">▶</button><input id="wi-step" type="range" min="0" max="${d.steps.length - 1}" value="${d.steps.length - 1}"><span id="wi-step-label"></span></div>`
    : "";
  const bands = d.bands.map((b) => `<tr><td>${esc(b.label)}</td><td>${m2(b.area_m2)}</td><td>${b.buildings}</td><td>${Math.round(b.people)}</td></tr>`).join("");
  const reached = d.reached.slice(0, 8).map((b) => `<li>${esc(b.name ?? "#" + b.fid)} · ${b.value.toFixed(2)} ${unitOf(d)} · ${Math.round(b.people)} ${esc(t("wi.people"))}</li>`).join("");
  const ev = d.evacuation;
  $("wi-result").innerHTML =
    `<p class="summary" data-model="${esc(d.model)}">${esc(t(`wi.model.${d.model}`))}：${m2(d.area_m2)} · ${d.buildings} ${esc(t("cmd.buildings"))} · ${Math.round(d.people)} ${esc(t("wi.people"))} · ${esc(t("wi.max"))} ${d.max_value.toFixed(2)} ${unitOf(d)}` +
    (d.drill ? ` <span class="badge">${esc(t("cmd.drill"))}</span>` : "") + `</p>` +
    steps +
    `<table><tr><th>${esc(t("wi.band"))}</th><th>${esc(t("wi.area"))}</th><th>${esc(t("cmd.buildings"))}</th><th>${esc(t("cmd.population"))}</th></tr>${bands}</table>` +
    (d.roads_closed ? `<p>${esc(t("wi.roads_closed"))}：${d.roads_closed} · ${(d.roads_closed_m / 1000).toFixed(2)} km</p>` : "") +
    (ev ? `<p>${esc(t("wi.evacuation"))}（${ev.limit_min} min）：${Math.round(ev.placed)} / ${Math.round(ev.people)} · ${esc(t("wi.left_over"))} ${Math.round(ev.left_over)} · ${esc(t("wi.unusable"))} ${d.shelters_unusable}</p>` : "") +
    (reached ? `<ul class="notes">${reached}</ul>` : "");
  if (d.steps.length > 1) {
    const label = (k: number) => { const s = d.steps[k]; $("wi-step-label").textContent = `${s.value} ${s.unit} · ${m2(s.area_m2)} · ${s.buildings}`; };
    label(d.steps.length - 1);
    const slider = $("wi-step") as HTMLInputElement;
    slider.oninput = () => { const k = Number(slider.value); label(k); showStep(k).catch(fail); };
    $("wi-play").onclick = () => play(d.steps.length);
  }
}

export async function showStep(k: number) {
  await invoke("scenario_step", { k });
  await hooks.redraw();
}

function play(n: number) {
  if (playing !== null) { clearInterval(playing); playing = null; return; }
  let k = 0;
  playing = window.setInterval(() => {
    const slider = document.getElementById("wi-step") as HTMLInputElement | null;
    if (!slider || k >= n) { if (playing !== null) clearInterval(playing); playing = null; return; }
    slider.value = String(k);
    slider.dispatchEvent(new Event("input"));
    k += 1;
  }, 1200);
}

/** A scenario line of the incident's log, with a replay button. */
export function logLine(l: LogEntry): string {
  let what = l.detail ?? "";
  try {
    const v = JSON.parse(what) as { input: ScenarioInput; result: { buildings: number; people: number } };
    what = `${t(`wi.model.${v.input.model.model}`)} · ${v.result.buildings} ${t("cmd.buildings")} · ${Math.round(v.result.people)} ${t("wi.people")}`;
  } catch { /* an older or hand-written entry: shown as it is */ }
  return `${esc(t("wi.title"))} ${esc(what)} <button type="button" data-replay="${l.id}">${esc(t("wi.replay"))}</button>`;
}

/** Wire the replay buttons of a rendered log. */
export function bindReplay(root: HTMLElement, id: number) {
  root.querySelectorAll("button[data-replay]").forEach((b) => {
    (b as HTMLElement).onclick = () => {
      const [w, h] = hooks.pixels();
      invoke<ScenarioDto>("scenario_replay", { id, logId: Number((b as HTMLElement).dataset.replay), width: w, height: h, current: hooks.view() })
        .then(shown).catch(fail);
    };
  });
}

async function topology() {
  const r = await invoke<TopologyReport>("pipe_topology");
  $("wi-life").innerHTML = `<p>${esc(t("wi.topo_line").replace("{pipes}", String(r.pipes)).replace("{nodes}", String(r.nodes)).replace("{components}", String(r.components))
    .replace("{gaps}", String(r.gaps.length)).replace("{valves}", String(r.valves)).replace("{customers}", String(r.customers)))}</p>` +
    `<ul class="notes">${r.gaps.slice(0, 10).map((g) => `<li>${esc(t("wi.gap"))} #${g.pipe} → #${g.near_pipe} ${g.distance_m.toFixed(2)} m</li>`).join("")}</ul>`;
  await hooks.redraw();
  return r;
}

function pick(m: "burst" | "see") {
  mode = mode === m ? null : m;
  $("wi-burst").classList.toggle("on", mode === "burst");
  $("wi-see").classList.toggle("on", mode === "see");
  say(mode ? t(`wi.hint_${mode}`) : "");
}

export async function burstAt(x: number, y: number): Promise<BurstDto> {
  const [w, h] = hooks.pixels();
  const b = await invoke<BurstDto>("pipe_burst", { x, y, width: w, height: h, view: hooks.view() });
  if (b.view) hooks.setView(b.view);
  $("wi-life").innerHTML =
    `<p>${esc(t("wi.burst_pipe"))} #${b.pipe}：${esc(t("wi.close"))} ${b.valves.map((v) => "#" + v).join("、")}</p>` +
    `<p>${esc(t("wi.isolated"))} ${b.isolated_pipes} · ${b.isolated_m.toFixed(0)} m · ${esc(t("wi.customers_out"))} ${b.customers_out}（${Math.round(b.people_out)} ${esc(t("wi.people"))}）</p>` +
    `<ul class="notes">${b.if_valve_fails.map((f) => `<li>${esc(t("wi.if_fails").replace("{v}", "#" + f.failed))} ${f.next_valves.map((v) => "#" + v).join("、") || "—"}</li>`).join("")}</ul>`;
  await hooks.redraw();
  return b;
}

async function seeAt(x: number, y: number): Promise<CameraHit[]> {
  const [w, h] = hooks.pixels();
  const hits = await invoke<CameraHit[]>("cameras_seeing", { x, y, width: w, height: h, view: hooks.view() });
  $("wi-life").innerHTML = `<p>${esc(t("wi.seen_by").replace("{n}", String(hits.length)))}</p><ul class="notes">` +
    hits.map((c) => `<li><button type="button" data-cam="${c.fid}">${esc(c.name ?? "#" + c.fid)}</button> ${c.distance_m.toFixed(0)} m</li>`).join("") + `</ul>`;
  $("wi-life").querySelectorAll("button[data-cam]").forEach((b) => {
    (b as HTMLElement).onclick = () => viewshed(Number((b as HTMLElement).dataset.cam)).catch(fail);
  });
  return hits;
}

async function viewshed(fid: number) {
  const [w, h] = hooks.pixels();
  const v = await invoke<ViewshedDto>("camera_viewshed", { fid, width: w, height: h, current: hooks.view() });
  if (v.view) hooks.setView(v.view);
  say(`${esc(t("wi.viewshed"))} #${fid}：${m2(v.seen_m2)} / ${m2(v.covered_m2)}`);
  await hooks.redraw();
}

/** The pipes in 3D at their depth under a see-through ground (the layer shown, the ground at 35 %). */
export async function showPipes() {
  await invoke("show_underground", { opacity: 0.35 });
  ($("wi-ground") as HTMLInputElement).value = "35";
  await hooks.redraw();
}

export async function sensors(): Promise<SensorDto[]> {
  const list = await invoke<SensorDto[]>("pipe_sensors");
  $("wi-life").innerHTML = `<ul class="notes">${list.map((r) => {
    const g = r.reading;
    return `<li class="${g.state === "ok" ? "" : "error"}">${esc(g.thing)} · ${esc(g.datastream)} ${g.value} ${esc(g.unit)} · ${esc(t(`wi.state.${g.state}`))}` +
      `${r.pipe !== null ? ` · ${esc(t("wi.on_pipe"))} #${r.pipe}` : ""} <small>${esc(g.time.slice(0, 16))}</small></li>`;
  }).join("")}</ul>`;
  await hooks.redraw();
  return list;
}

async function coverage() {
  if (incidentId === null) return;
  const c = await invoke<CoverageDto>("camera_coverage", { id: incidentId, radius: 200 });
  say(`${t("wi.coverage")}：${(c.seen_share * 100).toFixed(0)}% · ${m2(c.area_m2)} · ${c.cameras.length}`);
}

/** A click on the map while picking a pipe or a point; true when used. */
export async function whatIfClick(x: number, y: number): Promise<boolean> {
  if (!mode || !hooks.view()) return false;
  const dpr = hooks.dpr();
  const m = mode;
  pick(m);
  try {
    if (m === "burst") await burstAt(x * dpr, y * dpr);
    else await seeAt(x * dpr, y * dpr);
  } catch (e) { fail(e); }
  return true;
}
