// The 3D view: frames rendered by Bevy in the Rust process, sent as raw RGBA and put on the
// canvas; the frame loop; the camera driven by mouse, wheel, touch-pad and keys; the top-down
// mode; the map export; the cursor read-out.
import { invoke } from "@tauri-apps/api/core";
import { $ } from "./dom";
import { exportMap } from "./export";
import { render2d, view2d } from "./fallback2d";
import { t } from "./i18n";
import { measureViewMoved, updateScale } from "./measure";
import { viewMoved } from "./cases";
import { app, status } from "./state";
import type { CursorDto } from "./types";

const BACKGROUND = [238, 241, 244];
export const canvas = $("map") as HTMLCanvasElement;
const ctx = canvas.getContext("2d")!;

export function canvasPixels(): [number, number] {
  const dpr = window.devicePixelRatio || 1;
  return [Math.max(1, Math.round(canvas.clientWidth * dpr)), Math.max(1, Math.round(canvas.clientHeight * dpr))];
}

/** Where an orbit step's time went (ms): the render and its read-back; `command`, the app's
 * whole time in the command (the render included); `transfer`, the rest of the round trip (the
 * frame's way to the page); `draw`, decoding it and drawing it onto the canvas, of which `decode` the
 * decoding. */
export interface FrameTiming { total: number; render: number; readback: number; command: number; transfer: number; draw: number; decode: number; width: number; height: number }
export let lastTiming: FrameTiming | null = null;
let lastPixels: Uint8ClampedArray<ArrayBuffer> | null = null;
/** The last frame's RGBA pixels (read back from the canvas once, when first asked for). */
function framePixels(): Uint8ClampedArray<ArrayBuffer> {
  if (!lastPixels) lastPixels = ctx.getImageData(0, 0, size[0], size[1]).data;
  return lastPixels;
}
/** The size of the last frame. */
export function lastSize(): [number, number] { return size; }
let size: [number, number] = [0, 0];

/** Save the current view as a PNG map (title, legend, scale bar, north arrow). */
export async function exportView(title?: string): Promise<string | null> {
  const { view, ws } = app;
  if (!size[0] || !view || !ws) return null;
  // A motion frame on the canvas: the full one first (what is exported is what was rendered).
  if (reduced) await draw3d(false);
  const [w, h] = size;
  const mpp = (2 * view.distance_m * Math.tan((view.fov_deg * Math.PI) / 360)) / h;
  const path = await exportMap({
    frame: new ImageData(new Uint8ClampedArray(framePixels()), w, h),
    title: title ?? t("title"),
    subtitle: `${ws.crs} · ${new Date().toISOString().slice(0, 10)} · ${ws.attribution[0] ?? ""}`,
    legend: ws.layers.filter((l) => l.visible).flatMap((l) => l.legend.length
      ? l.legend.map(([label, fill]) => ({ title: `${l.title} · ${label}`, fill, stroke: fill }))
      : [{ title: l.title, fill: l.fill, stroke: l.stroke }]),
    metresPerPixel: mpp,
    yawDeg: view.yaw_deg,
  });
  $("status").textContent = `${t("exported")} ${path}`;
  return path;
}

/** Share of the last frame in the highlight red (220, 38, 38 shaded). */
export function redShare(): number {
  if (!size[0]) return 0;
  const p = framePixels();
  let n = 0;
  for (let i = 0; i < p.length; i += 4) if (p[i] > 150 && p[i + 1] < 80 && p[i + 2] < 80) n++;
  return n / (p.length / 4);
}

/** While the view moves (a drag, the wheel, keys held), frames are rendered at this share of
 * the canvas's size each way and drawn scaled up: a software renderer (most government
 * workstations have no graphics card) draws a quarter of the pixels in well under half the
 * time, and the frame is a quarter of the bytes to send and decode. The full frame follows
 * once the view rests for `REST_MS`. */
export const MOTION_SCALE = 0.5;
export const REST_MS = 150;

