// Noto Sans SC (SIL OFL 1.1, ui/NotoSansSC-OFL.txt), bundled: Chinese text never depends on the
// fonts a workstation happens to have. The browser loads only the unicode ranges a page uses.
import "@fontsource/noto-sans-sc/400.css";
import { invoke } from "@tauri-apps/api/core";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { t, toggleLang } from "./i18n";
import { casesTexts, finishPolygon, initCases, mapClick, smokeFlow, tool, viewMoved } from "./cases";
import { commandClick, commandSmoke, commandTexts, initCommand } from "./command";
import { initTable, openTable, tableSmoke, tableTexts } from "./table";
import { exportMap } from "./export";
import { errorText, initJob, jobTexts, runJob } from "./job";
import { area as polyArea, initMeasure, length as polyLength, measureClick, measureTexts, measureViewMoved, updateScale } from "./measure";

interface LayerDto {
  id: string; title: string; group: string; features: number; geometry_type: string;
  visible: boolean; synthetic: boolean; invalid: number; fill: string; stroke: string; opacity: number;
  legend: [string, string][];
}
interface WorkspaceDto { crs: string; crs_name: string; origin_xy: [number, number]; layers: LayerDto[]; attribution: string[] }
interface View { target: [number, number, number]; distance_m: number; pitch_deg: number; yaw_deg: number; fov_deg: number }
interface Identified { layer: string; fid: number; attributes: Record<string, unknown> }
type Ring = [number, number][];
interface Geom { type: string; coordinates: any }
interface Feature { geometry: Geom | null; properties: Record<string, unknown> }

const GROUPS = ["status_quo", "plan", "control", "thematic", "emergency"];
const BACKGROUND = [238, 241, 244];
const $ = (id: string) => document.getElementById(id)!;

let ws: WorkspaceDto | null = null;
let mode: "3d" | "2d" = "3d";
// The top-down 2D mode of the 3D view (see setTopDown), and the angles it was entered from.
let topDown = false;
let obliqueAngles: [number, number] = [45, 20];
let view: View | null = null;
const canvas = $("map") as HTMLCanvasElement;
const ctx = canvas.getContext("2d")!;
let lastFrame = "";

// ---------- 3D: frames rendered by Bevy in the Rust process, sent as raw RGBA ----------

function canvasPixels(): [number, number] {
  const dpr = window.devicePixelRatio || 1;
  return [Math.max(1, Math.round(canvas.clientWidth * dpr)), Math.max(1, Math.round(canvas.clientHeight * dpr))];
}

interface FrameTiming { total: number; render: number; readback: number; transfer: number; draw: number; width: number; height: number }
let lastTiming: FrameTiming | null = null;
let lastPixels: Uint8ClampedArray | null = null;
let lastSize: [number, number] = [0, 0];

/** Save the current view as a PNG map (title, legend, scale bar, north arrow). */
async function exportView(): Promise<string | null> {
  if (!lastPixels || !view || !ws) return null;
  const [w, h] = lastSize;
  const dpr = window.devicePixelRatio || 1;
  const mpp = (2 * view.distance_m * Math.tan((view.fov_deg * Math.PI) / 360)) / h;
  const path = await exportMap({
    frame: new ImageData(new Uint8ClampedArray(lastPixels), w, h),
    title: t("title"),
    subtitle: `${ws.crs} · ${new Date().toISOString().slice(0, 10)} · ${ws.attribution[0] ?? ""}`,
    legend: ws.layers.filter((l) => l.visible).flatMap((l) => l.legend.length
      ? l.legend.map(([label, fill]) => ({ title: `${l.title} · ${label}`, fill, stroke: fill }))
      : [{ title: l.title, fill: l.fill, stroke: l.stroke }]),
    metresPerPixel: mpp,
    yawDeg: view.yaw_deg,
  });
  $("status").textContent = `${t("exported")} ${path}`;
  void dpr;
  return path;
}

