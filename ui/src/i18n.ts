import zh from "./locales/zh-CN.json";
import en from "./locales/en.json";

export type Lang = "zh-CN" | "en";
const tables: Record<Lang, Record<string, string>> = { "zh-CN": zh, en };
let lang: Lang = (localStorage.getItem("jingwei.lang") as Lang) || "zh-CN";

/** The string for `key` in the current language (Simplified Chinese by default). */
export function t(key: string): string {
  return tables[lang][key] ?? tables["zh-CN"][key] ?? key;
}

export function currentLang(): Lang {
  return lang;
}

export function toggleLang(): Lang {
  lang = lang === "zh-CN" ? "en" : "zh-CN";
  localStorage.setItem("jingwei.lang", lang);
  document.documentElement.lang = lang;
  return lang;
}
