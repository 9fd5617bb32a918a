// The shared store (共享库) in the violation panel: log in as one's store user, list the
// department's cases, open one, move it along the loop or reassign it carrying the version shown.
// Other users' changes arrive as `shared-changed` events (a batch, each id once): the rows are
// re-read, and an open case that someone else changed gets a banner — it is not swapped under
// the user. A change made on an old version is refused by the store; the dialog then shows the
// version the user saw beside the one the store has now, and who changed it when.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { $, esc, errorText } from "./dom";
import { t } from "./i18n";
import type { ChangeBatch, SharedCase, SharedDetail, SharedWrite, Whoami } from "./api.gen";

/** The case loop (jingwei_cases::Status::next; the store enforces it too). */
const NEXT: Record<string, string[]> = {
  pending: ["confirmed", "dismissed"],
  confirmed: ["rectifying", "closed", "dismissed"],
  rectifying: ["closed", "confirmed"],
  dismissed: ["closed", "pending"],
  closed: ["pending"],
};

let who: Whoami | null = null;
let rows: SharedCase[] = [];
/** The open case, as shown (its version is what a change carries). */
let shown: SharedDetail | null = null;

function say(msg: string, error = false) {
  const s = $("shared-msg");
  s.textContent = msg;
  s.className = error ? "error" : "";
}

export function initShared() {
  const url = $("shared-url") as HTMLInputElement;
  url.value = localStorage.getItem("jingwei.shared.url") ?? "";
  $("shared-connect").onclick = () => (who ? disconnect() : connect()).catch((e) => say(errorText(e), true));
  listen<ChangeBatch>("shared-changed", (e) => heard(e.payload).catch((err) => say(errorText(err), true)));
  sharedTexts();
}

export function sharedTexts() {
  $("shared-title").textContent = t("shared.title");
  ($("shared-url") as HTMLInputElement).placeholder = "postgresql://user@host:5432/db?sslrootcert=…&sslcert=…&sslkey=…";
  ($("shared-pw") as HTMLInputElement).placeholder = t("shared.password");
  ($("shared-key") as HTMLInputElement).placeholder = t("shared.data_key");
  $("shared-connect").textContent = who ? t("shared.disconnect") : t("shared.connect");
  renderWho();
  renderList();
  if (shown) renderDetail();
}

async function connect() {
  const url = ($("shared-url") as HTMLInputElement).value.trim();
  const password = ($("shared-pw") as HTMLInputElement).value;
  const dataKey = ($("shared-key") as HTMLInputElement).value.trim() || null;
  say(t("shared.connecting"));
  who = await invoke<Whoami>("shared_connect", { url, password, dataKey });
  ($("shared-pw") as HTMLInputElement).value = "";
  localStorage.setItem("jingwei.shared.url", url);
  say("");
  $("shared-connect").textContent = t("shared.disconnect");
  renderWho();
  await reload();
}

async function disconnect() {
  await invoke("shared_disconnect");
  who = null;
  rows = [];
  shown = null;
  $("shared-connect").textContent = t("shared.connect");
  renderWho();
  renderList();
  $("shared-detail").innerHTML = "";
}

async function reload() {
  rows = await invoke<SharedCase[]>("shared_list", { statuses: [] });
  renderList();
}

function renderWho() {
  $("shared-who").textContent = who ? `${who.store} · ${who.department ?? ""} · ${t(`role.${who.role}`)}` : "";
  $("shared-form").hidden = !!who;
}

function renderList() {
  $("shared-list").innerHTML = rows
    .map(
      (c) => `<li data-id="${c.id}" data-version="${c.version}"><button type="button" data-open="${c.id}">${esc(c.case_no)}</button>
        ${esc(c.title)} <span class="status s-${c.status}">${esc(t(`status.${c.status}`))}</span>
        <small>v${c.version} · ${esc(c.updated_by)}</small></li>`,
    )
    .join("");
  for (const b of $("shared-list").querySelectorAll<HTMLButtonElement>("button[data-open]")) {
    b.onclick = () => open(Number(b.dataset.open)).catch((e) => say(errorText(e), true));
  }
}

async function open(id: number) {
  shown = await invoke<SharedDetail>("shared_detail", { id });
  renderDetail();
}