/** Share of the last frame in the highlight red (220, 38, 38 shaded). */
function redShare(): number {
  const p = lastPixels;
  if (!p) return 0;
  let n = 0;
  for (let i = 0; i < p.length; i += 4) if (p[i] > 150 && p[i + 1] < 80 && p[i + 2] < 80) n++;
  return n / (p.length / 4);
}

async function draw3d(): Promise<number> {
  const [w, h] = canvasPixels();
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const t0 = performance.now();
  const buf = await invoke<ArrayBuffer>("render_view", { width: w, height: h, view });
  const t1 = performance.now();
  const head = new DataView(buf, 0, 16);
  const fw = head.getUint32(0, true), fh = head.getUint32(4, true), renderMs = head.getFloat32(8, true), readbackMs = head.getFloat32(12, true);
  const pixels = new Uint8ClampedArray(buf, 16, fw * fh * 4);
  ctx.putImageData(new ImageData(pixels, fw, fh), 0, 0);
  const t2 = performance.now();
  lastTiming = { total: t2 - t0, render: renderMs - readbackMs, readback: readbackMs, transfer: t1 - t0 - renderMs, draw: t2 - t1, width: fw, height: fh };
  lastFrame = `${t("frame")} ${(t2 - t0).toFixed(0)} ms（${t("render_ms")} ${renderMs.toFixed(0)} · ${t("transfer_ms")} ${(t1 - t0 - renderMs).toFixed(0)} · ${fw}×${fh}）`;
  status();
  lastPixels = pixels;
  lastSize = [fw, fh];
  updateScale(view, canvas.clientHeight);
  let drawn = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (Math.abs(pixels[i] - BACKGROUND[0]) + Math.abs(pixels[i + 1] - BACKGROUND[1]) + Math.abs(pixels[i + 2] - BACKGROUND[2]) > 9) drawn++;
  }
  return drawn / (fw * fh);
}

let frameLoop: Promise<void> | null = null, dirty = false;
/** Draw a new frame; resolves once a frame that shows the latest change is on the canvas
 * (a request during a frame in flight is folded into one more frame after it). */
function requestFrame(): Promise<void> {
  if (mode !== "3d" || !view) return Promise.resolve();
  dirty = true;
  if (frameLoop) return frameLoop;
  frameLoop = (async () => {
    try {
      while (dirty) { dirty = false; await draw3d(); }
    } finally { frameLoop = null; }
  })();
  return frameLoop;
}

// ---------- 2D preview: the fallback when no 3D renderer is available ----------

const data = new Map<string, Feature[]>();
let view2d = { cx: 121.5, cy: 31.238, scale: 30000 };
const STYLE: Record<string, { fill?: string; stroke: string; width: number }> = {
  landuse: { fill: "#cfe8c4", stroke: "#9bc48a", width: 0.5 }, water: { fill: "#a9cfee", stroke: "#7fb2dd", width: 0.5 },
  rivers: { fill: "#a9cfee", stroke: "#7fb2dd", width: 0.5 }, roads: { stroke: "#8a94a3", width: 1 },
  buildings: { fill: "#c9b8a6", stroke: "#8f7b67", width: 0.5 }, pois: { stroke: "#6b46c1", width: 3 },
  permits: { stroke: "#2563eb", width: 1 }, control_zones: { fill: "rgba(220,38,38,0.10)", stroke: "#dc2626", width: 2 },
  river_protection: { fill: "rgba(37,99,235,0.12)", stroke: "#1d4ed8", width: 1.5 }, emergency_resources: { stroke: "#ea580c", width: 6 },
};

async function ensureData(l: LayerDto) {
  if (!l.visible || data.has(l.id)) return;
  const fc = JSON.parse(await invoke<string>("layer_geojson", { id: l.id }));
  data.set(l.id, fc.features);
}

