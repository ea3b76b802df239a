// The pages around the board: log in / sign up, and the list of boards.

import { h, icon, avatar, clear } from "./dom.js";
import { api, describe, newOpId } from "./api.js";
import { toast, confirmDialog, showMenu } from "./ui.js";
import { helpButton } from "./shortcuts.js";
import { THEMES, getTheme, setTheme } from "./theme.js";
import { searchBox } from "./filter.js";
import { bell, onUserFrame } from "./notifications.js";

export function topbar(ctx, middle = [], right = []) {
  // Named by its content (the visible name inside the accessible one).
  const av = avatar(ctx.me.username, "avatar-sm");
  av.setAttribute("aria-hidden", "true");
  const userBtn = h("button", { type: "button", class: "user-chip", "aria-haspopup": "menu" },
    h("span", { class: "sr-only", text: "Account menu: " }), av, h("span", { class: "user-name", text: ctx.me.username }));
  userBtn.addEventListener("click", () => showMenu(userBtn, [
    { label: `Signed in as ${ctx.me.username}`, disabled: true },
    "-",
    { label: "Your boards", icon: "board", action: () => ctx.navigate("/") },
    { label: "Account", icon: "users", action: () => ctx.navigate("/account") },
    "-",
    ...THEMES.map(([v, label]) => ({ label, icon: getTheme() === v ? "check" : null, checked: getTheme() === v, action: () => setTheme(v) })),
    "-",
    { label: "Log out", icon: "back", action: () => ctx.logout() },
  ], "Account"));
  return h("header", { class: "topbar" },
    h("a", { href: "/", class: "brand", "data-nav": "", "aria-label": "Corkboard: your boards" },
      h("span", { class: "brand-mark" }, icon("board")), h("span", { class: "brand-name", text: "Corkboard" })),
    h("div", { class: "topbar-middle" }, middle),
    h("div", { class: "topbar-right" }, right, helpButton(), bell(ctx), userBtn));
}