/** Draw a new frame of the current view; resolves to the share of its pixels that show
 * something (not the background), or 0 when `share` is false (the frame loop: reading a PNG
 * frame's pixels back from the canvas costs a few milliseconds). `scale` below 1 renders a
 * smaller frame and draws it over the whole canvas (a motion frame). */
export async function draw3d(share = true, scale = 1): Promise<number> {
  const [w, h] = canvasPixels();
  const [rw, rh] = scale < 1 ? [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))] : [w, h];
  const t0 = performance.now();
  const buf = await invoke<ArrayBuffer>("render_view", { width: rw, height: rh, view: app.view, motion: scale < 1 });
  const t1 = performance.now();
  // Resized only now (resizing clears the canvas, which must show the last frame meanwhile).
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const head = new DataView(buf, 0, 24);
  const fw = head.getUint32(0, true), fh = head.getUint32(4, true), renderMs = head.getFloat32(8, true), readbackMs = head.getFloat32(12, true);
  // The command's whole time in the app (render and what comes before and after it).
  const commandMs = head.getFloat32(20, true);
  // 3D tiles the view wants are still loading: draw again shortly. Sharper imagery coming:
  // the page draws again while it does (`imagery.ts`).
  const coming = head.getUint32(16, true);
  const tilesPending = (coming & 1) !== 0;
  if (tilesPending) drawForTiles(80);
  if (coming & 2) canvas.dispatchEvent(new Event("imagery-pending"));
  reduced = fw !== w || fh !== h;
  // A PNG, which the engine decodes (a motion frame is drawn scaled up over the canvas); its
  // pixels are read back from the canvas only if needed.
  const bitmap = await createImageBitmap(new Blob([new Uint8Array(buf, 24)], { type: "image/png" }));
  const tDecoded = performance.now();
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close();
  lastPixels = null;
  const t2 = performance.now();
  lastTiming = { total: t2 - t0, render: renderMs - readbackMs, readback: readbackMs, command: commandMs, transfer: t1 - t0 - commandMs, draw: t2 - t1, decode: tDecoded - t1, width: fw, height: fh };
  app.lastFrame = `${t("frame")} ${(t2 - t0).toFixed(0)} ms（${t("render_ms")} ${renderMs.toFixed(0)} · ${t("transfer_ms")} ${(t1 - t0 - renderMs).toFixed(0)} · ${fw}×${fh}）`;
  status();
  // What automation waits on instead of a guessed time: frames drawn so far, whether this one
  // is a full frame at rest (not a motion frame) and whether 3D tiles it wants are still loading.
  canvas.dataset.frames = String(++framesDrawn);
  canvas.dataset.full = reduced ? "0" : "1";
  canvas.dataset.tiles = tilesPending ? "loading" : "done";
  size = [w, h];
  updateScale(app.view, canvas.clientHeight);
  if (!share) return 0;
  const pixels = framePixels();
  let drawn = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (Math.abs(pixels[i] - BACKGROUND[0]) + Math.abs(pixels[i + 1] - BACKGROUND[1]) + Math.abs(pixels[i + 2] - BACKGROUND[2]) > 9) drawn++;
  }
  // (Counted over the canvas: a motion frame is drawn over all of it.)
  return drawn / (pixels.length / 4);
}

let frameLoop: Promise<void> | null = null, dirty = false, wantFull = false, framesDrawn = 0;
let tilesTimer: ReturnType<typeof setTimeout> | undefined;
/** Draw again in `ms` for 3D tiles still loading (one such wait at a time). While the view moves
 * its own frames bring them, so the frame waits until it has rested for `REST_MS`: dropping it
 * instead lost the tiles of a single step (its full frame comes at once, the rest timer then
 * finds a full frame on the canvas and draws nothing), until the next move. */
function drawForTiles(ms: number) {
  if (tilesTimer !== undefined) return;
  tilesTimer = setTimeout(() => {
    tilesTimer = undefined;
    const rest = REST_MS - (performance.now() - lastMove);
    if (rest > 0) drawForTiles(rest);
    else void requestFrame();
  }, ms);
}

/** Whether the frame on the canvas is a motion frame; when the view last moved; when the
 * last frame was on the canvas. */
