// The page's small helpers, in one place: element lookup, HTML escaping, and the text of a failed
// command (the application API answers `{kind, message}`).
import { t } from "./i18n";

/** The element with this id (the page's ids are fixed in index.html). */
export const $ = (id: string) => document.getElementById(id)!;

/** Text for HTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** The API's error as the page receives it. */
export interface ApiError { kind: string; message: string }

function isApiError(e: unknown): e is ApiError {
  return typeof e === "object" && e !== null && "kind" in e && "message" in e;
}

/** The message of a failed command, whatever shape it came in. */
export function message(e: unknown): string {
  if (isApiError(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Whether the failure was a cancelled job. */
export function cancelled(e: unknown): boolean {
  return (isApiError(e) && e.kind === "cancelled") || message(e).endsWith("cancelled");
}

/** The readable text of a failed command: a cancelled job says so in the user's language. */
export function errorText(e: unknown): string {
  return cancelled(e) ? t("cancelled") : `${t("error")}: ${message(e)}`;
}
