import { invoke } from "@tauri-apps/api/core";
import { t, toggleLang } from "./i18n";

interface LayerDto {
  id: string; title: string; group: string; features: number; geometry_type: string;
  visible: boolean; synthetic: boolean; invalid: number;
}
interface WorkspaceDto { crs: string; crs_name: string; origin_xy: [number, number]; layers: LayerDto[]; attribution: string[] }
type Ring = [number, number][];
interface Geom { type: string; coordinates: any }
interface Feature { geometry: Geom | null; properties: Record<string, unknown> }

const GROUPS = ["status_quo", "plan", "control", "thematic", "emergency"];
const STYLE: Record<string, { fill?: string; stroke: string; width: number }> = {
  landuse: { fill: "#cfe8c4", stroke: "#9bc48a", width: 0.5 },
  water: { fill: "#a9cfee", stroke: "#7fb2dd", width: 0.5 },
  rivers: { fill: "#a9cfee", stroke: "#7fb2dd", width: 0.5 },
  roads: { stroke: "#8a94a3", width: 1 },
  buildings: { fill: "#c9b8a6", stroke: "#8f7b67", width: 0.5 },
  pois: { stroke: "#6b46c1", width: 3 },
  permits: { stroke: "#2563eb", width: 1 },
  control_zones: { fill: "rgba(220,38,38,0.10)", stroke: "#dc2626", width: 2 },
  river_protection: { fill: "rgba(37,99,235,0.12)", stroke: "#1d4ed8", width: 1.5 },
  emergency_resources: { stroke: "#ea580c", width: 6 },
};

let ws: WorkspaceDto | null = null;
const data = new Map<string, Feature[]>();
const canvas = document.getElementById("map") as HTMLCanvasElement;
const ctx = canvas.getContext("2d")!;
let view = { cx: 121.5, cy: 31.238, scale: 30000 }; // pixels per degree of longitude

function render() {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!ws) return;
  const k = Math.cos((view.cy * Math.PI) / 180);
  const px = (lon: number, lat: number): [number, number] => [w / 2 + (lon - view.cx) * view.scale * k, h / 2 - (lat - view.cy) * view.scale];
  const path = (ring: Ring) => ring.forEach(([x, y], i) => { const [a, b] = px(x, y); i ? ctx.lineTo(a, b) : ctx.moveTo(a, b); });
  for (const layer of ws.layers) {
    if (!layer.visible) continue;
    const feats = data.get(layer.id);
    if (!feats) continue;
    const s = STYLE[layer.id] ?? { stroke: "#334155", width: 1 };
    ctx.strokeStyle = s.stroke; ctx.lineWidth = s.width; ctx.fillStyle = s.fill ?? s.stroke;
    for (const f of feats) {
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

function buildTree() {
  const tree = document.getElementById("tree")!;
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
      cb.onchange = async () => { l.visible = cb.checked; await ensureData(l); render(); };
      row.appendChild(cb);
      row.appendChild(document.createTextNode(l.title));
      if (l.synthetic) { const tag = document.createElement("span"); tag.className = "tag"; tag.textContent = t("synthetic"); row.appendChild(tag); }
      const c = document.createElement("span"); c.className = "count"; c.textContent = `${l.features}`;
      c.title = `${l.features} ${t("features")}${l.invalid ? `, ${l.invalid} ${t("invalid")}` : ""}`;
      row.appendChild(c);
      tree.appendChild(row);
    }
  }
}

async function ensureData(l: LayerDto) {
  if (!l.visible || data.has(l.id)) return;
  const fc = JSON.parse(await invoke<string>("layer_geojson", { id: l.id }));
  data.set(l.id, fc.features);
}

function texts() {
  document.getElementById("title")!.textContent = t("title");
  document.getElementById("lang")!.textContent = t("lang");
  document.getElementById("notice")!.textContent = t("interim");
  if (ws) document.getElementById("status")!.textContent = `${t("crs")}: ${ws.crs} — ${ws.crs_name}`;
  buildTree();
}

async function start() {
  texts();
  document.getElementById("status")!.textContent = t("loading");
  try {
    ws = await invoke<WorkspaceDto>("open_demo");
    document.getElementById("attribution")!.textContent = ws.attribution[0] ?? "";
    await Promise.all(ws.layers.map(ensureData));
    texts();
    render();
    const drawn = [...data.values()].reduce((n, f) => n + f.length, 0);
    await invoke("smoke_ready", { report: { layers: ws.layers.length, features_drawn: drawn, crs: ws.crs } });
  } catch (e) {
    const s = document.getElementById("status")!;
    s.textContent = `${t("error")}: ${e}`;
    s.className = "error";
  }
}

document.getElementById("lang")!.addEventListener("click", () => { toggleLang(); texts(); });
window.addEventListener("resize", render);
canvas.addEventListener("wheel", (e) => { e.preventDefault(); view.scale *= e.deltaY < 0 ? 1.2 : 1 / 1.2; render(); }, { passive: false });
let drag: [number, number] | null = null;
canvas.addEventListener("mousedown", (e) => { drag = [e.clientX, e.clientY]; });
window.addEventListener("mouseup", () => { drag = null; });
canvas.addEventListener("mousemove", (e) => {
  const k = Math.cos((view.cy * Math.PI) / 180);
  if (drag) {
    view.cx -= (e.clientX - drag[0]) / (view.scale * k);
    view.cy += (e.clientY - drag[1]) / view.scale;
    drag = [e.clientX, e.clientY];
    render();
  }
  const r = canvas.getBoundingClientRect();
  const lon = view.cx + (e.clientX - r.left - r.width / 2) / (view.scale * k);
  const lat = view.cy - (e.clientY - r.top - r.height / 2) / view.scale;
  document.getElementById("cursor")!.textContent = `CGCS2000 ${lon.toFixed(6)}°E ${lat.toFixed(6)}°N`;
});
start();
