// The colour theme the person chose: "system" (follow the system's light or
// dark setting), "light" or "dark", kept in localStorage and applied to
// <html data-theme> (theme.js at the root applies it before the first paint).

const KEY = "corkboard-theme";
export const THEMES = [["system", "System theme"], ["light", "Light theme"], ["dark", "Dark theme"]];

export function getTheme() {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch { return "system"; }
}

export function setTheme(v) {
  if (v !== "light" && v !== "dark") v = "system";
  try {
    if (v === "system") localStorage.removeItem(KEY); else localStorage.setItem(KEY, v);
  } catch { /* storage blocked: this page only */ }
  if (v === "system") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.setAttribute("data-theme", v);
}
