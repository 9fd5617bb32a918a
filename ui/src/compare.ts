// Comparison views (对比分析): a swipe (卷帘) between two groups of layers — two imagery epochs,
// plan against status quo — with a vertical or horizontal divider; split screens of two or
// four panes linked to the same centre (and scale, unless a pane zooms); and a time slider over
// the layers that carry a period (数据版本), with play and export of one frame per epoch. The
// session builds one scene per side and the renderer shares the frame among them.
import { invoke } from "@tauri-apps/api/core";
import { $, esc } from "./dom";
import { currentLang, t } from "./i18n";
import { app } from "./state";
import type { EpochDto, WorkspaceDto } from "./types";
import { exportView, requestFrame } from "./view3d";

let epochs: EpochDto[] = [];
/** The time slider's steps: epochs (layers with a period) or the years of a date field. */
let steps: { label: string; show: () => Promise<void> }[] = [];
let playing: number | null = null;

type Mode = "off" | "swipe_v" | "swipe_h" | "split_2" | "split_4";

function sides(n: number): string[][] {
  return [...Array(n).keys()].map((i) => [...document.querySelectorAll<HTMLInputElement>(`#cmp-sides input[data-side="${i}"]:checked`)].map((c) => c.value));
}

function request(): object | null {
  const mode = ($("cmp-mode") as HTMLSelectElement).value as Mode;
  if (mode === "off") return null;
  if (mode.startsWith("swipe")) {
    const position = Number(($("cmp-pos") as HTMLInputElement).value) / 100;
    return { compare: { mode: "swipe", vertical: mode === "swipe_v", position }, sides: sides(2) };
  }
  const panes = mode === "split_4" ? 4 : 2;
  const zoom = [...Array(panes).keys()].map((i) => Number((document.getElementById(`cmp-zoom-${i}`) as HTMLInputElement | null)?.value ?? 1) || 1);
  return { compare: { mode: "split", panes, zoom }, sides: sides(panes) };
}

async function apply() {
  const msg = $("cmp-msg");
  try {
    await invoke("set_compare", { request: request() });
    msg.textContent = "";
    await requestFrame();
  } catch (e) {
    msg.textContent = String((e as { message?: string }).message ?? e);
  }
}

/** The side columns: one checkbox list of layers per side. */
function drawSides() {
  const ws = app.ws;
  if (!ws) return;
  const mode = ($("cmp-mode") as HTMLSelectElement).value as Mode;
  const n = mode === "split_4" ? 4 : mode === "off" ? 0 : 2;
  const layers = [...ws.imagery.map((l) => ({ id: l.id, title: l.title })), ...ws.layers.map((l) => ({ id: l.id, title: l.title }))];
  const zooms = new Map<string, string>();
  document.querySelectorAll<HTMLInputElement>("#cmp-sides input[type=number]").forEach((z) => zooms.set(z.id, z.value));
  const had = new Map<string, boolean>();
  document.querySelectorAll<HTMLInputElement>("#cmp-sides input").forEach((c) => had.set(`${c.dataset.side}:${c.value}`, c.checked));
  const names = ["A", "B", "C", "D"];
  $("cmp-sides").innerHTML = [...Array(n).keys()].map((i) => `<fieldset><legend>${t("compare.side")} ${names[i]}${mode.startsWith("split") ? ` <label>${t("compare.zoom")} <input id="cmp-zoom-${i}" type="number" min="0.1" max="10" step="0.5" value="${zooms.get(`cmp-zoom-${i}`) ?? "1"}"></label>` : ""}</legend>` +
    layers.map((l) => `<label><input type="checkbox" data-side="${i}" value="${esc(l.id)}" ${had.get(`${i}:${l.id}`) ? "checked" : ""}> ${esc(l.title)}</label>`).join("") + "</fieldset>").join("");
  $("cmp-pos-row").style.display = mode.startsWith("swipe") ? "" : "none";
  document.querySelectorAll<HTMLInputElement>("#cmp-sides input").forEach((c) => { c.onchange = apply; });
}

async function showStep(i: number) {
  const s = steps[i];
  if (!s) return;
  ($("ep-range") as HTMLInputElement).value = String(i);
  $("ep-label").textContent = s.label;
  await s.show();
  await requestFrame();
}