let reduced = false, lastMove = -Infinity, lastFrameEnd = -Infinity, restTimer: ReturnType<typeof setTimeout> | undefined;
/** Draw a new frame; resolves once a frame that shows the latest change is on the canvas
 * (a request during a frame in flight is folded into one more frame after it). `moving`: the
 * camera moved (drag, wheel, keys). A move while a frame is on its way, or within `REST_MS`
 * of the last move or frame, makes a motion frame (however slow the frames are, a view that
 * keeps moving gets them); the full frame follows when the view rests for `REST_MS`. */
export function requestFrame(moving = false): Promise<void> {
  if (app.mode !== "3d" || !app.view) return Promise.resolve();
  // A frame asked for without a move while the view still moves (imagery or tiles arriving) is
  // a motion frame too: the full frame comes when the view rests.
  let full = performance.now() - lastMove >= REST_MS;
  if (moving) {
    const now = performance.now();
    full = !frameLoop && now - lastMove >= REST_MS && now - lastFrameEnd >= REST_MS;
    lastMove = now;
    clearTimeout(restTimer);
    restTimer = setTimeout(() => { if (reduced || frameLoop) void requestFrame(); }, REST_MS);
  }
  dirty = true;
  wantFull ||= full;
  if (frameLoop) return frameLoop;
  canvas.dataset.busy = "1";
  frameLoop = (async () => {
    try {
      while (dirty) {
        dirty = false;
        const scale = wantFull ? 1 : MOTION_SCALE;
        wantFull = false;
        await draw3d(false, scale);
        lastFrameEnd = performance.now();
      }
    } finally { frameLoop = null; canvas.dataset.busy = "0"; }
  })();
  return frameLoop;
}


let cursorBusy = false;
/** The ground position under the cursor, in the status bar. */
async function showCursor(x: number, y: number) {
  if (cursorBusy || !app.view || app.mode !== "3d") return;
  cursorBusy = true;
  try {
    const dpr = window.devicePixelRatio || 1;
    const [w, h] = canvasPixels();
    const c = await invoke<CursorDto | null>("cursor_position", { x: x * dpr, y: y * dpr, width: w, height: h, view: app.view });
    $("cursor").textContent = c ? `${c.lon.toFixed(6)}°E ${c.lat.toFixed(6)}°N · ${c.crs} X ${c.x.toFixed(1)} Y ${c.y.toFixed(1)}` : "";
  } finally { cursorBusy = false; }
}

/** Wire the camera to the mouse, wheel, touch-pad and keys; `onClick` gets a click (CSS pixels
 * of the canvas) that did not drag. */