function renderDetail() {
  const d = $("shared-detail");
  if (!shown) {
    d.innerHTML = "";
    return;
  }
  const c = shown.case;
  const steps = (NEXT[c.status] ?? [])
    .map((s) => `<button type="button" data-step="${s}">${esc(t(`status.${s}`))}</button>`)
    .join("");
  d.innerHTML = `<h4>${esc(c.case_no)} ${esc(c.title)}</h4>
    <div id="shared-changed-banner" class="banner" hidden></div>
    <dl>
      <dt>${esc(t("shared.status"))}</dt><dd id="shared-status" data-status="${c.status}">${esc(t(`status.${c.status}`))}</dd>
      <dt>${esc(t("shared.assignee"))}</dt><dd>${esc(c.assignee ?? "—")}</dd>
      <dt>${esc(t("shared.version"))}</dt><dd id="shared-version">${c.version}</dd>
      <dt>${esc(t("shared.updated"))}</dt><dd>${esc(c.updated_by)} · ${esc(c.updated_at)}</dd>
    </dl>
    <input id="shared-comment" placeholder="${esc(t("cases.comment"))}">
    <div class="steps">${steps}</div>
    <div><input id="shared-assignee" placeholder="${esc(t("shared.assignee"))}"><button type="button" id="shared-assign">${esc(t("shared.assign"))}</button></div>
    <ol class="notes">${shown.notes.map((n) => `<li>${esc(n.actor)} · ${esc(n.at)}：${esc(n.text)}</li>`).join("")}</ol>`;
  for (const b of d.querySelectorAll<HTMLButtonElement>("button[data-step]")) {
    b.onclick = () => change({ status: b.dataset.step! }).catch((e) => say(errorText(e), true));
  }
  $("shared-assign").onclick = () =>
    change({ assignee: ($("shared-assignee") as HTMLInputElement).value }).catch((e) => say(errorText(e), true));
}

async function change(what: { status?: string; assignee?: string }) {
  if (!shown) return;
  const comment = ($("shared-comment") as HTMLInputElement).value.trim() || undefined;
  const w = await invoke<SharedWrite>("shared_change", {
    input: { id: shown.case.id, version: shown.case.version, ...what, comment },
  });
  if (w.outcome === "saved") {
    say(t("shared.saved"));
    await open(w.case.id);
    put([w.case]);
  } else {
    staleDialog(w);
  }
}

/** Both versions side by side; "reload" shows the store's. */
function staleDialog(w: Extract<SharedWrite, { outcome: "stale" }>) {
  const box = $("stale-box") as HTMLDialogElement;
  const col = (title: string, c: SharedCase | null, cls: string) =>
    c
      ? `<section class="${cls}"><h4>${esc(title)}</h4><dl>
          <dt>${esc(t("shared.version"))}</dt><dd class="v">${c.version}</dd>
          <dt>${esc(t("shared.status"))}</dt><dd class="st">${esc(t(`status.${c.status}`))}</dd>
          <dt>${esc(t("shared.assignee"))}</dt><dd>${esc(c.assignee ?? "—")}</dd>
          <dt>${esc(t("shared.updated"))}</dt><dd class="by">${esc(c.updated_by)} · ${esc(c.updated_at)}</dd></dl></section>`
      : `<section class="${cls}"><h4>${esc(title)}</h4><p>—</p></section>`;
  box.innerHTML = `<h3>${esc(t("shared.stale_title"))}</h3>
    <p>${esc(t("shared.stale_text").replace("{who}", w.theirs.updated_by).replace("{at}", w.theirs.updated_at))}</p>
    <p class="tried">${esc(t("shared.tried"))}：${esc(w.tried)}</p>
    <div class="both">${col(t("shared.yours"), w.yours, "yours")}${col(t("shared.theirs"), w.theirs, "theirs")}</div>
    <div class="actions"><button type="button" id="stale-reload">${esc(t("shared.reload"))}</button>
    <button type="button" id="stale-close">${esc(t("close"))}</button></div>`;
  $("stale-reload").onclick = () => {
    box.close();
    open(w.theirs.id).catch((e) => say(errorText(e), true));
  };
  $("stale-close").onclick = () => box.close();
  put([w.theirs]);
  box.showModal();
}

/** Rows re-read: replace those there, add new ones on top, flash them. */
function put(cases: SharedCase[]) {
  for (const c of cases) {
    const i = rows.findIndex((r) => r.id === c.id);
    if (i >= 0) rows[i] = c;
    else rows.unshift(c);
  }
  renderList();
  for (const c of cases) $("shared-list").querySelector(`li[data-id="${c.id}"]`)?.classList.add("changed");
}

async function heard(b: ChangeBatch) {
  if (!who) return;
  if (b.resync) {
    await reload();
    return;
  }
  if (b.cases.length === 0) return;
  const fresh = await invoke<SharedCase[]>("shared_cases", { ids: b.cases });
  put(fresh);
  const mine = shown && fresh.find((c) => c.id === shown!.case.id);
  if (mine && shown && mine.version !== shown.case.version) {
    const banner = document.getElementById("shared-changed-banner");
    if (banner) {
      banner.hidden = false;
      banner.dataset.version = String(mine.version);
      banner.innerHTML = `${esc(t("shared.changed_by").replace("{who}", mine.updated_by).replace("{v}", String(mine.version)))}
        <button type="button" id="shared-refresh">${esc(t("shared.reload"))}</button>`;
      $("shared-refresh").onclick = () => open(mine.id).catch((e) => say(errorText(e), true));
    }
  }
}
