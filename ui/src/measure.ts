// Measuring in the 3D view (distance, area, building height), the scale bar and the north
// arrow. Points are ground points in workspace metres (Gauss-Krüger grid), asked from Rust.
import { $ } from "./dom";
import { invoke } from "@tauri-apps/api/core";
import { t } from "./i18n";
import type { MapHooks } from "./cases";
import type { CursorDto, HeightDto, SurfacePointDto, View } from "./types";

type Tool = "none" | "distance" | "area" | "height";

let hooks: MapHooks;
export let measuring: Tool = "none";
let pts: { px: [number, number]; xy: [number, number]; z: number | null }[] = [];

export function initMeasure(h: MapHooks) {
  hooks = h;
  for (const k of ["distance", "area", "height"] as Tool[]) {
    $(`m-${k}`).onclick = () => setTool(measuring === k ? "none" : k);
  }
  window.addEventListener("keydown", (e) => { if (e.key === "Escape" && measuring !== "none") setTool("none"); });
  measureTexts();
}

export function measureTexts() {
  $("m-distance").textContent = t("m.distance");
  $("m-area").textContent = t("m.area");
  $("m-height").textContent = t("m.height");
}

function setTool(k: Tool) {
  measuring = k;
  pts = [];
  for (const x of ["distance", "area", "height"]) $(`m-${x}`).classList.toggle("on", x === k);
  $("m-result").textContent = k === "none" ? "" : t(`m.hint_${k}`);
  drawMeasure();
}

const fmtLen = (m: number) => (m >= 1000 ? `${(m / 1000).toFixed(3)} km` : `${m.toFixed(2)} m`);
const fmtArea = (a: number) => (a >= 1e6 ? `${(a / 1e6).toFixed(4)} km²` : `${a.toFixed(1)} m²`);

export function length(xy: [number, number][]): number {
  let s = 0;
  for (let i = 1; i < xy.length; i++) s += Math.hypot(xy[i][0] - xy[i - 1][0], xy[i][1] - xy[i - 1][1]);
  return s;
}

export function area(xy: [number, number][]): number {
  let s = 0;
  for (let i = 0; i < xy.length; i++) {
    const [x1, y1] = xy[i], [x2, y2] = xy[(i + 1) % xy.length];
    s += (x1 - xy[0][0]) * (y2 - xy[0][1]) - (x2 - xy[0][0]) * (y1 - xy[0][1]);
  }
  return Math.abs(s) / 2;
}

/** A click on the map while measuring; true when used. Returns the result text too. */
export async function measureClick(x: number, y: number): Promise<boolean> {
  const v = hooks.view();
  if (measuring === "none" || !v) return false;
  const dpr = hooks.dpr();
  const [w, h] = hooks.pixels();
  if (measuring === "height") {
    const r = await invoke<HeightDto | null>("measure_height", { x: x * dpr, y: y * dpr, width: w, height: h, view: v });
    $("m-result").textContent = r ? `${r.name ?? r.layer + " #" + r.fid}：${t("m.height_is")} ${r.height_m.toFixed(1)} m（${r.base_m.toFixed(1)}–${r.top_m.toFixed(1)} m）` : t("m.no_building");
    return true;
  }
  if (measuring === "distance") {
    // On the model's surface: the first thing drawn under the pointer (tile, model, building,
    // ground), so a distance runs along roofs and façades in 3D.
    const s = await invoke<SurfacePointDto | null>("surface_point", { x: x * dpr, y: y * dpr, width: w, height: h, view: v });
    if (!s) return true;
    pts.push({ px: [x, y], xy: [s.x, s.y], z: s.z });
  } else {
    const c = await invoke<CursorDto | null>("cursor_position", { x: x * dpr, y: y * dpr, width: w, height: h, view: v });
    if (!c) return true;
    pts.push({ px: [x, y], xy: [c.x, c.y], z: null });
  }
  const xy = pts.map((p) => p.xy);
  $("m-result").textContent = measuring === "distance"
    ? distanceText()
    : `${t("m.area")} ${pts.length >= 3 ? fmtArea(area(xy)) : "—"} · ${t("m.perimeter")} ${fmtLen(length([...xy, xy[0]]))}`;
  drawMeasure();
  return true;
}

/** A distance in 3D along the picked points, with its horizontal length and height change. */
function distanceText(): string {
  let slant = 0;
  for (let i = 1; i < pts.length; i++) {
    const [a, b] = [pts[i - 1], pts[i]];
    slant += Math.hypot(b.xy[0] - a.xy[0], b.xy[1] - a.xy[1], (b.z ?? 0) - (a.z ?? 0));
  }
  const flat = length(pts.map((p) => p.xy));
  const dz = pts.length >= 2 ? (pts[pts.length - 1].z ?? 0) - (pts[0].z ?? 0) : 0;
  return `${t("m.distance")} ${fmtLen(slant)} · ${t("m.horizontal")} ${fmtLen(flat)} · Δh ${dz.toFixed(2)} m`;
}

/** The view moved: the drawn points no longer match the picture. */
export function measureViewMoved() {
  if (pts.length) { pts = []; drawMeasure(); }
}

function drawMeasure() {
  const svg = $("measure");
  const p = pts.map((q) => `${q.px[0]},${q.px[1]}`).join(" ");
  svg.innerHTML = pts.length
    ? (measuring === "area" ? `<polygon points="${p}"/>` : `<polyline points="${p}"/>`) + pts.map((q) => `<circle cx="${q.px[0]}" cy="${q.px[1]}" r="3"/>`).join("")
    : "";
}

/** Scale bar (a round length about 100 px long at the view's target) and north arrow. */
export function updateScale(v: View | null, canvasCssHeight: number) {
  if (!v) return;
  const mpp = (2 * v.distance_m * Math.tan((v.fov_deg * Math.PI) / 360)) / Math.max(1, canvasCssHeight);
  const target = mpp * 100;
  const p = 10 ** Math.floor(Math.log10(target));
  const len = [1, 2, 5, 10].map((k) => k * p).filter((l) => l <= target).pop() ?? p;
  const px = len / mpp;
  ($("scalebar-bar") as HTMLElement).style.width = `${px}px`;
  $("scalebar-label").textContent = len >= 1000 ? `${len / 1000} km` : `${len} m`;
  // Screen up points to azimuth yaw + 180° (the camera looks from its yaw towards the target).
  ($("north") as HTMLElement).style.transform = `rotate(${v.yaw_deg}deg)`;
}
