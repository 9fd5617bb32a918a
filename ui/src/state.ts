// What the page holds: the open workspace as the tree shows it, the 3D view, the drawing mode,
// and the status bar that reports them.
import { $, errorText } from "./dom";
import { t } from "./i18n";
import type { View, WorkspaceDto } from "./types";

export const app = {
  ws: null as WorkspaceDto | null,
  view: null as View | null,
  /** 3D frames from Rust, or the 2D preview when no 3D device is available. */
  mode: "3d" as "3d" | "2d",
  /** The top-down 2D mode of the 3D view, and the angles it was entered from. */
  topDown: false,
  obliqueAngles: [45, 20] as [number, number],
  /** The last frame's timing line. */
  lastFrame: "",
};

/** The status bar: the workspace CRS and the last frame's timing. */
export function status() {
  if (app.ws) $("status").textContent = `${t("crs")}: ${app.ws.crs} — ${app.ws.crs_name}${app.lastFrame ? "　" + app.lastFrame : ""}`;
}

/** A failed command in the status bar. */
export function showError(e: unknown) {
  const s = $("status");
  s.textContent = errorText(e);
  s.className = "error";
}
