// The layer tree: the 一张图 groups, each layer with its visibility, swatch, count, table,
// opacity, zoom, order, removal and the legend of its classes.
import { invoke } from "@tauri-apps/api/core";
import { $, esc } from "./dom";
import { ensureData, render2d } from "./fallback2d";
import { t } from "./i18n";
import { buildImagery } from "./imagery";
import { buildPlanning } from "./planning";
import { app, showError } from "./state";
import { openTable } from "./table";
import type { ClipRequest, CursorDto, View, WorkspaceDto } from "./types";
import { canvasPixels, requestFrame } from "./view3d";

const GROUPS = ["status_quo", "plan", "control", "thematic", "emergency"];

export function buildTree() {
  const tree = $("tree");
  tree.innerHTML = `<strong>${t("layers")}</strong>`;
  buildImagery().catch(showError);
  buildPlanning();
  if (!app.ws) return;
  buildTilesets(tree);
  buildClip(tree);
  for (const g of GROUPS) {
    const layers = app.ws.layers.filter((l) => l.group === g);
    if (!layers.length) continue;
    const h = document.createElement("h3");
    h.textContent = t(`group.${g}`);
    tree.appendChild(h);
    // A model's layers (an IFC file's storeys: "model › storey") under the model's name, each
    // row named by the rest of its path.
    let model = "";
    for (const l of layers.slice().reverse()) {
      const path = l.title.split(" › ");
      if (path.length > 1 && path[0] !== model) {
        const m = document.createElement("div"); m.className = "model"; m.textContent = path[0];
        tree.appendChild(m);
      }
      model = path.length > 1 ? path[0] : "";
      const row = document.createElement("label");
      if (path.length > 1) row.className = "in-model";
      const cb = document.createElement("input");
      cb.type = "checkbox"; cb.checked = l.visible; cb.dataset.layer = l.id;
      cb.onchange = async () => {
        l.visible = cb.checked;
        if (app.mode === "3d") { await invoke("set_layer_visible", { id: l.id, visible: l.visible }); requestFrame(); }
        else { await ensureData(l); render2d(); }
      };
      row.appendChild(cb);
      row.appendChild(document.createTextNode(path.length > 1 ? path.slice(1).join(" › ") : l.title));
      if (l.synthetic) { const tag = document.createElement("span"); tag.className = "tag"; tag.textContent = t("synthetic"); row.appendChild(tag); }
      // Provenance: the level (and version) as a tag, the whole line as the row's tooltip.
      const prov = [l.provenance.source, l.provenance.version, l.provenance.level].filter((v) => v).join(" · ");
      if (prov) {
        row.title = `${t("provenance")}: ${prov}`;
        const short = [l.provenance.version, l.provenance.level].filter((v) => v).join(" ");
        if (short) { const tag = document.createElement("span"); tag.className = "tag prov"; tag.textContent = short; row.appendChild(tag); }
      }
      const c = document.createElement("span"); c.className = "count"; c.textContent = `${l.features}`;
      const tb = document.createElement("button"); tb.type = "button"; tb.className = "tbl"; tb.textContent = t("table.open"); tb.title = t("table.open");
      tb.onclick = (e) => { e.preventDefault(); openTable(l.id, l.title); };
      const sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = l.fill; sw.style.borderColor = l.stroke;
      row.insertBefore(sw, row.firstChild?.nextSibling ?? null);
      c.title = `${l.features} ${t("features")}${l.invalid ? `, ${l.invalid} ${t("invalid")}` : ""}`;
      row.appendChild(c);
      row.appendChild(tb);
      tree.appendChild(row);
      // Second line: opacity, zoom, order, remove.
      const r2 = document.createElement("div"); r2.className = "row2";
      const op = document.createElement("input"); op.type = "range"; op.min = "0"; op.max = "100"; op.value = String(Math.round(l.opacity * 100)); op.title = t("opacity");
      op.oninput = () => { invoke("set_layer_opacity", { id: l.id, opacity: Number(op.value) / 100 }).then(() => requestFrame()); };
      const btn = (label: string, title: string, f: () => Promise<unknown>) => {
        const b = document.createElement("button"); b.type = "button"; b.textContent = label; b.title = title;
        b.onclick = () => f().catch(showError); r2.appendChild(b);
      };
      r2.appendChild(op);
      btn("⊕", t("zoom_layer"), async () => { const [w, h] = canvasPixels(); app.view = await invoke<View>("zoom_to_layer", { id: l.id, width: w, height: h, current: app.view }); await requestFrame(); });
      btn("↑", t("move_up"), async () => { app.ws = await invoke<WorkspaceDto>("move_layer", { id: l.id, delta: 1 }); buildTree(); await requestFrame(); });
      btn("↓", t("move_down"), async () => { app.ws = await invoke<WorkspaceDto>("move_layer", { id: l.id, delta: -1 }); buildTree(); await requestFrame(); });
      btn("✕", t("remove"), async () => { app.ws = await invoke<WorkspaceDto>("remove_layer", { id: l.id }); buildTree(); await requestFrame(); });
      tree.appendChild(r2);
      // The layer's classes (land-use classes, categories) as a legend under it.
      if (l.legend.length) {
        const lg = document.createElement("ul"); lg.className = "legend";
        for (const [label, fill] of l.legend.slice(0, 40)) {
          const li = document.createElement("li");
          const s = document.createElement("span"); s.className = "swatch"; s.style.background = fill;
          li.appendChild(s); li.appendChild(document.createTextNode(label)); lg.appendChild(li);
        }
        tree.appendChild(lg);
      }
    }
  }
}


