// The smoke test's script (loaded only when the app was built with its `smoke` feature and
// started by the smoke test): drive every panel as a user would, time a few frames, and report
// to `smoke_ready`. Nothing here is in the boot path of a normal start.
import { invoke } from "@tauri-apps/api/core";
import { $ } from "./dom";
import { smokeFlow } from "./cases";
import { commandSmoke } from "./command";
import { flyTo, search } from "./explore";
import { area as polyArea, length as polyLength } from "./measure";
import { app } from "./state";
import { tableSmoke } from "./table";
import { buildTree } from "./tree";
import type { WorkspaceDto } from "./types";
import { canvas, canvasPixels, draw3d, exportView, lastSize, lastTiming, MOTION_SCALE, redShare, REST_MS, setTopDown, type FrameTiming } from "./view3d";
import { addFile, openWorkspace, saveWorkspace } from "./workspace";

/** How many frames the smoke test wants timed; `null` in a normal start (the command does not
 * exist without the `smoke` feature). */
export async function smokeFrames(): Promise<number | null> {
  try {
    return await invoke<number | null>("smoke_frames");
  } catch {
    return null;
  }
}

/** The median of `v` (`null` when empty), and of field `k` of frame timings. */
const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : null; };
const part = (v: FrameTiming[], k: keyof FrameTiming) => median(v.map((f) => f[k] as number));