// Log in and sign up.
export function renderAuth(root, mode, ctx) {
  const signup = mode === "signup";
  const err = h("p", { class: "form-error", role: "alert", hidden: true });
  const user = h("input", { name: "username", id: "auth-username", autocomplete: "username", required: true, minlength: "3", maxlength: "32",
    autocapitalize: "none", spellcheck: "false" });
  const pass = h("input", { name: "password", id: "auth-password", type: "password", required: true, minlength: signup ? "8" : null,
    autocomplete: signup ? "new-password" : "current-password" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", text: signup ? "Create account" : "Log in" });
  const form = h("form", { class: "auth-form", novalidate: true },
    h("label", { for: "auth-username", text: "Username" }), user,
    signup ? h("p", { class: "hint", text: "3–32 characters: a–z, 0–9, dot, dash or underscore." }) : null,
    h("label", { for: "auth-password", text: "Password" }), pass,
    signup ? h("p", { class: "hint", text: "At least 8 characters." }) : null,
    err, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.hidden = true;
    submit.disabled = true;
    try {
      const res = signup ? await api.signup(user.value.trim(), pass.value) : await api.login(user.value.trim(), pass.value);
      ctx.loggedIn(res.data);
    } catch (ex) {
      err.textContent = describe(ex);
      err.hidden = false;
      submit.disabled = false;
      (signup ? user : pass).focus();
    }
  });
  clear(root).appendChild(h("main", { class: "auth-page" },
    h("div", { class: "auth-card" },
      h("div", { class: "auth-brand" }, h("span", { class: "brand-mark brand-mark-lg" }, icon("board")), h("span", { text: "Corkboard" })),
      h("h1", { text: signup ? "Create your account" : "Welcome back" }),
      h("p", { class: "muted", text: signup ? "Plan together, in real time." : "Log in to your boards." }),
      form,
      h("p", { class: "auth-switch" }, signup ? "Already have an account? " : "New to Corkboard? ",
        h("a", { href: signup ? "/login" : "/signup", "data-nav": "", text: signup ? "Log in" : "Create an account" })))));
  document.title = signup ? "Sign up · Corkboard" : "Log in · Corkboard";
  user.focus();
  return { destroy() {} };
}

// The list of the person's boards.
export function renderBoards(root, ctx) {
  let alive = true;
  const grid = h("ul", { class: "board-grid", "aria-label": "Your boards" });
  const status = h("p", { class: "muted", text: "Loading boards…" });
  const nameIn = h("input", { id: "new-board-name", placeholder: "Name of a new board", maxlength: "200", "aria-label": "New board name", required: true });
  const create = h("form", { class: "new-board" }, nameIn,
    h("button", { type: "submit", class: "btn btn-primary" }, icon("plus"), h("span", { text: "Create board" })));
  create.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = nameIn.value.trim();
    if (!name) { nameIn.focus(); return; }
    try {
      const res = await api.createBoard(name, newOpId());
      nameIn.value = "";
      const b = res.data;
      // A new board starts with three columns, like most people's.
      for (const col of ["To do", "Doing", "Done"]) await api.createColumn(b.id, { name: col }, newOpId());
      ctx.navigate(`/boards/${b.id}`);
    } catch (ex) { toast(describe(ex), "error", "Could not create the board"); }
  });

  // Import: a Corkboard export or a Trello board export (JSON), read in the
  // browser and sent as it is; the server checks it and names any problem.
  const fileIn = h("input", { type: "file", accept: "application/json,.json", class: "sr-only", id: "import-file", tabindex: "-1",
    "aria-label": "Board file to import" });
  const importBtn = h("button", { type: "button", class: "btn btn-ghost" }, icon("upload"), h("span", { text: "Import board" }));
  importBtn.title = "Import a Corkboard export or a Trello board export (JSON)";
  importBtn.addEventListener("click", () => fileIn.click());
  fileIn.addEventListener("change", async () => {
    const f = fileIn.files && fileIn.files[0];
    fileIn.value = "";
    if (!f) return;
    if (f.size > 32 * 1024 * 1024) { toast("The file is over 32 MiB.", "error", "Could not import the board"); return; }
    importBtn.disabled = true;
    try {
      const res = await api.importBoard(await f.text(), newOpId());
      toast(`Imported “${res.data.name}”`);
      ctx.navigate(`/boards/${res.data.id}`);
    } catch (ex) { toast(describe(ex), "error", "Could not import the board"); }
    finally { importBtn.disabled = false; }
  });

  function tile(b) {
    const name = h("span", { class: "tile-name", text: b.name });
    const link = h("a", { href: `/boards/${b.id}`, "data-nav": "", class: "tile-link" },
      name,
      b.description ? h("span", { class: "tile-desc", text: b.description }) : null,
      h("span", { class: "tile-meta" },
        h("span", { class: `role role-${b.role || "viewer"}`, text: b.role || "member" }),
        b.owner_username ? h("span", { text: `by ${b.owner_username}` }) : null));
    const li = h("li", { class: "board-tile", "data-id": b.id }, link);
    if (b.role === "owner" || b.role === "editor") {
      const more = h("button", { type: "button", class: "icon-btn tile-more", "aria-label": `Actions for board ${b.name}`, "aria-haspopup": "menu" }, icon("more"));
      more.addEventListener("click", () => showMenu(more, [
        { label: "Rename", icon: "edit", action: () => rename(b, li, name) },
        ...(b.role === "owner" ? [{ label: "Delete board", icon: "trash", danger: true, action: () => remove(b, li) }] : []),
      ], "Board actions"));
      li.appendChild(more);
    }
    return li;
  }

  function rename(b, li, nameEl) {
    const input = h("input", { class: "tile-rename", value: b.name, maxlength: "200", "aria-label": "Board name" });
    nameEl.replaceWith(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const v = input.value.trim();
      input.replaceWith(nameEl);
      if (!save || !v || v === b.name) return;
      const old = b.name;
      nameEl.textContent = v;
      try { const res = await api.updateBoard(b.id, { name: v }, newOpId()); b.name = res.data.name; }
      catch (ex) { nameEl.textContent = old; toast(describe(ex), "error", "Could not rename the board"); }
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      if (e.key === "Escape") { e.preventDefault(); finish(false); }
    });
    input.addEventListener("click", (e) => e.preventDefault());
    input.addEventListener("blur", () => finish(true));
  }

  async function remove(b, li) {
    if (!(await confirmDialog("Delete board?", `“${b.name}” and all its columns and cards will be deleted for everyone. This cannot be undone.`, "Delete board"))) return;
    li.classList.add("is-pending");
    try { await api.deleteBoard(b.id, newOpId()); li.remove(); toast(`Deleted “${b.name}”`); }
    catch (ex) { li.classList.remove("is-pending"); toast(describe(ex), "error", "Could not delete the board"); }
    if (!grid.children.length) status.textContent = "No boards yet: create the first one above.", status.hidden = false;
  }

  clear(root).appendChild(h("div", { class: "page" },
    topbar(ctx),
    h("main", { class: "boards-page" },
      h("div", { class: "page-head" }, h("div", {}, h("h1", { text: "Your boards" }),
        h("p", { class: "muted", text: "Boards you own or were invited to." })), h("div", { class: "row wrap" }, create, importBtn, fileIn)),
      searchBox(ctx),
      status, grid)));
  document.title = "Boards · Corkboard";

  // The list follows the person's stream: a board shared with them appears,
  // one they lost disappears, a rename shows (notifications.js).
  let loads = 0;
  const load = () => {
    const n = ++loads;
    api.boards().then((res) => {
      if (!alive || n !== loads) return;
      if (grid.querySelector(".tile-rename")) { setTimeout(load, 500); return; } // not under a rename
      const boards = res.data.boards || [];
      boards.sort((a, b) => (b.updated_at || "").localeCompare(a.updated_at || ""));
      clear(grid);
      for (const b of boards) grid.appendChild(tile(b));
      status.hidden = boards.length > 0;
      status.textContent = "No boards yet: create the first one above.";
    }, (ex) => { if (alive) status.textContent = describe(ex); });
  };
  load();
  const off = onUserFrame((f) => {
    if (f.kind === "board.removed" || f.kind === "board.deleted") {
      const li = grid.querySelector(`.board-tile[data-id="${CSS.escape(f.board || "")}"]`);
      if (li) li.remove();
    }
    if (f.kind === "resync" || (f.kind || "").startsWith("board.")) load();
  });
  return { destroy() { alive = false; off(); } };
}
