// Imagery and basemaps: the imagery layers (orthophotos, packages, map services) under the
// vector layers, each with visibility, opacity, order, health and hints; a basemap switcher
// (none, or one of them alone); and "add service" (WMTS / WMS / XYZ URL and key → its layers
// → add). While a scene's tiles are still coming, the view is drawn again as they arrive.
import { invoke } from "@tauri-apps/api/core";
import { $, esc } from "./dom";
import { currentLang, t } from "./i18n";
import { app, showError } from "./state";
import type { ImageryDto, LegendDto, WorkspaceDto } from "./types";
import { canvas, requestFrame } from "./view3d";

let refreshing = false;
// The renderer says sharper imagery is coming for the view (a detail drape asked for at rest).
canvas.addEventListener("imagery-pending", () => { refreshWhilePending().catch(showError); });

/** Draw again while imagery tiles are still arriving (a sharper frame each time). */
export async function refreshWhilePending() {
  if (refreshing) return;
  refreshing = true;
  try {
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 400));
      await requestFrame();
      if (!(await invoke<boolean>("imagery_pending"))) break;
    }
    await buildImagery();
  } finally {
    refreshing = false;
  }
}

/** Show or hide a layer's legend: a file's classes or bands, a service's picture or symbols. */
async function toggleLegend(box: HTMLElement, id: string) {
  if (!box.hidden) { box.hidden = true; openLegends.delete(id); return; }
  box.hidden = false;
  openLegends.add(id);
  box.textContent = t("service.reading");
  try {
    const lg = await invoke<LegendDto>("imagery_legend", { id });
    const items = lg.items.map((i) => `<div class="item">${i.icon
      ? `<img src="${esc(i.icon)}" alt="">`
      : `<span class="sw" style="background:${esc(i.color ?? "transparent")}"></span>`}${esc(i.label)}</div>`).join("");
    const img = lg.image ? `<img class="pic" src="${esc(lg.image)}" alt="${esc(t("imagery.legend"))}">` : "";
    box.innerHTML = items + img + (lg.error ? `<div class="hint">${esc(lg.error)}</div>` : "")
      || `<span class="muted">${t("imagery.no_legend")}</span>`;
  } catch (e) { box.textContent = String((e as { message?: string }).message ?? e); }
}

function healthText(l: ImageryDto): string {
  const h = l.health;
  if (!l.open) return `${t("imagery.closed")}: ${l.detail}`;
  const parts = [l.detail, `${t("imagery.tiles")} ${h.tiles}`];
  if (h.failed) parts.push(`${t("imagery.failed")} ${h.failed}: ${h.last_error ?? ""}`);
  return parts.join(" · ");
}

/** Legends the user opened (kept open when the list is drawn again). */
const openLegends = new Set<string>();

/** The section's fixed parts, made once: the basemap switcher, the list, the "add service"
 * form (so that redrawing the list while tiles arrive never loses what the user typed). */
function skeleton(box: HTMLElement) {
  box.innerHTML = `<strong>${t("imagery.title")}</strong>
    <label class="basemap">${t("imagery.basemap")} <select id="basemap"></select></label>
    <ul id="imagery-list"></ul>
    <details id="service-add"><summary>${t("service.add")}</summary>
      <select id="svc-kind"><option value="wmts">WMTS</option><option value="wms">WMS</option><option value="xyz">XYZ</option><option value="tms">TMS</option><option value="arcgis">ArcGIS REST</option></select>
      <input id="svc-url" type="text" placeholder="${t("service.url")}">
      <input id="svc-key" type="text" placeholder="${t("service.key")}" autocomplete="off">
      <button id="svc-list" type="button">${t("service.list")}</button>
      <select id="svc-layer" hidden></select>
      <button id="svc-go" type="button" hidden>${t("service.add_layer")}</button>
      <div id="svc-msg" class="msg"></div>
    </details>`;
  const spec = () => {
    const key = ($("svc-key") as HTMLInputElement).value.trim();
    const kind = ($("svc-kind") as HTMLSelectElement).value;
    return {
      kind,
      url: ($("svc-url") as HTMLInputElement).value.trim(),
      layer: ($("svc-layer") as HTMLSelectElement).value || null,
      // 天地图 takes its key as tk, ArcGIS as token.
      params: key ? [[kind === "arcgis" ? "token" : "tk", key]] : [],
    };
  };
  ($("svc-list") as HTMLButtonElement).onclick = async () => {
    $("svc-msg").textContent = t("service.reading");
    try {
      const s = spec();
      s.layer = null;
      const found = await invoke<[string, string][]>("service_layers", { spec: s });
      const sel = $("svc-layer") as HTMLSelectElement;
      sel.innerHTML = found.map(([id, title]) => `<option value="${esc(id)}">${esc(title || id)}</option>`).join("");
      sel.hidden = false; ($("svc-go") as HTMLButtonElement).hidden = false;
      $("svc-msg").textContent = `${found.length} ${t("service.layers_found")}`;
    } catch (e) { $("svc-msg").textContent = String((e as { message?: string }).message ?? e); }
  };
  ($("svc-go") as HTMLButtonElement).onclick = async () => {
    $("svc-msg").textContent = t("service.reading");
    try {
      app.ws = await invoke<WorkspaceDto>("add_service", { spec: spec() });
      $("status").textContent = `${t("service.added")} ${spec().layer ?? ""}`;
      $("svc-msg").textContent = "";
      await afterChange();
    } catch (e) { $("svc-msg").textContent = String((e as { message?: string }).message ?? e); }
  };
}

