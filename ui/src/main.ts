// The page's entry: the texts of both languages, the start (open the demo city, first 3D frame,
// else the 2D preview), and the wiring of the header, the panels and the map.
// Noto Sans SC (SIL OFL 1.1, ui/NotoSansSC-OFL.txt), bundled: Chinese text never depends on the
// fonts a workstation happens to have. The browser loads only the unicode ranges a page uses.
import "@fontsource/noto-sans-sc/400.css";
import { invoke } from "@tauri-apps/api/core";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { aboutTexts, showAbout } from "./about";
import { casesTexts, finishPolygon, initCases, mapClick, tool } from "./cases";
import { initShared, sharedTexts } from "./shared";
import { commandClick, commandTexts, initCommand } from "./command";
import { initWhatIf, whatIfClick } from "./whatif";
import { $, errorText } from "./dom";
import { search, showIdentify } from "./explore";
import { ensureData, render2d } from "./fallback2d";
import { t, toggleLang } from "./i18n";
import { initJob, jobTexts } from "./job";
import { initMeasure, measureClick, measureTexts } from "./measure";
import { app, showError, status } from "./state";
import { initTable, tableTexts } from "./table";
import { buildTree, clipClick } from "./tree";
import type { View, WorkspaceDto } from "./types";
import { canvas, canvasPixels, draw3d, exportView, initCamera, requestFrame } from "./view3d";
import { addFile, browse, openWorkspace, saveWorkspace, showOpen } from "./workspace";

function texts() {
  $("title").textContent = t("title");
  $("lang").textContent = t("lang");
  aboutTexts();
  ($("search") as HTMLInputElement).placeholder = t("search");
  $("export").textContent = t("export");
  $("add-go").textContent = t("add_data");
  $("add-browse").textContent = t("browse");
  $("view-top").textContent = app.topDown ? t("view_3d") : t("view_2d");
  jobTexts();
  ($("add-path") as HTMLInputElement).placeholder = t("add_path");
  $("ws-save").textContent = t("ws.save");
  $("ws-open").textContent = t("ws.open");
  $("ws-open-go").textContent = t("ws.open");
  ($("ws-path") as HTMLInputElement).placeholder = t("ws.path");
  $("notice").textContent = app.mode === "3d" ? t("hint3d") : t("fallback2d");
  status();
  buildTree();
  casesTexts();
  sharedTexts();
  commandTexts();
  tableTexts();
  measureTexts();
}

async function start() {
  texts();
  $("status").textContent = t("loading");
  try {
    const ws = await invoke<WorkspaceDto>("open_demo");
    app.ws = ws;
    $("attribution").textContent = ws.attribution[0] ?? "";
    texts();
    let drawnShare = 0;
    try {
      const [w, h] = canvasPixels();
      app.view = await invoke<View>("initial_view", { width: w, height: h });
      drawnShare = await draw3d();
    } catch (e) {
      console.error(e);
      app.mode = "2d";
      await Promise.all(ws.layers.map(ensureData));
      render2d();
      texts();
    }
    // The smoke test's script is a chunk of its own, loaded only when the smoke test asks.
    const { smokeFrames, runSmoke } = await import("./smoke");
    const n = await smokeFrames();
    if (n !== null) await runSmoke(n, drawnShare);
  } catch (e) {
    const s = $("status");
    s.textContent = errorText(e);
    s.className = "error";
  }
}

$("lang").addEventListener("click", () => { toggleLang(); texts(); });
$("about").addEventListener("click", () => showAbout().catch(showError));
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
$("export").addEventListener("click", () => exportView().catch(showError));
let searchTimer = 0;
$("search").addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  const q = (e.target as HTMLInputElement).value;
  searchTimer = window.setTimeout(() => search(q).catch((err) => console.error(err)), 200);
});
// A click that did not drag: a section line being drawn, the measuring tool, the violation panel's tools, the command
// panel's placing, else identify.
initCamera(async (x, y) => {
  if (!(await clipClick(x, y)) && !(await measureClick(x, y)) && !(await mapClick(x, y)) && !(await commandClick(x, y)) && !(await whatIfClick(x, y))) await showIdentify(x, y);
});
canvas.addEventListener("dblclick", () => { if (tool === "polygon" || tool === "redline") finishPolygon(); });
const hooks = {
  view: () => app.view,
  setView: (v: View) => { app.view = v; },
  pixels: canvasPixels,
  dpr: () => window.devicePixelRatio || 1,
  redraw: () => requestFrame(),

};
initCases(hooks);
initShared();
initTable(hooks);
initMeasure(hooks);
initCommand(hooks);
initWhatIf(hooks);
start();
