// Finding things: search any text attribute and fly to a hit; identify what is under a click.
import { invoke } from "@tauri-apps/api/core";
import { $, esc } from "./dom";
import { t } from "./i18n";
import { app } from "./state";
import type { Identified, SearchHit, View } from "./types";
import { canvasPixels, requestFrame } from "./view3d";

export async function search(q: string): Promise<SearchHit[]> {
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

export async function flyTo(h: SearchHit) {
  const [w, hgt] = canvasPixels();
  app.view = await invoke<View>("fly_to_feature", { layerId: h.layer_id, fid: h.fid, width: w, height: hgt, current: app.view });
  await requestFrame();
  return app.view;
}

export async function showIdentify(x: number, y: number) {
  if (!app.view) return;
  const dpr = window.devicePixelRatio || 1;
  const [w, h] = canvasPixels();
  const hits = await invoke<Identified[]>("identify", { x: x * dpr, y: y * dpr, width: w, height: h, view: app.view });
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

