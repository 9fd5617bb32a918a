// Long jobs (loading a file, running the rules): a progress bar in the status bar, with a cancel
// button once the job has run for half a second. Progress comes as `job-progress` events.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { $ } from "./dom";
import { t } from "./i18n";

export function initJob() {
  $("job-cancel").addEventListener("click", () => invoke("cancel_job"));
  listen<[string, number, number]>("job-progress", (e) => {
    const [, done, total] = e.payload;
    const bar = $("job-progress") as HTMLProgressElement;
    if (total > 0) { bar.max = total; bar.value = Math.min(done, total); }
  });
}

export function jobTexts() {
  $("job-cancel").textContent = t("cancel");
}

/** Run `work` as a long job labelled `label`; the bar goes when it ends, however it ends. */
export async function runJob<T>(label: string, work: () => Promise<T>): Promise<T> {
  const bar = $("job-progress") as HTMLProgressElement;
  $("job-label").textContent = label;
  bar.removeAttribute("value");
  $("job").hidden = false;
  $("job-cancel").hidden = true;
  const show = window.setTimeout(() => { $("job-cancel").hidden = false; }, 500);
  try {
    return await work();
  } finally {
    clearTimeout(show);
    $("job").hidden = true;
  }
}