function render2d() {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!ws) return;
  const k = Math.cos((view2d.cy * Math.PI) / 180);
  const px = (lon: number, lat: number): [number, number] => [w / 2 + (lon - view2d.cx) * view2d.scale * k, h / 2 - (lat - view2d.cy) * view2d.scale];
  const path = (ring: Ring) => ring.forEach(([x, y], i) => { const [a, b] = px(x, y); i ? ctx.lineTo(a, b) : ctx.moveTo(a, b); });
  for (const layer of ws.layers) {
    if (!layer.visible) continue;
    const s = STYLE[layer.id] ?? { stroke: "#334155", width: 1 };
    ctx.strokeStyle = s.stroke; ctx.lineWidth = s.width; ctx.fillStyle = s.fill ?? s.stroke;
    for (const f of data.get(layer.id) ?? []) {
      const g = f.geometry;
      if (!g) continue;
      const polys: Ring[][] = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
      const lines: Ring[] = g.type === "LineString" ? [g.coordinates] : g.type === "MultiLineString" ? g.coordinates : [];
      const points: [number, number][] = g.type === "Point" ? [g.coordinates] : g.type === "MultiPoint" ? g.coordinates : [];
      for (const p of polys) { ctx.beginPath(); p.forEach(path); if (s.fill) ctx.fill("evenodd"); ctx.stroke(); }
      for (const l of lines) { ctx.beginPath(); path(l); ctx.stroke(); }
      for (const [x, y] of points) { const [a, b] = px(x, y); ctx.beginPath(); ctx.arc(a, b, s.width, 0, Math.PI * 2); ctx.fill(); }
    }
  }
}

// ---------- Layer tree, texts, status ----------

