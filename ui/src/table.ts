// The attribute table (属性表): a virtualised grid over a layer's rows — only the rows on
// screen are fetched, so a million-row layer scrolls smoothly — with sort, filter, selection
// highlighted in 3D, and zoom to the selection.
import { $, esc } from "./dom";
import { invoke } from "@tauri-apps/api/core";
import { t } from "./i18n";
import type { MapHooks } from "./cases";
import type { Page, View } from "./types";


const ROW_H = 22;

let hooks: MapHooks;
let layer: string | null = null;
let title = "";
let fields: string[] = [];
let total = 0;
let sort: string | null = null;
let desc = false;
let filter = "";
const selected = new Set<number>();
let pending = 0;

export function initTable(h: MapHooks) {
  hooks = h;
  $("table-close").onclick = () => { $("table-pane").hidden = true; layer = null; };
  $("table-zoom").onclick = () => zoomToSelection().catch((e) => console.error(e));
  $("table-filter").addEventListener("input", (e) => { filter = (e.target as HTMLInputElement).value; reload(); });
  $("table-body").addEventListener("scroll", () => {
    $("table-head").scrollLeft = $("table-body").scrollLeft;
    draw();
  });
  tableTexts();
}

export function tableTexts() {
  $("table-zoom").textContent = t("table.zoom");
  $("table-close").textContent = t("close");
  ($("table-filter") as HTMLInputElement).placeholder = t("table.filter");
}

/** The features selected in the attribute table (a red line for the planning analyses). */
export function tableSelection(): { layer: string; fids: number[] } | null {
  return layer && selected.size ? { layer, fids: [...selected] } : null;
}

export async function openTable(id: string, name: string) {
  layer = id; title = name; sort = null; desc = false; filter = ""; selected.clear();
  ($("table-filter") as HTMLInputElement).value = "";
  $("table-pane").hidden = false;
  await reload();
}

async function fetch(offset: number, limit: number): Promise<Page> {
  return invoke<Page>("attribute_page", { layerId: layer, offset, limit, sort, desc, filter });
}

async function reload() {
  if (!layer) return;
  const p = await fetch(0, 1);
  fields = p.fields; total = p.total;
  $("table-title").textContent = `${title} · ${total} ${t("features")}`;
  $("table-head").innerHTML = `<span class="fid">fid</span>` + fields.map((f) =>
    `<span data-f="${esc(f)}">${esc(f)}${sort === f ? (desc ? " ▼" : " ▲") : ""}</span>`).join("");
  $("table-head").querySelectorAll("span[data-f]").forEach((s) => {
    (s as HTMLElement).onclick = () => { const f = (s as HTMLElement).dataset.f!; if (sort === f) desc = !desc; else { sort = f; desc = false; } reload(); };
  });
  ($("table-spacer") as HTMLElement).style.height = `${total * ROW_H}px`;
  $("table-body").scrollTop = 0;
  await draw();
}

/** Fetch and show the rows in view. */
export async function draw(): Promise<Page | null> {
  if (!layer) return null;
  const body = $("table-body");
  const first = Math.floor(body.scrollTop / ROW_H);
  const count = Math.ceil(body.clientHeight / ROW_H) + 2;
  const ticket = ++pending;
  const p = await fetch(first, count);
  if (ticket !== pending) return p; // a newer scroll won
  $("table-rows").innerHTML = p.rows.map(([, fid, values], i) =>
    `<div class="tr${selected.has(fid) ? " sel" : ""}" data-fid="${fid}" style="top:${(first + i) * ROW_H}px"><span class="fid">${fid}</span>` +
    values.map((v) => `<span>${esc(v === null ? "" : String(v))}</span>`).join("") + `</div>`).join("");
  $("table-rows").querySelectorAll(".tr").forEach((r) => {
    (r as HTMLElement).onclick = (e) => {
      const fid = Number((r as HTMLElement).dataset.fid);
      if (!(e as MouseEvent).ctrlKey && !(e as MouseEvent).metaKey) selected.clear();
      if (selected.has(fid)) selected.delete(fid); else selected.add(fid);
      select(false).catch((err) => console.error(err));
      draw();
    };
  });
  return p;
}

async function select(zoom: boolean): Promise<View | null> {
  const [w, h] = hooks.pixels();
  const v = await invoke<View | null>("select_features", { layerId: layer, fids: [...selected], zoom, width: w, height: h, current: hooks.view() });
  if (v) hooks.setView(v);
  await hooks.redraw();
  return v;
}

export async function zoomToSelection() {
  return select(true);
}

/** For the smoke test: open, sort, filter, select, zoom. */
export async function tableSmoke(redShare: () => number, id: string, name: string, sortField: string, find: string): Promise<Record<string, unknown>> {
  await openTable(id, name);
  const all = total;
  sort = sortField; desc = true;
  await reload();
  const top = await fetch(0, 1);
  const fi = top.fields.indexOf(sortField);
  const topValue = top.rows[0]?.[2][fi] ?? null;
  filter = find;
  await reload();
  const filtered = total;
  const hit = await fetch(0, 1);
  const before = redShare();
  selected.clear();
  if (hit.rows[0]) selected.add(hit.rows[0][1]);
  const v = await zoomToSelection();
  return { total: all, top_value: topValue, filtered, selected_fid: hit.rows[0]?.[1] ?? null, red_before: before, red_after: redShare(), zoomed: v !== null };
}
