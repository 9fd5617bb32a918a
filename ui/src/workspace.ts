// Data and workspace files: add a file by path, from the add-data dialog or dropped on the
// window; save the workspace and open a saved one (recent files listed).
import { invoke } from "@tauri-apps/api/core";
import { $, esc } from "./dom";
import { data } from "./fallback2d";
import { t } from "./i18n";
import { runJob } from "./job";
import { app, showError, status } from "./state";
import { refreshWhilePending } from "./imagery";
import { adoptClip, buildTree } from "./tree";
import type { FolderEntry, OpenedDto, View, WorkspaceDto } from "./types";
import { canvasPixels, requestFrame } from "./view3d";

export async function addFile(path: string): Promise<WorkspaceDto> {
  app.ws = await runJob(`${t("loading_file")} ${path}`, () => invoke<WorkspaceDto>("add_file", { path }));
  buildTree();
  await requestFrame();
  refreshWhilePending().catch(showError);
  $("status").textContent = `${t("added")} ${path}`;
  return app.ws;
}

/** The add-data file dialog: folders and the datasets the core reads; a dataset is added on click. */
export async function browse(path: string | null) {
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

export async function saveWorkspace(path: string | null = null): Promise<string> {
  const p = await invoke<string>("workspace_save", { path, view: app.view });
  $("status").textContent = `${t("saved")} ${p}`;
  return p;
}

export async function openWorkspace(path: string): Promise<WorkspaceDto> {
  const o = await invoke<OpenedDto>("workspace_open", { path });
  app.ws = o.workspace;
  adoptClip(o.workspace.clip);
  data.clear();
  if (o.view) app.view = o.view;
  else { const [w, h] = canvasPixels(); app.view = await invoke<View>("initial_view", { width: w, height: h }); }
  buildTree();
  status();
  await requestFrame();
  $("status").textContent = `${t("opened")} ${o.path}`;
  return app.ws;
}

export async function showOpen() {
  const pane = $("ws-open-pane");
  pane.hidden = !pane.hidden;
  if (pane.hidden) return;
  const recent = await invoke<string[]>("recent_workspaces");
  $("ws-recent").innerHTML = recent.map((r, i) => `<li data-i="${i}">${esc(r)}</li>`).join("");
  $("ws-recent").querySelectorAll("li").forEach((li) => {
    (li as HTMLElement).onclick = () => { pane.hidden = true; openWorkspace(recent[Number((li as HTMLElement).dataset.i)]).catch(showError); };
  });
}