/** Run the smoke script; `drawnShare` is the first frame's share of drawn pixels. */
export async function runSmoke(n: number, drawnShare: number) {
  // Smoke tests time a few orbit steps: input to new frame on screen, and its parts.
  const timed: FrameTiming[] = [];
  const motion: FrameTiming[] = [];
  const rested: FrameTiming[] = [];
  let motionShare = 0;
  if (n && app.mode === "3d" && app.view) {
    // At a fixed frame size when the test asks for one (the window is resized to fit).
    const want = await invoke<[number, number] | null>("smoke_fit_canvas", { cssWidth: canvas.clientWidth, cssHeight: canvas.clientHeight });
    if (want) {
      for (let i = 0; i < 50 && (canvasPixels()[0] !== want[0] || canvasPixels()[1] !== want[1]); i++) await new Promise((r) => setTimeout(r, 100));
      await draw3d();
    }
    // Steps of an orbit while the view moves: motion frames, smaller and drawn scaled up.
    for (let i = 0; i < n; i++) {
      app.view.yaw_deg += 5;
      motionShare = await draw3d(true, MOTION_SCALE);
      if (lastTiming) motion.push(lastTiming);
    }
    // Back where the view was: the steps and checks below start from the framed view.
    app.view.yaw_deg -= 5 * n;
    for (let i = 0; i < n; i++) {
      app.view.yaw_deg += 5;
      await draw3d();
      if (lastTiming) timed.push(lastTiming);
    }
    // The same steps one at a time, each after the view has rested (a click on a compass button,
    // a key pressed once): the page has painted the last frame and the machine is idle when the
    // input comes, and a single input after rest gets the full frame at once (`requestFrame`).
    for (let i = 0; i < n; i++) {
      await new Promise((r) => setTimeout(r, REST_MS + 50));
      app.view.yaw_deg += 5;
      await draw3d();
      if (lastTiming) rested.push(lastTiming);
    }
    app.view.yaw_deg -= 5 * n;
    await draw3d(false);
  }
  const motionReport = { motion_frame_ms: part(motion, "total"), motion_render_ms: part(motion, "render"), motion_command_ms: part(motion, "command"),
    motion_transfer_ms: part(motion, "transfer"), motion_draw_ms: part(motion, "draw"), motion_width: motion[0]?.width ?? null, motion_height: motion[0]?.height ?? null,
    motion_drawn_share: motionShare,
    // The first of each kind follows a change of frame size (full → half → full).
    motion_first_ms: motion[0]?.total ?? null, frame_first_ms: timed[0]?.total ?? null,
    rested_frame_ms: part(rested, "total"), rested_render_ms: part(rested, "render"), rested_command_ms: part(rested, "command"), rested_transfer_ms: part(rested, "transfer"),
    rested_draw_ms: part(rested, "draw"), rested_decode_ms: part(rested, "decode"), motion_decode_ms: part(motion, "decode") };
  if (await invoke<string | null>("smoke_scenario") === "bench") return benchSmoke(n, timed, drawnShare, motionReport);
  let found: Record<string, unknown> | null = null;
  if (n && app.mode === "3d") {
    const hits = await search("东方医院");
    const before = JSON.stringify(app.view);
    if (hits.length) await flyTo(hits[0]);
    const [w, h] = canvasPixels();
    const c = await invoke<{ lon: number; lat: number } | null>("cursor_position", { x: w / 2, y: h / 2, width: w, height: h, view: app.view });
    found = { hits: hits.length, first: hits[0]?.value ?? null, layer: hits[0]?.layer_id ?? null, flew: JSON.stringify(app.view) !== before, red: redShare(), centre: c };
  }
  let measured: Record<string, unknown> | null = null;
  if (n && app.mode === "3d" && app.view) {
    const [w, h] = canvasPixels();
    const a = await invoke<{ x: number; y: number } | null>("cursor_position", { x: w * 0.3, y: h * 0.6, width: w, height: h, view: app.view });
    const b = await invoke<{ x: number; y: number } | null>("cursor_position", { x: w * 0.7, y: h * 0.6, width: w, height: h, view: app.view });
    const c = await invoke<{ x: number; y: number } | null>("cursor_position", { x: w * 0.5, y: h * 0.8, width: w, height: h, view: app.view });
    const ht = await invoke<{ height_m: number; fid: number } | null>("measure_height", { x: w / 2, y: h / 2, width: w, height: h, view: app.view });
    measured = a && b && c ? { a, b, c, distance: polyLength([[a.x, a.y], [b.x, b.y]]), area: polyArea([[a.x, a.y], [b.x, b.y], [c.x, c.y]]), height: ht,
      scale: $("scalebar-label").textContent } : null;
  }
  const exported = n && app.mode === "3d" ? { path: await exportView(), width: lastSize()[0], height: lastSize()[1] } : null;
  const table = n && app.mode === "3d" ? await tableSmoke(redShare, "buildings", "建筑现状", "height", "东方") : null;
  const violations = n && app.mode === "3d" ? await smokeFlow(redShare) : null;
  const command = n && app.mode === "3d" ? await commandSmoke(redShare) : null;
  let tree: Record<string, unknown> | null = null;
  const gbkPath = await invoke<string | null>("smoke_add_file");
  if (n && app.mode === "3d" && app.ws && gbkPath) {
    const before = app.ws.layers.length;
    const added = await addFile(gbkPath);
    const gbk = added.layers[added.layers.length - 1];
    const moved = await invoke<WorkspaceDto>("move_layer", { id: gbk.id, delta: -1 });
    await invoke("set_layer_opacity", { id: "buildings", opacity: 0.4 });
    const faded = await draw3d();
    await invoke("set_layer_opacity", { id: "buildings", opacity: 1 });
    const removed = await invoke<WorkspaceDto>("remove_layer", { id: gbk.id });
    app.ws = removed; buildTree();
    tree = { before, after_add: added.layers.length, added_title: gbk.title, added_features: gbk.features,
      moved_index: moved.layers.findIndex((l) => l.id === gbk.id), after_remove: removed.layers.length, faded };
  }
  let saved: Record<string, unknown> | null = null;
  if (n && app.mode === "3d" && app.ws && app.view) {
    await invoke("set_layer_visible", { id: "pois", visible: true });
    app.ws.layers.find((l) => l.id === "pois")!.visible = true;
    app.view.yaw_deg = 33;
    const before = JSON.stringify(app.view);
    const path = await saveWorkspace();
    app.view.yaw_deg = 0;
    const back = await openWorkspace(path);
    saved = { path, layers: back.layers.length, pois_visible: back.layers.find((l) => l.id === "pois")?.visible ?? null,
      view_restored: JSON.stringify(app.view) === before, recent: await invoke<string[]>("recent_workspaces"), drawn: await draw3d() };
  }
  // The bundled CJK font is there and draws the title's characters.
  const font = (await document.fonts.load("16px 'Noto Sans SC'", "经纬一张图")).length > 0 && document.fonts.check("16px 'Noto Sans SC'", "经纬一张图");
  // The 2D top-down app.mode: straight down, north up, and back to the oblique angles.
  let top: Record<string, unknown> | null = null;
  if (n && app.mode === "3d" && app.view) {
    const before = [app.view.pitch_deg, app.view.yaw_deg];
    setTopDown(true);
    const inTop = [app.view.pitch_deg, app.view.yaw_deg];
    const drawnTop = await draw3d();
    setTopDown(false);
    top = { in_top: inTop, back: JSON.stringify([app.view.pitch_deg, app.view.yaw_deg]) === JSON.stringify(before), drawn: drawnTop };
  }
  const landuseLegend = app.ws!.layers.find((l) => l.id === "landuse")?.legend.map(([label]) => label) ?? [];
  await invoke("smoke_ready", { report: { layers: app.ws!.layers.length, crs: app.ws!.crs, mode: app.mode, frame_drawn_share: drawnShare, font, landuse_legend: landuseLegend, top,
    frames_timed: timed.length, frame_ms: part(timed, "total"), render_ms: part(timed, "render"), readback_ms: part(timed, "readback"), command_ms: part(timed, "command"), transfer_ms: part(timed, "transfer"), draw_ms: part(timed, "draw"), decode_ms: part(timed, "decode"),
    width: lastTiming?.width, height: lastTiming?.height, ...motionReport, search: found, measured, exported, table, violations, command, tree, saved } });
}

