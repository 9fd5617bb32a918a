// The About box (关于): version and commit, the libraries the app runs on (GDAL, PROJ, GEOS,
// SQLite, Bevy, Tauri, and the web view's engine), and the licences of the bundled data, fonts
// and the open workspace's layers — the answer of the `about` use case, as `jingwei about`
// prints it.
import { invoke } from "@tauri-apps/api/core";
import { $, esc } from "./dom";
import { t } from "./i18n";
import type { AboutDto } from "./types";

/** The web view's engine from its user agent (WebKitGTK on Linux). */
function webview(): string {
  const m = navigator.userAgent.match(/AppleWebKit\/([\d.]+)/);
  return m ? `WebKit ${m[1]}` : navigator.userAgent;
}

function rows(cells: string[][]): string {
  return cells.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("");
}

/** Fill and open the dialog. */
export async function showAbout(): Promise<void> {
  const a = await invoke<AboutDto>("about");
  const box = $("about-box");
  box.innerHTML = `<h2>${esc(a.product)} ${esc(a.version)}</h2>
    <p class="about-build">${esc(t("about.build"))}: <code>${esc(a.commit)}</code> (${esc(a.commit_date)}) · ${esc(a.target)}</p>
    <h3>${esc(t("about.components"))}</h3>
    <table class="about-table">${rows([...a.components.map((c) => [c.name, c.version, c.licence]), [t("about.webview"), webview(), "LGPL-2.1 / BSD"]])}</table>
    <h3>${esc(t("about.data"))}</h3>
    <table class="about-table">${rows(a.data.map((n) => [n.what, n.licence, n.source]))}</table>
    <p class="about-dir">${esc(t("about.licences"))}: <code>${esc(a.licence_dir)}</code></p>
    <button id="about-close" type="button">${esc(t("about.close"))}</button>`;
  $("about-close").addEventListener("click", () => (box as HTMLDialogElement).close());
  (box as HTMLDialogElement).showModal();
}

/** The header button's text. */
export function aboutTexts(): void {
  $("about").textContent = t("about");
}
