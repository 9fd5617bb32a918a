// The emergency command panel (应急指挥): live feeds with their health, events → incidents,
// incidents placed on the map, impact rings and the nearest resources by road (drawn in the
// 3D view), the action log, and drill mode on a copy of the workspace.
import { $, esc, errorText } from "./dom";
import { invoke } from "@tauri-apps/api/core";
import { t } from "./i18n";
import type { MapHooks } from "./cases";
import type { FeedDto, Incident, IncidentDetailDto, LogEntry } from "./types";
import { bindReplay, logLine, runScenario, setOnLogged, showStep, whatIfFor, whatIfTexts } from "./whatif";


const KINDS = ["fire", "hazardous_chemical_leak", "gas_leak", "building_collapse", "flood", "earthquake"];

let hooks: MapHooks;
let feeds: FeedDto[] = [];
let incidents: Incident[] = [];
let selected: IncidentDetailDto | null = null;
let placing = false;

function say(msg: string, error = false) {
  const s = $("cmd-msg");
  s.textContent = msg;
  s.className = error ? "error" : "";
}

export function initCommand(h: MapHooks) {
  hooks = h;
  $("feeds-refresh").onclick = () => pollFeeds().catch((e) => say(errorText(e), true));
  $("drill-btn").onclick = () => startDrill().catch((e) => say(errorText(e), true));
  $("tool-incident").onclick = () => { placing = !placing; $("tool-incident").classList.toggle("on", placing); say(placing ? t("cmd.hint_place") : ""); };
  for (const b of Array.from(document.querySelectorAll("#tabs button"))) {
    (b as HTMLElement).onclick = () => showTab((b as HTMLElement).dataset.tab!);
  }
  setOnLogged(refreshLog);
  commandTexts();
  // Feeds are polled while the app runs.
  setInterval(() => { if (!$("command-pane").hidden) pollFeeds().catch(() => {}); }, 30000);
}

export function showTab(tab: string) {
  $("cases-pane").hidden = tab !== "cases";
  $("command-pane").hidden = tab !== "command";
  for (const b of Array.from(document.querySelectorAll("#tabs button"))) b.classList.toggle("on", (b as HTMLElement).dataset.tab === tab);
  if (tab === "command" && !feeds.length) pollFeeds().then(refreshIncidents).catch((e) => say(errorText(e), true));
}

export function commandTexts() {
  $("tab-cases").textContent = t("cases.title");
  $("tab-command").textContent = t("cmd.title");
  $("feeds-refresh").textContent = t("cmd.refresh");
  $("drill-btn").textContent = t("cmd.drill");
  $("drill-banner").textContent = t("cmd.drill_banner");
  $("tool-incident").textContent = t("cmd.place");
  const sel = $("inc-type") as HTMLSelectElement;
  const v = sel.value;
  sel.innerHTML = KINDS.map((k) => `<option value="${k}">${esc(t(`kind.${k}`))}</option>`).join("");
  if (v) sel.value = v;
  renderFeeds();
  renderIncidents();
  if (selected) renderDetail(selected);
  whatIfTexts();
}

export async function pollFeeds() {
  feeds = await invoke<FeedDto[]>("feeds_poll");
  renderFeeds();
  return feeds;
}

/** live, failed (the last poll failed, not yet stale) or stale. */
const state = (f: FeedDto) => (f.error && f.health === "live" ? "failed" : f.health);

/** A CAP alert's standing: rules it breaks and its signature, as badges with the detail on hover. */
function checks(e: FeedDto["events"][number]): string {
  let s = "";
  if (e.valid === false) {
    s += ` <span class="badge bad" title="${esc(e.violations.join("\n"))}">${esc(t("cap.invalid"))} (${e.violations.length})</span>`;
  }
  if (e.signature && e.signature !== "unsigned") {
    const cls = e.signature === "valid" ? "good" : e.signature === "invalid" ? "bad" : "";
    s += ` <span class="badge ${cls}" data-signature="${esc(e.signature)}" title="${esc(e.signature_detail ?? "")}">${esc(t(`cap.signature_${e.signature}`))}</span>`;
  }
  return s;
}

function renderFeeds() {
  $("feed-list").innerHTML = feeds.map((f) =>
    `<li><span class="health h-${state(f)}">${esc(t(`health.${state(f)}`))}</span> <b>${esc(f.name)}</b>` +
    `<small> ${esc(f.last_ok ? f.last_ok.slice(11, 19) : "—")}</small>${f.error ? `<div class="error">${esc(f.error)}</div>` : ""}` +
    `<ul>${f.events.map((e) => `<li>${esc(e.severity ?? "")} ${esc(e.title)}${checks(e)} <button type="button" data-feed="${f.index}" data-event="${esc(e.id)}">${esc(t("cmd.open_incident"))}</button></li>`).join("")}</ul></li>`).join("");
  $("feed-list").querySelectorAll("button[data-event]").forEach((b) => {
    const el = b as HTMLElement;
    el.onclick = () => fromEvent(Number(el.dataset.feed), el.dataset.event!).catch((e) => say(errorText(e), true));
  });
}

