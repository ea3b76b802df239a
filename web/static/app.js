// Corkboard's page: a small router over the log-in page, the list of
// boards, the live board and the account page. Plain ES modules, no build step.

import { api } from "./js/api.js";
import { h, clear } from "./js/dom.js";
import { renderAuth, renderBoards } from "./js/pages.js";
import { BoardPage } from "./js/board.js";
import { renderAccount } from "./js/account.js";
import { toast, closeMenu } from "./js/ui.js";
import { installShortcutsKey } from "./js/shortcuts.js";
import { forgetBoards, rememberMe, rememberedMe } from "./js/offline.js";

const root = document.getElementById("app");
let me = null;
let current = null;

const ctx = {
  get me() { return me; },
  navigate(path, replace = false) {
    if (replace) history.replaceState({}, "", path); else history.pushState({}, "", path);
    route();
  },
  loggedIn(user) {
    me = { id: user.id, username: user.username };
    rememberMe(me);
    const next = new URLSearchParams(location.search).get("next");
    ctx.navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", true);
  },
  async logout() {
    try { await api.logout(); } catch { /* the session may already be gone */ }
    me = null;
    rememberMe(null);
    forgetBoards();
    ctx.navigate("/login");
  },
  sessionEnded() {
    if (!me) return;
    me = null;
    rememberMe(null);
    toast("Your session ended: please log in again.", "error");
    const here = location.pathname;
    ctx.navigate(here.startsWith("/boards/") ? `/login?next=${encodeURIComponent(here)}` : "/login", true);
  },
};

async function route() {
  closeMenu();
  if (current) { current.destroy(); current = null; }
  const path = location.pathname;
  if (!me) {
    try {
      const res = await api.session();
      me = res.data.user;
      rememberMe(me);
    } catch (ex) {
      // Unreachable: a board opened before can be worked on (offline.js).
      if (ex.status === 0 && rememberedMe() && path.startsWith("/boards/")) me = rememberedMe();
      else {
        clear(root).appendChild(h("main", { class: "auth-page" }, h("div", { class: "auth-card" },
          h("h1", { text: "Corkboard is not reachable" }), h("p", { class: "muted", text: ex.message }),
          h("button", { type: "button", class: "btn btn-primary", text: "Try again", on: { click: route } }))));
        return;
      }
    }
  }
  if (!me) {
    if (path !== "/login" && path !== "/signup") {
      const next = path.startsWith("/boards/") ? `?next=${encodeURIComponent(path)}` : "";
      history.replaceState({}, "", "/login" + next);
    }
    current = renderAuth(root, location.pathname === "/signup" ? "signup" : "login", ctx);
    return;
  }
  const m = path.match(/^\/boards\/([0-9a-f-]{36})\/?$/);
  if (m) {
    const page = new BoardPage(root, m[1], ctx);
    current = page;
    page.start();
    return;
  }
  if (path === "/account") {
    current = renderAccount(root, ctx);
    return;
  }
  if (path !== "/") history.replaceState({}, "", "/");
  current = renderBoards(root, ctx);
}

// In-page links: <a data-nav href="/…">.
document.addEventListener("click", (e) => {
  const a = e.target.closest && e.target.closest("a[data-nav]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  ctx.navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);
window.addEventListener("corkboard:unauthenticated", () => ctx.sessionEnded());
installShortcutsKey();

route();