/** The clip the 3D view is cut by (kept across rebuilds of the tree). */
let clip: ClipRequest = { top_m: null, section: null, area_layer: null, keep_inside: false };

/** Take the clip a workspace was saved with (when it is opened). */
export function adoptClip(c: ClipRequest) { clip = c; }

/** A section line being drawn: the ground points clicked so far (workspace metres); null when
 * not drawing. */
let sectionPts: [number, number][] | null = null;
/** What the clip box shows of the section and the drawing (set while the box exists). */
let sectionStatus: (() => void) | null = null;
/** Send a clip to the session and draw (set while the box exists). */
let sendClip: ((next: ClipRequest) => Promise<void>) | null = null;

/** A click on the map while a section line is drawn; true when used. The first click is one
 * end, the second the other: what lies to the right of the line, looking from the first point
 * to the second, is cut away. */
export async function clipClick(x: number, y: number): Promise<boolean> {
  if (!sectionPts || !app.view) return false;
  const dpr = window.devicePixelRatio || 1;
  const [w, h] = canvasPixels();
  const c = await invoke<CursorDto | null>("cursor_position", { x: x * dpr, y: y * dpr, width: w, height: h, view: app.view });
  if (!c) return true;
  sectionPts.push([c.x, c.y]);
  if (sectionPts.length < 2) { sectionStatus?.(); return true; }
  const [a, b] = sectionPts;
  sectionPts = null;
  if (Math.hypot(b[0] - a[0], b[1] - a[1]) < 0.01) { sectionStatus?.(); return true; }
  await sendClip?.({ ...clip, section: [a, b] });
  return true;
}

window.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && sectionPts) { sectionPts = null; sectionStatus?.(); }
});

/** 剖切: cut the 3D view above a height, by a vertical section drawn on the map (two clicks;
 * the side to the right of the line goes, flipped with a button) and inside (or outside) a
 * polygon layer's areas — into a building's storeys, through a block, through the ground to
 * pipes and tunnels. What is cut open of a building is closed by a cap (the scene's). */
function buildClip(tree: HTMLElement) {
  if (!app.ws || app.mode !== "3d") return;
  const polys = app.ws.layers.filter((l) => l.polygonal);
  const box = document.createElement("details"); box.className = "clip";
  box.open = clip.top_m !== null || clip.area_layer !== null || clip.section !== null || sectionPts !== null;
  box.innerHTML = `<summary>${t("clip.title")}</summary>
    <div class="row2"><span>${t("clip.top")}</span><input id="clip-top" type="number" step="0.5" value="${clip.top_m ?? ""}"></div>
    <div class="row2"><span>${t("clip.area")}</span><select id="clip-area"><option value="">${t("clip.area_none")}</option>${polys.map((l) => `<option value="${esc(l.id)}"${l.id === clip.area_layer ? " selected" : ""}>${esc(l.title)}</option>`).join("")}</select>
    <select id="clip-mode"><option value="cut"${clip.keep_inside ? "" : " selected"}>${t("clip.cut_inside")}</option><option value="keep"${clip.keep_inside ? " selected" : ""}>${t("clip.keep_inside")}</option></select></div>
    <div class="row2"><button type="button" id="clip-section">${t("clip.section")}</button><button type="button" id="clip-flip">${t("clip.flip")}</button></div>
    <div class="hint" id="clip-section-state"></div>
    <button type="button" id="clip-clear">${t("clip.clear")}</button>`;
  const q = <T extends HTMLElement>(sel: string) => box.querySelector(sel) as T;
  const status = () => {
    const s = q<HTMLElement>("#clip-section-state");
    if (!s.isConnected) return;
    s.textContent = sectionPts
      ? t(sectionPts.length ? "clip.section_second" : "clip.section_first")
      : clip.section ? `${t("clip.section_set")} ${Math.hypot(clip.section[1][0] - clip.section[0][0], clip.section[1][1] - clip.section[0][1]).toFixed(1)} m` : "";
    q<HTMLButtonElement>("#clip-section").classList.toggle("on", sectionPts !== null);
    q<HTMLButtonElement>("#clip-flip").disabled = clip.section === null;
  };
  const send = async (next: ClipRequest) => {
    try { clip = await invoke<ClipRequest>("set_clip", { req: next }); status(); await requestFrame(); } catch (err) { showError(err); }
  };
  sectionStatus = status; sendClip = send;
  const apply = async () => {
    const top = q<HTMLInputElement>("#clip-top").value.trim();
    const area = q<HTMLSelectElement>("#clip-area").value;
    await send({
      top_m: top === "" || !Number.isFinite(Number(top)) ? null : Number(top),
      section: clip.section,
      area_layer: area || null,
      keep_inside: q<HTMLSelectElement>("#clip-mode").value === "keep",
    });
  };
  q<HTMLButtonElement>("#clip-section").onclick = () => { sectionPts = sectionPts ? null : []; status(); };
  q<HTMLButtonElement>("#clip-flip").onclick = async () => {
    if (clip.section) await send({ ...clip, section: [clip.section[1], clip.section[0]] });
  };
  q<HTMLInputElement>("#clip-top").onchange = apply;
  q<HTMLSelectElement>("#clip-area").onchange = apply;
  q<HTMLSelectElement>("#clip-mode").onchange = apply;
  q<HTMLButtonElement>("#clip-clear").onclick = async () => {
    q<HTMLInputElement>("#clip-top").value = ""; q<HTMLSelectElement>("#clip-area").value = "";
    clip = { ...clip, section: null }; sectionPts = null;
    await apply();
  };
  tree.appendChild(box);
  status();
}