export async function fromEvent(feed: number, eventId: string): Promise<Incident> {
  const inc = await invoke<Incident>("incident_from_event", { feed, eventId });
  await refreshIncidents();
  await selectIncident(inc.id);
  return inc;
}

export async function refreshIncidents() {
  incidents = await invoke<Incident[]>("incidents_list");
  renderIncidents();
  return incidents;
}

function renderIncidents() {
  $("incident-list").innerHTML = incidents.map((i) =>
    `<li data-id="${i.id}" class="${selected?.incident.id === i.id ? "sel" : ""}"><span class="no">${esc(i.incident_no)}</span> ` +
    `<span class="st">${esc(t(`istatus.${i.status}`))}</span> ${esc(t(`kind.${i.kind}`))} · ${esc(i.title)}</li>`).join("");
  $("incident-list").querySelectorAll("li").forEach((li) => {
    (li as HTMLElement).onclick = () => selectIncident(Number((li as HTMLElement).dataset.id)).catch((e) => say(errorText(e), true));
  });
}

export async function selectIncident(id: number): Promise<IncidentDetailDto> {
  const [w, h] = hooks.pixels();
  const d = await invoke<IncidentDetailDto>("incident_select", { id, width: w, height: h, current: hooks.view() });
  selected = d;
  if (d.view) hooks.setView(d.view);
  renderIncidents();
  renderDetail(d);
  await hooks.redraw();
  return d;
}

function renderDetail(d: IncidentDetailDto) {
  const rings = d.rings.map((r) => `<tr><td>≤ ${r.radius_m.toFixed(0)} m</td><td>${r.buildings}</td><td>${Math.round(r.population)}</td>` +
    `<td>${r.facilities.slice(0, 3).map((f) => esc(`${t(`fac.${f.class}`)} ${f.name ?? f.kind} ${f.distance_m.toFixed(0)} m`)).join("<br>")}</td></tr>`).join("");
  const res = d.resources.map((r) => `<tr><td>${esc(t(`res.${r.type}`))}</td><td>${esc(r.name ?? "#" + r.fid)}</td><td>${((r.travel_s ?? 0) / 60).toFixed(1)} min</td><td>${((r.route_m ?? 0) / 1000).toFixed(2)} km</td></tr>`).join("");
  const next = ["active", "contained", "closed"].filter((s) => s !== d.incident.status)
    .map((s) => `<button type="button" data-istatus="${s}">→ ${esc(t(`istatus.${s}`))}</button>`).join("");
  $("incident-detail").innerHTML =
    `<h4>${esc(d.incident.incident_no)} ${esc(t(`kind.${d.incident.kind}`))} <span class="st">${esc(t(`istatus.${d.incident.status}`))}</span></h4>` +
    `<p>${esc(d.incident.title)}</p>` +
    `<table><tr><th>${esc(t("cmd.ring"))}</th><th>${esc(t("cmd.buildings"))}</th><th>${esc(t("cmd.population"))}</th><th>${esc(t("cmd.facilities"))}</th></tr>${rings}</table>` +
    `<table><tr><th colspan="4">${esc(t("cmd.nearest"))}（${d.route_ms.toFixed(0)} ms）</th></tr>${res}</table>` +
    (d.unreachable.length
      ? `<p class="error">${esc(t("cmd.unreachable"))}：${d.unreachable.map((r) => esc(`${t(`res.${r.type}`)} ${r.name ?? "#" + r.fid}`)).join("、")}</p>`
      : "") +
    `<div class="next">${next}</div>` +
    `<div class="note"><input id="rings-text" value="${d.incident.rings_m.join(",")}"><button id="rings-btn" type="button">${esc(t("cmd.set_rings"))}</button></div>` +
    `<div class="note"><input id="action-text" placeholder="${esc(t("cmd.action"))}"><button id="action-btn" type="button">${esc(t("cmd.log"))}</button></div>` +
    `<ul class="notes">${d.log.map((l) => `<li>${esc(l.at.slice(11, 19))} <b>${esc(l.actor)}</b> ${l.action === "scenario" ? logLine(l) : `${esc(l.action)} ${esc(l.detail ?? "")}`}</li>`).join("")}</ul>`;
  bindReplay($("incident-detail"), d.incident.id);
  whatIfFor(d.incident.id);
  $("incident-detail").querySelectorAll("button[data-istatus]").forEach((b) => {
    (b as HTMLElement).onclick = () => invoke("incident_status", { id: d.incident.id, status: (b as HTMLElement).dataset.istatus })
      .then(() => refreshIncidents()).then(() => selectIncident(d.incident.id)).catch((e) => say(errorText(e), true));
  });
  $("rings-btn").onclick = () => {
    const rings = ($("rings-text") as HTMLInputElement).value.split(/[,，\s]+/).filter((x) => x).map(Number);
    invoke("incident_rings", { id: d.incident.id, rings }).then(() => selectIncident(d.incident.id)).catch((e) => say(errorText(e), true));
  };
  $("action-btn").onclick = () => logAction(d.incident.id, ($("action-text") as HTMLInputElement).value).catch((e) => say(errorText(e), true));
}