export function initCamera(onClick: (x: number, y: number) => Promise<void>) {
  window.addEventListener("resize", () => (app.mode === "3d" ? requestFrame() : render2d()));
  canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  // Keys drive the camera too: arrows pan, +/- zoom, Q/E turn, W/S tilt.
  canvas.tabIndex = 0;
  canvas.addEventListener("keydown", (e) => {
    if (app.mode !== "3d" || !app.view) return;
    const step = app.view.distance_m * 0.1, yaw = (app.view.yaw_deg * Math.PI) / 180;
    const pan = (right: number, up: number) => {
      app.view!.target[0] += right * Math.cos(yaw) * step - up * Math.sin(yaw) * step;
      app.view!.target[2] += -right * Math.sin(yaw) * step - up * Math.cos(yaw) * step;
    };
    switch (e.key) {
      case "ArrowLeft": pan(-1, 0); break;
      case "ArrowRight": pan(1, 0); break;
      case "ArrowUp": pan(0, 1); break;
      case "ArrowDown": pan(0, -1); break;
      case "+": case "=": app.view.distance_m = Math.max(app.view.distance_m / 1.2, 20); break;
      case "-": app.view.distance_m = Math.min(app.view.distance_m * 1.2, 200000); break;
      case "q": case "Q": if (!app.topDown) app.view.yaw_deg -= 5; break;
      case "e": case "E": if (!app.topDown) app.view.yaw_deg += 5; break;
      case "w": case "W": if (!app.topDown) app.view.pitch_deg = Math.min(app.view.pitch_deg + 3, 90); break;
      case "s": case "S": if (!app.topDown) app.view.pitch_deg = Math.max(app.view.pitch_deg - 3, 5); break;
      default: return;
    }
    e.preventDefault();
    viewMoved(); measureViewMoved();
    requestFrame(true);
  });
  // Wheel and touch-pad: zoom in proportion to the scroll (a mouse notch ≈ 1.2×, a touch-pad's
  // many small deltas zoom smoothly; a pinch arrives as a wheel with ctrlKey, more sensitive);
  // a sideways two-finger swipe turns the view.
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const dy = e.deltaY * unit, dx = e.deltaX * unit;
    const f = Math.exp(Math.max(-1, Math.min(1, dy * (e.ctrlKey ? 0.01 : 0.0018))));
    if (app.mode === "3d" && app.view) {
      app.view.distance_m = Math.min(Math.max(app.view.distance_m * f, 20), 200000);
      if (!e.ctrlKey && !app.topDown && Math.abs(dx) > Math.abs(dy)) app.view.yaw_deg += dx * 0.2;
      viewMoved(); measureViewMoved();
      requestFrame(true);
    } else { view2d.scale /= f; render2d(); }
  }, { passive: false });
  let drag: { x: number; y: number; pan: boolean; moved: number } | null = null;
  canvas.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, pan: e.button === 2 || e.shiftKey, moved: 0 }; });
  window.addEventListener("mouseup", async (e) => {
    if (drag && drag.moved < 4 && app.mode === "3d") {
      const r = canvas.getBoundingClientRect();
      const [x, y] = [e.clientX - r.left, e.clientY - r.top];
      drag = null;
      await onClick(x, y);
    }
    drag = null;
  });
  $("view-top").addEventListener("click", () => setTopDown(!app.topDown));
  canvas.addEventListener("mousemove", (e) => {
    if (!drag) {
      const r = canvas.getBoundingClientRect();
      showCursor(e.clientX - r.left, e.clientY - r.top);
      return;
    }
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    drag.moved += Math.abs(dx) + Math.abs(dy);
    drag.x = e.clientX; drag.y = e.clientY;
    if (app.mode === "3d" && app.view) {
      viewMoved();
      measureViewMoved();
      if (drag.pan || app.topDown) {
        const mpp = (2 * app.view.distance_m * Math.tan((app.view.fov_deg * Math.PI) / 360)) / canvas.clientHeight;
        const yaw = (app.view.yaw_deg * Math.PI) / 180;
        // Screen right is (cos yaw, -sin yaw) in (x east, z south); screen up is its normal.
        app.view.target[0] -= (dx * Math.cos(yaw) + dy * Math.sin(yaw)) * mpp;
        app.view.target[2] -= (-dx * Math.sin(yaw) + dy * Math.cos(yaw)) * mpp;
      } else {
        app.view.yaw_deg -= dx * 0.3;
        app.view.pitch_deg = Math.min(Math.max(app.view.pitch_deg + dy * 0.2, 5), 90);
      }
      requestFrame(true);
    } else {
      const k = Math.cos((view2d.cy * Math.PI) / 180);
      view2d.cx -= dx / (view2d.scale * k);
      view2d.cy += dy / view2d.scale;
      render2d();
    }
  });
}

/** The top-down 2D mode of the 3D view: straight down, north up; dragging pans, tilting is
 * off. Leaving it restores the oblique angles it was entered from. */
export function setTopDown(on: boolean) {
  if (!app.view || on === app.topDown) return;
  app.topDown = on;
  if (on) { app.obliqueAngles = [app.view.pitch_deg, app.view.yaw_deg]; app.view.pitch_deg = 90; app.view.yaw_deg = 0; }
  else { [app.view.pitch_deg, app.view.yaw_deg] = app.obliqueAngles; }
  $("view-top").classList.toggle("on", on);
  $("view-top").textContent = on ? t("view_3d") : t("view_2d");
  viewMoved(); measureViewMoved();
  requestFrame();
}