/** The city twin's tilesets: shown or hidden, what is resident against the budget, what could
 * not be read; removed. */
function buildTilesets(tree: HTMLElement) {
  const sets = app.ws?.tilesets ?? [];
  if (!sets.length) return;
  const h = document.createElement("h3");
  h.textContent = t("twin.title");
  tree.appendChild(h);
  for (const s of sets) {
    const row = document.createElement("label");
    row.className = "tileset";
    const cb = document.createElement("input");
    cb.type = "checkbox"; cb.checked = s.visible; cb.dataset.tileset = s.id;
    cb.onchange = async () => {
      s.visible = cb.checked;
      await invoke("set_layer_visible", { id: s.id, visible: s.visible }).catch(showError);
      requestFrame();
    };
    row.appendChild(cb);
    row.appendChild(document.createTextNode(s.title));
    const mb = (b: number) => (b / 1048576).toFixed(0);
    row.title = `${s.path}\n${t("twin.tiles")} ${s.tiles} · ${t("twin.resident")} ${s.resident} (${mb(s.resident_bytes)} MiB) · ${t("twin.budget")} ${mb(s.budget_bytes)} MiB`
      + (s.broken.length ? `\n${t("twin.broken")}: ${s.broken.join("\n")}` : "");
    if (s.broken.length) { const tag = document.createElement("span"); tag.className = "tag warn"; tag.textContent = `${t("twin.broken")} ${s.broken.length}`; row.appendChild(tag); }
    const zoom = document.createElement("button"); zoom.type = "button"; zoom.textContent = "⊕"; zoom.title = t("zoom_layer");
    zoom.onclick = async (e) => {
      e.preventDefault();
      try { const [w, h] = canvasPixels(); app.view = await invoke<View>("zoom_to_layer", { id: s.id, width: w, height: h, current: app.view }); await requestFrame(); } catch (err) { showError(err); }
    };
    row.appendChild(zoom);
    const rm = document.createElement("button"); rm.type = "button"; rm.textContent = "✕"; rm.title = t("remove");
    rm.onclick = async (e) => {
      e.preventDefault();
      try { app.ws = await invoke<WorkspaceDto>("remove_layer", { id: s.id }); buildTree(); await requestFrame(); } catch (err) { showError(err); }
    };
    row.appendChild(rm);
    tree.appendChild(row);
  }
  // 压平: the tilesets pressed down to a height inside a polygon layer's shapes.
  const polys = (app.ws?.layers ?? []).filter((l) => l.polygonal);
  if (!polys.length) return;
  const fl = document.createElement("div"); fl.className = "row2 flatten";
  fl.innerHTML = `<span>${t("twin.flatten")}</span>
    <select id="flatten-layer"><option value="">${t("twin.flatten_none")}</option>${polys.map((l) => `<option value="${esc(l.id)}">${esc(l.title)}</option>`).join("")}</select>
    <input id="flatten-height" type="number" step="0.5" value="0" title="${t("twin.flatten_height")}"> m`;
  const apply = async () => {
    const id = (fl.querySelector("#flatten-layer") as HTMLSelectElement).value;
    const hm = Number((fl.querySelector("#flatten-height") as HTMLInputElement).value);
    try { await invoke<number>("set_flatten", { layerId: id || null, heightM: Number.isFinite(hm) ? hm : 0 }); await requestFrame(); } catch (err) { showError(err); }
  };
  (fl.querySelector("#flatten-layer") as HTMLSelectElement).onchange = apply;
  (fl.querySelector("#flatten-height") as HTMLInputElement).onchange = apply;
  tree.appendChild(fl);
}