/** The imagery section of the layer panel. */
export async function buildImagery() {
  const box = $("imagery");
  if (!app.ws) { box.innerHTML = ""; delete box.dataset.lang; return; }
  const layers = await invoke<ImageryDto[]>("imagery_list").catch(() => app.ws?.imagery ?? []);
  // (Made again only when the language changed.)
  if (!document.getElementById("service-add") || box.dataset.lang !== currentLang()) {
    skeleton(box);
    box.dataset.lang = currentLang();
  }
  const basemap = layers.filter((l) => l.visible).length === 1 ? layers.find((l) => l.visible)?.id ?? "" : "";
  const pick = $("basemap") as HTMLSelectElement;
  pick.innerHTML = `<option value="">${t("imagery.none")}</option>${layers
    .map((l) => `<option value="${esc(l.id)}"${l.id === basemap ? " selected" : ""}>${esc(l.title)}</option>`).join("")}`;
  pick.onchange = async () => {
    for (const l of layers) await invoke("set_layer_visible", { id: l.id, visible: pick.value !== "" && l.id === pick.value });
    await afterChange();
  };
  const ul = $("imagery-list");
  ul.innerHTML = "";
  for (const l of layers.slice().reverse()) {
    const li = document.createElement("li");
    li.className = l.open ? (l.health.failed ? "warn" : "") : "closed";
    li.title = healthText(l);
    li.innerHTML = `<label><input type="checkbox" ${l.visible ? "checked" : ""} ${l.open ? "" : "disabled"}> ${esc(l.title)} <span class="tag">${esc(l.kind.toUpperCase())}</span></label>
      <div class="row2"><input type="range" min="0" max="100" value="${Math.round(l.opacity * 100)}" title="${t("opacity")}">
      <button type="button" data-a="up" title="${t("move_up")}">↑</button><button type="button" data-a="down" title="${t("move_down")}">↓</button>
      <button type="button" data-a="legend" title="${t("imagery.legend")}">${t("imagery.legend")}</button>
      <button type="button" data-a="rm" title="${t("remove")}">✕</button></div>
      <div class="legend" hidden></div>
      ${l.hint ? `<div class="hint">${esc(l.hint)}</div>` : ""}${l.health.failed || !l.open ? `<div class="hint">${esc(healthText(l))}</div>` : ""}`;
    const cb = li.querySelector("input[type=checkbox]") as HTMLInputElement;
    cb.onchange = () => invoke("set_layer_visible", { id: l.id, visible: cb.checked }).then(afterChange).catch(showError);
    const op = li.querySelector("input[type=range]") as HTMLInputElement;
    op.oninput = () => { invoke("set_layer_opacity", { id: l.id, opacity: Number(op.value) / 100 }).then(() => requestFrame()).catch(showError); };
    const legend = li.querySelector(".legend") as HTMLElement;
    li.querySelectorAll("button").forEach((b) => {
      (b as HTMLButtonElement).onclick = async () => {
        const a = (b as HTMLElement).dataset.a;
        if (a === "legend") { await toggleLegend(legend, l.id); return; }
        if (a === "rm") app.ws = await invoke<WorkspaceDto>("remove_layer", { id: l.id });
        else app.ws = await invoke<WorkspaceDto>("move_layer", { id: l.id, delta: a === "up" ? 1 : -1 });
        await afterChange();
      };
    });
    ul.appendChild(li);
    if (openLegends.has(l.id)) toggleLegend(legend, l.id).catch(showError);
  }
}

async function afterChange() {
  await buildImagery();
  await requestFrame();
  refreshWhilePending().catch(showError);
}