/** Re-read an incident's detail (its log) without moving the view. */
async function refreshLog(id: number) {
  const [w, h] = hooks.pixels();
  const d = await invoke<IncidentDetailDto>("incident_select", { id, width: w, height: h, current: hooks.view() });
  selected = d;
  renderDetail(d);
  await hooks.redraw();
}

export async function logAction(id: number, text: string) {
  const log = await invoke<LogEntry[]>("incident_action", { id, text });
  if (selected && selected.incident.id === id) { selected.log = log; renderDetail(selected); }
  return log;
}

export async function startDrill() {
  const d = await invoke<{ drill: boolean; store: string }>("drill_start");
  $("drill-banner").hidden = !d.drill;
  document.body.classList.toggle("drill", d.drill);
  say(`${t("cmd.drill_on")} ${d.store}`);
  await refreshIncidents();
  return d;
}

/** A click on the map while placing an incident; true when used. */
export async function commandClick(x: number, y: number): Promise<boolean> {
  const v = hooks.view();
  if (!placing || !v) return false;
  const dpr = hooks.dpr();
  const [w, h] = hooks.pixels();
  const kind = ($("inc-type") as HTMLSelectElement).value;
  try {
    const inc = await invoke<Incident>("incident_place", { kind, x: x * dpr, y: y * dpr, width: w, height: h, view: v });
    placing = false;
    $("tool-incident").classList.remove("on");
    await refreshIncidents();
    await selectIncident(inc.id);
  } catch (e) { say(errorText(e), true); }
  return true;
}

/** For the smoke test: a commander's first minutes. */
export async function commandSmoke(redShare: () => number): Promise<Record<string, unknown>> {
  showTab("command");
  const f = await pollFeeds();
  const cap = f.find((x) => x.url.includes("cap/"))!;
  const gauge = f.find((x) => x.url.includes("gauge"))!;
  const before = redShare();
  const inc = await fromEvent(cap.index, cap.events[0].id);
  const d = selected!;
  await logAction(inc.id, "调派东昌消防救援站抽排队");
  await invoke("incident_rings", { id: inc.id, rings: [250, 750] });
  const resized = await selectIncident(inc.id);
  const drill = await startDrill();
  const inDrill = await fromEvent(gauge.index, gauge.events[gauge.events.length - 1].id);
  const drillResources = selected!.resources.length;
  // 模拟推演 on the drill's gauge incident: the Huangpu rising through the weak wall.
  const flood = await runScenario({ model: { model: "flood", level_m: 5.6, from_m: 4.6, steps: 3, passable_m: 0.3 }, incident: String(inDrill.id), at: null, evacuate_min: 30 });
  await showStep(0);
  // Off the map again, the view back on the incident (the rest of the smoke run expects it).
  await invoke("scenario_clear");
  await selectIncident(inDrill.id);
  const drillIncidents = await refreshIncidents();
  return {
    feeds: f.map((x) => ({ health: x.health, events: x.events.length })), incident: inc.incident_no, kind: inc.kind,
    rings: d.rings.map((r) => r.buildings), rings_after: resized.rings.map((r) => r.radius_m), resources: d.resources.length, routed: d.resources.every((r) => (r.travel_s ?? 0) > 0),
    route_ms: d.route_ms, red_before: before, drill: drill.drill, drill_store: drill.store, drill_incident: inDrill.incident_no, drill_resources: drillResources,
    drill_incidents: drillIncidents.length,
    scenario: { steps: flood.steps.length, buildings: flood.buildings, people: flood.people, log_id: flood.log_id, drill: flood.drill, evacuated: flood.evacuation?.placed ?? 0 },
  };
}
