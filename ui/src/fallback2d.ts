// The 2D preview: the fallback when no 3D renderer is available — every layer drawn from
// CGCS2000 lon/lat GeoJSON on the page's own canvas.
import { invoke } from "@tauri-apps/api/core";
import { $ } from "./dom";
import { app } from "./state";
import type { LayerDto } from "./types";

type Ring = [number, number][];
interface Geom { type: string; coordinates: any }
interface Feature { geometry: Geom | null; properties: Record<string, unknown> }

const canvas = $("map") as HTMLCanvasElement;
const ctx = canvas.getContext("2d")!;

export const data = new Map<string, Feature[]>();
export const view2d = { cx: 121.5, cy: 31.238, scale: 30000 };
const STYLE: Record<string, { fill?: string; stroke: string; width: number }> = {
  landuse: { fill: "#cfe8c4", stroke: "#9bc48a", width: 0.5 }, water: { fill: "#a9cfee", stroke: "#7fb2dd", width: 0.5 },
  rivers: { fill: "#a9cfee", stroke: "#7fb2dd", width: 0.5 }, roads: { stroke: "#8a94a3", width: 1 },
  buildings: { fill: "#c9b8a6", stroke: "#8f7b67", width: 0.5 }, pois: { stroke: "#6b46c1", width: 3 },
  permits: { stroke: "#2563eb", width: 1 }, control_zones: { fill: "rgba(220,38,38,0.10)", stroke: "#dc2626", width: 2 },
  river_protection: { fill: "rgba(37,99,235,0.12)", stroke: "#1d4ed8", width: 1.5 }, emergency_resources: { stroke: "#ea580c", width: 6 },
};

export async function ensureData(l: LayerDto) {
  if (!l.visible || data.has(l.id)) return;
  const fc = JSON.parse(await invoke<string>("layer_geojson", { id: l.id }));
  data.set(l.id, fc.features);
}

// The imagery under the preview: one PNG of the visible imagery layers for the view, fetched
// when the view changes and drawn under the vector layers once it is in.
let imageryKey = "";
let imagery: { key: string; img: HTMLImageElement } | null = null;

function drawImagery(w: number, h: number, k: number) {
  if (!app.ws?.imagery.some((l) => l.visible && l.open)) return;
  const west = view2d.cx - w / 2 / (view2d.scale * k), east = view2d.cx + w / 2 / (view2d.scale * k);
  const south = view2d.cy - h / 2 / view2d.scale, north = view2d.cy + h / 2 / view2d.scale;
  const key = [west, south, east, north, w, h].map((v) => v.toFixed(6)).join(",") + app.ws.imagery.map((l) => `${l.id}${l.visible}${l.opacity}`).join();
  if (key !== imageryKey) {
    imageryKey = key;
    invoke<ArrayBuffer>("imagery_2d", { west, south, east, north, width: Math.round(w), height: Math.round(h) })
      .then((buf) => {
        const img = new Image();
        img.onload = () => { if (imageryKey === key) { imagery = { key, img }; render2d(); } };
        img.src = URL.createObjectURL(new Blob([buf], { type: "image/png" }));
      })
      .catch(() => undefined);
  }
  if (imagery?.key === key) ctx.drawImage(imagery.img, 0, 0, w, h);
}

export function render2d() {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const ws = app.ws;
  if (!ws) return;
  const k = Math.cos((view2d.cy * Math.PI) / 180);
  drawImagery(w, h, k);
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