function buildTree() {
  const tree = $("tree");
  tree.innerHTML = `<strong>${t("layers")}</strong>`;
  if (!ws) return;
  for (const g of GROUPS) {
    const layers = ws.layers.filter((l) => l.group === g);
    if (!layers.length) continue;
    const h = document.createElement("h3");
    h.textContent = t(`group.${g}`);
    tree.appendChild(h);
    for (const l of layers.slice().reverse()) {
      const row = document.createElement("label");
      const cb = document.createElement("input");
      cb.type = "checkbox"; cb.checked = l.visible; cb.dataset.layer = l.id;
      cb.onchange = async () => {
        l.visible = cb.checked;
        if (mode === "3d") { await invoke("set_layer_visible", { id: l.id, visible: l.visible }); requestFrame(); }
        else { await ensureData(l); render2d(); }
      };
      row.appendChild(cb);
      row.appendChild(document.createTextNode(l.title));
      if (l.synthetic) { const tag = document.createElement("span"); tag.className = "tag"; tag.textContent = t("synthetic"); row.appendChild(tag); }
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
      btn("⊕", t("zoom_layer"), async () => { const [w, h] = canvasPixels(); view = await invoke<View>("zoom_to_layer", { id: l.id, width: w, height: h, current: view }); await requestFrame(); });
      btn("↑", t("move_up"), async () => { ws = await invoke<WorkspaceDto>("move_layer", { id: l.id, delta: 1 }); buildTree(); await requestFrame(); });
      btn("↓", t("move_down"), async () => { ws = await invoke<WorkspaceDto>("move_layer", { id: l.id, delta: -1 }); buildTree(); await requestFrame(); });
      btn("✕", t("remove"), async () => { ws = await invoke<WorkspaceDto>("remove_layer", { id: l.id }); buildTree(); await requestFrame(); });
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

function status() {
  if (ws) $("status").textContent = `${t("crs")}: ${ws.crs} — ${ws.crs_name}${lastFrame ? "　" + lastFrame : ""}`;
}

// ---------- Adding data: a path, or files dropped on the window ----------

async function addFile(path: string): Promise<WorkspaceDto> {
  ws = await runJob(`${t("loading_file")} ${path}`, () => invoke<WorkspaceDto>("add_file", { path }));
  buildTree();
  await requestFrame();
  $("status").textContent = `${t("added")} ${path}`;
  return ws;
}

/** The add-data file dialog: folders and the datasets the core reads; a dataset is added on click. */
interface FolderEntry { name: string; path: string; folder: boolean; size: number }
async function browse(path: string | null) {
  const f = await invoke<{ path: string; parent: string | null; entries: FolderEntry[] }>("browse_folder", { path });
  $("browse-pane").hidden = false;
  $("browse-path").textContent = f.path;
  $("browse-path").title = f.path;
  ($("browse-up") as HTMLButtonElement).onclick = () => { if (f.parent) browse(f.parent).catch(showError); };
  const size = (n: number) => n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(0)} kB` : n ? `${n} B` : "";
  const ul = $("browse-list");
  ul.innerHTML = f.entries.length
    ? f.entries.map((e, i) => `<li data-i="${i}" class="${e.folder ? "folder" : "dataset"}">${esc(e.name)}<span class="size">${size(e.size)}</span></li>`).join("")
    : `<li class="empty">${t("browse_empty")}</li>`;
  ul.querySelectorAll("li[data-i]").forEach((li) => {
    (li as HTMLElement).onclick = () => {
      const e = f.entries[Number((li as HTMLElement).dataset.i)];
      if (e.folder) browse(e.path).catch(showError);
      else { $("browse-pane").hidden = true; addFile(e.path).catch(showError); }
    };
  });
}

// ---------- Workspace files ----------

async function saveWorkspace(path: string | null = null): Promise<string> {
  const p = await invoke<string>("workspace_save", { path, view });
  $("status").textContent = `${t("saved")} ${p}`;
  return p;
}

async function openWorkspace(path: string): Promise<WorkspaceDto> {
  const o = await invoke<{ workspace: WorkspaceDto; view: View | null; path: string }>("workspace_open", { path });
  ws = o.workspace;
  data.clear();
  if (o.view) view = o.view;
  else { const [w, h] = canvasPixels(); view = await invoke<View>("initial_view", { width: w, height: h }); }
  texts();
  await requestFrame();
  $("status").textContent = `${t("opened")} ${o.path}`;
  return ws;
}

async function showOpen() {
  const pane = $("ws-open-pane");
  pane.hidden = !pane.hidden;
  if (pane.hidden) return;
  const recent = await invoke<string[]>("recent_workspaces");
  $("ws-recent").innerHTML = recent.map((r, i) => `<li data-i="${i}">${esc(r)}</li>`).join("");
  $("ws-recent").querySelectorAll("li").forEach((li) => {
    (li as HTMLElement).onclick = () => { pane.hidden = true; openWorkspace(recent[Number((li as HTMLElement).dataset.i)]).catch(showError); };
  });
}

function showError(e: unknown) {
  const s = $("status");
  s.textContent = errorText(e);
  s.className = "error";
}

// ---------- Search and the cursor position ----------

interface SearchHit { layer_id: string; layer: string; fid: number; field: string; value: string }

async function search(q: string): Promise<SearchHit[]> {
  const hits = await invoke<SearchHit[]>("search_features", { query: q, limit: 20 });
  const ul = $("search-results");
  ul.hidden = !q.trim();
  ul.innerHTML = hits.length
    ? hits.map((h, i) => `<li data-i="${i}">${esc(h.value)} <small>${esc(h.layer)} #${h.fid} · ${esc(h.field)}</small></li>`).join("")
    : `<li>${esc(t("search_none"))}</li>`;
  ul.querySelectorAll("li[data-i]").forEach((li) => {
    (li as HTMLElement).onclick = () => { ul.hidden = true; flyTo(hits[Number((li as HTMLElement).dataset.i)]); };
  });
  return hits;
}

async function flyTo(h: SearchHit) {
  const [w, hgt] = canvasPixels();
  view = await invoke<View>("fly_to_feature", { layerId: h.layer_id, fid: h.fid, width: w, height: hgt, current: view });
  await requestFrame();
  return view;
}

let cursorBusy = false;
async function showCursor(x: number, y: number) {
  if (cursorBusy || !view || mode !== "3d") return;
  cursorBusy = true;
  try {
    const dpr = window.devicePixelRatio || 1;
    const [w, h] = canvasPixels();
    const c = await invoke<{ lon: number; lat: number; x: number; y: number; crs: string } | null>("cursor_position", { x: x * dpr, y: y * dpr, width: w, height: h, view });
    $("cursor").textContent = c ? `${c.lon.toFixed(6)}°E ${c.lat.toFixed(6)}°N · ${c.crs} X ${c.x.toFixed(1)} Y ${c.y.toFixed(1)}` : "";
  } finally { cursorBusy = false; }
}

function texts() {
  $("title").textContent = t("title");
  $("lang").textContent = t("lang");
  ($("search") as HTMLInputElement).placeholder = t("search");
  $("export").textContent = t("export");
  $("add-go").textContent = t("add_data");
  $("add-browse").textContent = t("browse");
  $("view-top").textContent = topDown ? t("view_3d") : t("view_2d");
  jobTexts();
  ($("add-path") as HTMLInputElement).placeholder = t("add_path");
  $("ws-save").textContent = t("ws.save");
  $("ws-open").textContent = t("ws.open");
  $("ws-open-go").textContent = t("ws.open");
  ($("ws-path") as HTMLInputElement).placeholder = t("ws.path");
  $("notice").textContent = mode === "3d" ? t("hint3d") : t("fallback2d");
  status();
  buildTree();
  casesTexts();
  commandTexts();
  tableTexts();
  measureTexts();
}

async function showIdentify(x: number, y: number) {
  if (!view) return;
  const dpr = window.devicePixelRatio || 1;
  const [w, h] = canvasPixels();
  const hits = await invoke<Identified[]>("identify", { x: x * dpr, y: y * dpr, width: w, height: h, view });
  const panel = $("identify");
  panel.hidden = false;
  panel.innerHTML = `<strong>${t("identify")}</strong> <button id="idclose" type="button">${t("close")}</button>`;
  if (!hits.length) panel.insertAdjacentHTML("beforeend", `<p>${t("identify_none")}</p>`);
  for (const hit of hits) {
    const rows = Object.entries(hit.attributes).filter(([, v]) => v !== null && v !== "")
      .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(String(v))}</td></tr>`).join("");
    panel.insertAdjacentHTML("beforeend", `<h4>${esc(hit.layer)} #${hit.fid}</h4><table>${rows}</table>`);
  }
  $("idclose").onclick = () => { panel.hidden = true; };
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

// ---------- Start ----------

async function start() {
  texts();
  $("status").textContent = t("loading");
  try {
    ws = await invoke<WorkspaceDto>("open_demo");
    $("attribution").textContent = ws.attribution[0] ?? "";
    texts();
    let drawnShare = 0;
    try {
      const [w, h] = canvasPixels();
      view = await invoke<View>("initial_view", { width: w, height: h });
      drawnShare = await draw3d();
    } catch (e) {
      console.error(e);
      mode = "2d";
      await Promise.all(ws.layers.map(ensureData));
      render2d();
      texts();
    }
    // Smoke tests time a few orbit steps: input to new frame on screen, and its parts.
    const timed: FrameTiming[] = [];
    const n = await invoke<number | null>("smoke_frames");
    if (n && mode === "3d" && view) {
      // At a fixed frame size when the test asks for one (the window is resized to fit).
      const want = await invoke<[number, number] | null>("smoke_fit_canvas", { cssWidth: canvas.clientWidth, cssHeight: canvas.clientHeight });
      if (want) {
        for (let i = 0; i < 50 && (canvasPixels()[0] !== want[0] || canvasPixels()[1] !== want[1]); i++) await new Promise((r) => setTimeout(r, 100));
        await draw3d();
      }
      for (let i = 0; i < n; i++) {
        view.yaw_deg += 5;
        await draw3d();
        if (lastTiming) timed.push(lastTiming);
      }
    }
    let found: Record<string, unknown> | null = null;
    if (n && mode === "3d") {
      const hits = await search("东方医院");
      const before = JSON.stringify(view);
      if (hits.length) await flyTo(hits[0]);
      const [w, h] = canvasPixels();
      const c = await invoke<{ lon: number; lat: number } | null>("cursor_position", { x: w / 2, y: h / 2, width: w, height: h, view });
      found = { hits: hits.length, first: hits[0]?.value ?? null, layer: hits[0]?.layer_id ?? null, flew: JSON.stringify(view) !== before, red: redShare(), centre: c };
    }
    let measured: Record<string, unknown> | null = null;
    if (n && mode === "3d" && view) {
      const [w, h] = canvasPixels();
      const a = await invoke<{ x: number; y: number } | null>("cursor_position", { x: w * 0.3, y: h * 0.6, width: w, height: h, view });
      const b = await invoke<{ x: number; y: number } | null>("cursor_position", { x: w * 0.7, y: h * 0.6, width: w, height: h, view });
      const c = await invoke<{ x: number; y: number } | null>("cursor_position", { x: w * 0.5, y: h * 0.8, width: w, height: h, view });
      const ht = await invoke<{ height_m: number; fid: number } | null>("measure_height", { x: w / 2, y: h / 2, width: w, height: h, view });
      measured = a && b && c ? { a, b, c, distance: polyLength([[a.x, a.y], [b.x, b.y]]), area: polyArea([[a.x, a.y], [b.x, b.y], [c.x, c.y]]), height: ht,
        scale: $("scalebar-label").textContent } : null;
    }
    const exported = n && mode === "3d" ? { path: await exportView(), width: lastSize[0], height: lastSize[1] } : null;
    const table = n && mode === "3d" ? await tableSmoke("buildings", "建筑现状", "height", "东方") : null;
    const violations = n && mode === "3d" ? await smokeFlow() : null;
    const command = n && mode === "3d" ? await commandSmoke() : null;
    let tree: Record<string, unknown> | null = null;
    const gbkPath = await invoke<string | null>("smoke_add_file");
    if (n && mode === "3d" && ws && gbkPath) {
      const before = ws.layers.length;
      const added = await addFile(gbkPath);
      const gbk = added.layers[added.layers.length - 1];
      const moved = await invoke<WorkspaceDto>("move_layer", { id: gbk.id, delta: -1 });
      await invoke("set_layer_opacity", { id: "buildings", opacity: 0.4 });
      const faded = await draw3d();
      await invoke("set_layer_opacity", { id: "buildings", opacity: 1 });
      const removed = await invoke<WorkspaceDto>("remove_layer", { id: gbk.id });
      ws = removed; buildTree();
      tree = { before, after_add: added.layers.length, added_title: gbk.title, added_features: gbk.features,
        moved_index: moved.layers.findIndex((l) => l.id === gbk.id), after_remove: removed.layers.length, faded };
    }
    let saved: Record<string, unknown> | null = null;
    if (n && mode === "3d" && ws && view) {
      await invoke("set_layer_visible", { id: "pois", visible: true });
      ws.layers.find((l) => l.id === "pois")!.visible = true;
      view.yaw_deg = 33;
      const before = JSON.stringify(view);
      const path = await saveWorkspace();
      view.yaw_deg = 0;
      const back = await openWorkspace(path);
      saved = { path, layers: back.layers.length, pois_visible: back.layers.find((l) => l.id === "pois")?.visible ?? null,
        view_restored: JSON.stringify(view) === before, recent: await invoke<string[]>("recent_workspaces"), drawn: await draw3d() };
    }
    const median = (k: keyof FrameTiming) => { const v = timed.map((f) => f[k]).sort((a, b) => a - b); return v.length ? v[Math.floor(v.length / 2)] : null; };
    // The bundled CJK font is there and draws the title's characters.
    const font = (await document.fonts.load("16px 'Noto Sans SC'", "经纬一张图")).length > 0 && document.fonts.check("16px 'Noto Sans SC'", "经纬一张图");
    // The 2D top-down mode: straight down, north up, and back to the oblique angles.
    let top: Record<string, unknown> | null = null;
    if (n && mode === "3d" && view) {
      const before = [view.pitch_deg, view.yaw_deg];
      setTopDown(true);
      const inTop = [view.pitch_deg, view.yaw_deg];
      const drawnTop = await draw3d();
      setTopDown(false);
      top = { in_top: inTop, back: JSON.stringify([view.pitch_deg, view.yaw_deg]) === JSON.stringify(before), drawn: drawnTop };
    }
    const landuseLegend = ws.layers.find((l) => l.id === "landuse")?.legend.map(([label]) => label) ?? [];
    await invoke("smoke_ready", { report: { layers: ws.layers.length, crs: ws.crs, mode, frame_drawn_share: drawnShare, font, landuse_legend: landuseLegend, top,
      frames_timed: timed.length, frame_ms: median("total"), render_ms: median("render"), readback_ms: median("readback"), transfer_ms: median("transfer"), draw_ms: median("draw"),
      width: lastTiming?.width, height: lastTiming?.height, search: found, measured, exported, table, violations, command, tree, saved } });
  } catch (e) {
    const s = $("status");
    s.textContent = `${t("error")}: ${e}`;
    s.className = "error";
  }
}

$("lang").addEventListener("click", () => { toggleLang(); texts(); });
$("ws-save").addEventListener("click", () => saveWorkspace().catch(showError));
initJob();
$("add-browse").addEventListener("click", () => {
  if (!$("browse-pane").hidden) { $("browse-pane").hidden = true; return; }
  const typed = ($("add-path") as HTMLInputElement).value.trim();
  browse(typed || null).catch(showError);
});
$("add-go").addEventListener("click", () => addFile(($("add-path") as HTMLInputElement).value).catch(showError));
getCurrentWebview().onDragDropEvent(async (e) => {
  document.body.classList.toggle("dropping", e.payload.type === "over" || e.payload.type === "enter");
  if (e.payload.type === "drop") for (const p of e.payload.paths) await addFile(p).catch(showError);
});
$("ws-open").addEventListener("click", () => showOpen().catch(showError));
$("ws-open-go").addEventListener("click", () => { $("ws-open-pane").hidden = true; openWorkspace(($("ws-path") as HTMLInputElement).value).catch(showError); });
$("export").addEventListener("click", () => exportView().catch((e) => { $("status").textContent = `${t("error")}: ${e}`; }));
let searchTimer = 0;
$("search").addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  const q = (e.target as HTMLInputElement).value;
  searchTimer = window.setTimeout(() => search(q).catch((err) => console.error(err)), 200);
});
window.addEventListener("resize", () => (mode === "3d" ? requestFrame() : render2d()));
canvas.addEventListener("contextmenu", (e) => e.preventDefault());
// Keys drive the camera too: arrows pan, +/- zoom, Q/E turn, W/S tilt.
canvas.tabIndex = 0;
canvas.addEventListener("keydown", (e) => {
  if (mode !== "3d" || !view) return;
  const step = view.distance_m * 0.1, yaw = (view.yaw_deg * Math.PI) / 180;
  const pan = (right: number, up: number) => {
    view!.target[0] += right * Math.cos(yaw) * step - up * Math.sin(yaw) * step;
    view!.target[2] += -right * Math.sin(yaw) * step - up * Math.cos(yaw) * step;
  };
  switch (e.key) {
    case "ArrowLeft": pan(-1, 0); break;
    case "ArrowRight": pan(1, 0); break;
    case "ArrowUp": pan(0, 1); break;
    case "ArrowDown": pan(0, -1); break;
    case "+": case "=": view.distance_m = Math.max(view.distance_m / 1.2, 20); break;
    case "-": view.distance_m = Math.min(view.distance_m * 1.2, 200000); break;
    case "q": case "Q": if (!topDown) view.yaw_deg -= 5; break;
    case "e": case "E": if (!topDown) view.yaw_deg += 5; break;
    case "w": case "W": if (!topDown) view.pitch_deg = Math.min(view.pitch_deg + 3, 90); break;
    case "s": case "S": if (!topDown) view.pitch_deg = Math.max(view.pitch_deg - 3, 5); break;
    default: return;
  }
  e.preventDefault();
  viewMoved(); measureViewMoved();
  requestFrame();
});
// Wheel and touch-pad: zoom in proportion to the scroll (a mouse notch ≈ 1.2×, a touch-pad's
// many small deltas zoom smoothly; a pinch arrives as a wheel with ctrlKey, more sensitive);
// a sideways two-finger swipe turns the view.
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
  const dy = e.deltaY * unit, dx = e.deltaX * unit;
  const f = Math.exp(Math.max(-1, Math.min(1, dy * (e.ctrlKey ? 0.01 : 0.0018))));
  if (mode === "3d" && view) {
    view.distance_m = Math.min(Math.max(view.distance_m * f, 20), 200000);
    if (!e.ctrlKey && !topDown && Math.abs(dx) > Math.abs(dy)) view.yaw_deg += dx * 0.2;
    viewMoved(); measureViewMoved();
    requestFrame();
  } else { view2d.scale /= f; render2d(); }
}, { passive: false });
let drag: { x: number; y: number; pan: boolean; moved: number } | null = null;
canvas.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, pan: e.button === 2 || e.shiftKey, moved: 0 }; });
window.addEventListener("mouseup", async (e) => {
  if (drag && drag.moved < 4 && mode === "3d") {
    const r = canvas.getBoundingClientRect();
    const [x, y] = [e.clientX - r.left, e.clientY - r.top];
    drag = null;
    if (!(await measureClick(x, y)) && !(await mapClick(x, y)) && !(await commandClick(x, y))) showIdentify(x, y);
  }
  drag = null;
});
// The top-down 2D mode: straight down, north up; dragging pans, tilting is off. Leaving it
// restores the oblique angles it was entered from.
function setTopDown(on: boolean) {
  if (!view || on === topDown) return;
  topDown = on;
  if (on) { obliqueAngles = [view.pitch_deg, view.yaw_deg]; view.pitch_deg = 90; view.yaw_deg = 0; }
  else { [view.pitch_deg, view.yaw_deg] = obliqueAngles; }
  $("view-top").classList.toggle("on", on);
  $("view-top").textContent = on ? t("view_3d") : t("view_2d");
  viewMoved(); measureViewMoved();
  requestFrame();
}
$("view-top").addEventListener("click", () => setTopDown(!topDown));
canvas.addEventListener("dblclick", () => { if (tool === "polygon") finishPolygon(); });
canvas.addEventListener("mousemove", (e) => {
  if (!drag) {
    const r = canvas.getBoundingClientRect();
    showCursor(e.clientX - r.left, e.clientY - r.top);
    return;
  }
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  drag.moved += Math.abs(dx) + Math.abs(dy);
  drag.x = e.clientX; drag.y = e.clientY;
  if (mode === "3d" && view) {
    viewMoved();
    measureViewMoved();
    if (drag.pan || topDown) {
      const mpp = (2 * view.distance_m * Math.tan((view.fov_deg * Math.PI) / 360)) / canvas.clientHeight;
      const yaw = (view.yaw_deg * Math.PI) / 180;
      // Screen right is (cos yaw, -sin yaw) in (x east, z south); screen up is its normal.
      view.target[0] -= (dx * Math.cos(yaw) + dy * Math.sin(yaw)) * mpp;
      view.target[2] -= (-dx * Math.sin(yaw) + dy * Math.cos(yaw)) * mpp;
    } else {
      view.yaw_deg -= dx * 0.3;
      view.pitch_deg = Math.min(Math.max(view.pitch_deg + dy * 0.2, 5), 90);
    }
    requestFrame();
  } else {
    const k = Math.cos((view2d.cy * Math.PI) / 180);
    view2d.cx -= dx / (view2d.scale * k);
    view2d.cy += dy / view2d.scale;
    render2d();
  }
});
const hooks = {
  view: () => view,
  setView: (v: View) => { view = v; },
  pixels: canvasPixels,
  dpr: () => window.devicePixelRatio || 1,
  redraw: () => requestFrame(),
  redShare,
};
initCases(hooks);
initTable(hooks);
initMeasure(hooks);
initCommand(hooks);
start();