/** The benchmark run (`JINGWEI_SMOKE_SCENARIO=bench`, `scripts/bench-app-start.sh` with a city):
 * the orbit steps already timed at the framed view, as many again ten times closer, and
 * identify at nine points of the canvas; then the report. */
async function benchSmoke(n: number, framed: FrameTiming[], drawnShare: number, motionReport: Record<string, number | null>) {
  const near: FrameTiming[] = [];
  if (app.view) {
    app.view.distance_m /= 10;
    for (let i = 0; i < n; i++) {
      app.view.yaw_deg += 5;
      await draw3d();
      if (lastTiming) near.push(lastTiming);
    }
  }
  const [w, h] = canvasPixels();
  const identify: number[] = [];
  let found = 0;
  for (const fx of [0.3, 0.5, 0.7]) {
    for (const fy of [0.4, 0.6, 0.8]) {
      const t0 = performance.now();
      const hits = await invoke<unknown[]>("identify", { x: w * fx, y: h * fy, width: w, height: h, view: app.view });
      identify.push(performance.now() - t0);
      if (hits.length) found++;
    }
  }
  await invoke("smoke_ready", { report: { scenario: "bench", layers: app.ws!.layers.length, features: app.ws!.layers.reduce((a, l) => a + l.features, 0), frame_drawn_share: drawnShare,
    width: lastTiming?.width, height: lastTiming?.height,
    frame_ms: part(framed, "total"), render_ms: part(framed, "render"), command_ms: part(framed, "command"), transfer_ms: part(framed, "transfer"), draw_ms: part(framed, "draw"), decode_ms: part(framed, "decode"),
    near_frame_ms: part(near, "total"), near_render_ms: part(near, "render"), near_command_ms: part(near, "command"), near_transfer_ms: part(near, "transfer"),
    identify_ms: median(identify), identify_max_ms: Math.max(...identify), identify_found: found, ...motionReport } });
}