/** The steps of the chosen basis: the layers with a period, or a date field's years. */
async function chooseBasis() {
  const basis = ($("ep-basis") as HTMLSelectElement).value;
  await invoke("set_time_filter", { filter: null });
  if (basis === "layers") {
    steps = epochs.map((e) => ({
      label: `${e.period} · ${e.title}`,
      show: async () => {
        app.ws = await invoke<WorkspaceDto>("show_epoch", { layerId: e.layer_id });
        const { buildTree } = await import("./tree");
        buildTree();
      },
    }));
  } else if (basis) {
    const [layer, field] = basis.split("\u0001");
    const years = await invoke<string[]>("date_epochs", { layer, field });
    const title = app.ws?.layers.find((l) => l.id === layer)?.title ?? layer;
    steps = years.map((y) => ({
      label: `${title} · ${field} ≤ ${y}`,
      show: () => invoke("set_time_filter", { filter: { layer, field, until: y, cumulative: true } }),
    }));
  } else steps = [];
  const range = $("ep-range") as HTMLInputElement;
  range.max = String(Math.max(0, steps.length - 1));
  range.disabled = steps.length < 2;
  $("ep-label").textContent = "";
  await requestFrame();
}

function skeleton(box: HTMLElement) {
  box.innerHTML = `<details id="cmp"><summary>${t("compare.title")}</summary>
    <label>${t("compare.mode")} <select id="cmp-mode">
      <option value="off">${t("compare.off")}</option><option value="swipe_v">${t("compare.swipe_v")}</option><option value="swipe_h">${t("compare.swipe_h")}</option>
      <option value="split_2">${t("compare.split_2")}</option><option value="split_4">${t("compare.split_4")}</option></select></label>
    <div id="cmp-pos-row"><label>${t("compare.divider")} <input id="cmp-pos" type="range" min="0" max="100" value="50"></label></div>
    <div id="cmp-sides"></div><div id="cmp-msg" class="msg"></div>
    <div id="ep"><b>${t("compare.time")}</b> <select id="ep-basis"></select> <input id="ep-range" type="range" min="0" max="0" value="0"> <span id="ep-label" class="muted"></span>
      <div><button id="ep-play" type="button">${t("compare.play")}</button> <button id="ep-export" type="button">${t("compare.export")}</button></div></div></details>`;
  box.dataset.lang = currentLang();
  ($("cmp-mode") as HTMLSelectElement).onchange = () => { drawSides(); void apply(); };
  ($("cmp-pos") as HTMLInputElement).oninput = () => { void apply(); };
  ($("cmp-sides") as HTMLElement).addEventListener("change", (ev) => {
    if ((ev.target as HTMLElement).id.startsWith("cmp-zoom")) void apply();
  });
  ($("ep-range") as HTMLInputElement).oninput = (ev) => { void showStep(Number((ev.target as HTMLInputElement).value)); };
  ($("ep-basis") as HTMLSelectElement).onchange = () => { void chooseBasis(); };
  ($("ep-play") as HTMLButtonElement).onclick = () => {
    if (playing !== null) { clearInterval(playing); playing = null; ($("ep-play") as HTMLButtonElement).textContent = t("compare.play"); return; }
    ($("ep-play") as HTMLButtonElement).textContent = t("compare.stop");
    let i = Number(($("ep-range") as HTMLInputElement).value);
    playing = window.setInterval(() => { i = (i + 1) % Math.max(1, steps.length); void showStep(i); }, 1500);
  };
  ($("ep-export") as HTMLButtonElement).onclick = async () => {
    const saved: string[] = [];
    for (let i = 0; i < steps.length; i++) {
      await showStep(i);
      const p = await exportView(steps[i].label);
      if (p) saved.push(p);
    }
    $("cmp-msg").textContent = `${t("compare.exported")} ${saved.length}: ${saved.join(", ")}`;
  };
}

/** The comparison section: made once, its layer lists and epochs kept up to date. */
export async function buildCompare() {
  const box = document.getElementById("compare-box");
  if (!box) return;
  if (!app.ws) { box.innerHTML = ""; delete box.dataset.lang; return; }
  if (!document.getElementById("cmp") || box.dataset.lang !== currentLang()) skeleton(box);
  drawSides();
  try { epochs = await invoke<EpochDto[]>("epochs"); } catch { epochs = []; }
  // The bases: layers with a period (when two or more), and every date field.
  const sel = $("ep-basis") as HTMLSelectElement;
  const was = sel.value;
  const options = [`<option value="">—</option>`];
  if (epochs.length >= 2) options.push(`<option value="layers">${t("compare.by_layers")}</option>`);
  for (const l of app.ws.layers) for (const f of l.date_fields) options.push(`<option value="${esc(`${l.id}\u0001${f}`)}">${esc(l.title)} · ${esc(f)}</option>`);
  sel.innerHTML = options.join("");
  if ([...sel.options].some((o) => o.value === was)) sel.value = was;
  $("ep").style.display = options.length > 1 ? "" : "none";
}
