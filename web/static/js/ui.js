// Shared pieces of the interface: toasts, confirmation dialogs, popup menus
// and the screen-reader announcer.

import { h, icon } from "./dom.js";

let toastBox = null;
let announcer = null;

function ensureRoots() {
  if (!toastBox) {
    toastBox = h("div", { class: "toasts", "aria-live": "polite", "aria-relevant": "additions" });
    document.body.appendChild(toastBox);
  }
  if (!announcer) {
    announcer = h("div", { class: "sr-only", "aria-live": "polite", id: "announcer" });
    document.body.appendChild(announcer);
  }
}

// toast shows a short message; kind "error" messages stay longer and are
// announced as alerts.
export function toast(message, kind = "info", title = "") {
  ensureRoots();
  const el = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("div", { class: "toast-body" },
      title ? h("strong", { class: "toast-title", text: title }) : null,
      h("span", { class: "toast-text", text: message })),
    h("button", { class: "icon-btn toast-close", type: "button", "aria-label": "Dismiss", on: { click: () => el.remove() } }, icon("x")));
  toastBox.appendChild(el);
  while (toastBox.children.length > 4) toastBox.firstChild.remove();
  setTimeout(() => el.remove(), kind === "error" ? 9000 : 3500);
  return el;
}

export function announce(text) {
  ensureRoots();
  announcer.textContent = "";
  // A fresh text node after a tick is announced even when it repeats.
  setTimeout(() => { announcer.textContent = text; }, 30);
}

// modal opens a <dialog> with a title, a body and buttons; it resolves to
// the value of the button pressed (or null when dismissed).
export function modal({ title, body, buttons, className = "" }) {
  return new Promise((resolve) => {
    const dlg = h("dialog", { class: `modal ${className}`.trim(), "aria-label": title });
    const form = h("form", { method: "dialog", class: "modal-form" },
      h("h2", { class: "modal-title", text: title }),
      h("div", { class: "modal-body" }, body),
      h("div", { class: "modal-actions" }, buttons.map((b) =>
        h("button", { type: "submit", value: b.value, class: `btn ${b.kind ? "btn-" + b.kind : ""}`, autofocus: b.autofocus || null, text: b.label }))));
    dlg.appendChild(form);
    dlg.addEventListener("close", () => {
      const v = dlg.returnValue;
      dlg.remove();
      resolve(v === "" || v === "cancel" ? null : v);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
  });
}

export async function confirmDialog(title, text, confirmLabel = "Delete", kind = "danger") {
  const v = await modal({
    title, body: h("p", { text }),
    buttons: [{ label: "Cancel", value: "cancel" }, { label: confirmLabel, value: "ok", kind, autofocus: true }],
  });
  return v === "ok";
}

// Popup menu, one at a time, anchored to a button. items: [{label, icon,
// action, danger, disabled, checked}] or "-" for a separator; an item with
// checked (true or false) is one choice of a group (menuitemradio).
let openMenu = null;

export function closeMenu() {
  if (openMenu) {
    const { el, anchor } = openMenu;
    openMenu = null;
    el.remove();
    anchor.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", onDocDown, true);
    return anchor;
  }
  return null;
}

function onDocDown(e) {
  if (openMenu && !openMenu.el.contains(e.target) && !openMenu.anchor.contains(e.target)) closeMenu();
}

export function showMenu(anchor, items, label = "Actions") {
  const wasSame = openMenu && openMenu.anchor === anchor;
  closeMenu();
  if (wasSame) return;
  const buttons = [];
  const el = h("div", { class: "menu", role: "menu", "aria-label": label });
  for (const it of items) {
    if (it === "-") { el.appendChild(h("div", { class: "menu-sep", role: "separator" })); continue; }
    const b = h("button", {
      type: "button", role: it.checked === undefined ? "menuitem" : "menuitemradio", "aria-checked": it.checked === undefined ? null : String(it.checked),
      class: `menu-item ${it.danger ? "danger" : ""}`, disabled: it.disabled, tabindex: "-1",
      on: { click: () => { const a = closeMenu(); it.action(); if (it.refocus !== false && a && document.contains(a) && document.activeElement === document.body) a.focus(); } },
    }, it.icon ? icon(it.icon) : h("span", { class: "icon" }), h("span", { text: it.label }));
    buttons.push(b);
    el.appendChild(b);
  }
  el.addEventListener("keydown", (e) => {
    const enabled = buttons.filter((b) => !b.disabled);
    const i = enabled.indexOf(document.activeElement);
    if (e.key === "ArrowDown") { e.preventDefault(); enabled[(i + 1) % enabled.length].focus(); }
    else if (e.key === "ArrowUp") { e.preventDefault(); enabled[(i - 1 + enabled.length) % enabled.length].focus(); }
    else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); const a = closeMenu(); a && a.focus(); }
    else if (e.key === "Tab") { closeMenu(); }
  });
  document.body.appendChild(el);
  anchor.setAttribute("aria-expanded", "true");
  openMenu = { el, anchor };
  // Position below the anchor, kept inside the viewport (CSSOM, allowed by the CSP).
  const r = anchor.getBoundingClientRect();
  const mw = el.offsetWidth, mh = el.offsetHeight;
  let left = Math.min(r.left, window.innerWidth - mw - 8);
  let top = r.bottom + 4;
  if (top + mh > window.innerHeight - 8) top = Math.max(8, r.top - mh - 4);
  el.style.left = `${Math.max(8, left)}px`;
  el.style.top = `${top}px`;
  document.addEventListener("pointerdown", onDocDown, true);
  const first = buttons.find((b) => !b.disabled);
  first && first.focus();
}

export function fmtDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  const dt = new Date(y, m - 1, d);
  const now = new Date();
  const opts = { month: "short", day: "numeric" };
  if (y !== now.getFullYear()) opts.year = "numeric";
  return dt.toLocaleDateString(undefined, opts);
}

export function dueState(iso, done) {
  if (!iso || done) return "";
  const [y, m, d] = iso.split("-").map(Number);
  const due = new Date(y, m - 1, d);
  const today = new Date(); today.setHours(0, 0, 0, 0);
  const diff = (due - today) / 86400000;
  if (diff < 0) return "overdue";
  if (diff <= 2) return "soon";
  return "";
}
