// The keyboard shortcuts, shown in the page: "?" anywhere (outside a text
// field) or the help button opens a dialog listing them. SHORTCUTS is the
// table of docs/guide.md#keyboard row for row (a browser test compares them):
// [where, keys, what it does], where "" continues the row above's place and
// `…` marks a key.

import { h, icon } from "./dom.js";
import { modal } from "./ui.js";

export const SHORTCUTS = [
  ["anywhere (outside a text field)", "`?`", "show these shortcuts"],
  ["the board", "`/` (or the \"Skip to cards\" link)", "focus the first card"],
  ["a focused card", "arrows", "focus the neighbouring card (up/down in the column, left/right across columns)"],
  ["", "Home / End", "focus the first / last card of the column"],
  ["", "Alt (or Ctrl) + ↑ / ↓", "move the card up / down"],
  ["", "Alt (or Ctrl) + ← / →", "move the card to the previous / next column"],
  ["", "Alt (or Ctrl) + Home / End", "move the card to the top / bottom of its column"],
  ["", "Enter or Space", "open the card"],
  ["", "F2 or `e`", "edit the title in place (Enter saves, Escape cancels)"],
  ["", "`m` (or the context-menu key)", "open the card's menu"],
  ["a column's name", "Enter or F2", "rename the column"],
  ["", "Alt (or Ctrl) + ← / →", "move the column"],
  ["the board's name", "Enter or F2", "rename the board"],
  ["\"Add a card\" field", "Enter / Escape", "add the card (and stay for the next) / close"],
  ["card description", "Ctrl+Enter", "save"],
  ["a checklist item's checkbox (card dialog)", "Alt + ↑ / ↓", "move the item (its ↑ / ↓ buttons and drag and drop do too)"],
  ["the comment box (card dialog)", "Ctrl+Enter", "send the comment"],
  ["while dragging", "Escape", "cancel the drag"],
  ["menus and dialogs", "arrows, Enter, Escape", "choose, confirm, close"],
];

// text renders a cell: `…` parts as <kbd>, the rest as text.
function cell(tag, s) {
  const el = h(tag, {});
  s.split("`").forEach((part, i) => { if (part) el.appendChild(i % 2 ? h("kbd", { text: part }) : document.createTextNode(part)); });
  return el;
}

let open = false;

// showShortcuts opens the dialog (once at a time).
export async function showShortcuts() {
  if (open) return;
  open = true;
  const table = h("table", { class: "shortcuts" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Where" }), h("th", { scope: "col", text: "Key" }), h("th", { scope: "col", text: "Does" }))),
    h("tbody", {}, SHORTCUTS.map(([where, key, does]) => h("tr", {}, cell("td", where), cell("td", key), cell("td", does)))));
  try {
    // The table scrolls on a short screen: a focusable region, so that the keyboard can scroll it.
    const region = h("div", { class: "shortcuts-scroll", tabindex: "0", role: "region", "aria-label": "Shortcuts" }, table);
    await modal({ title: "Keyboard shortcuts", body: [region, h("p", { class: "small", text: "On a Mac, ⌘ works where Ctrl does for moving cards." })],
      buttons: [{ label: "Close", value: "cancel", autofocus: true }], className: "modal-wide shortcuts-dialog" });
  } finally { open = false; }
}

// installShortcutsKey makes "?" open the dialog anywhere but in a text field
// or an open dialog.
export function installShortcutsKey() {
  document.addEventListener("keydown", (e) => {
    if (e.key !== "?" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    if (t.closest && t.closest("input, textarea, select, [contenteditable]")) return;
    if (document.querySelector("dialog[open]")) return;
    e.preventDefault();
    showShortcuts();
  });
}

// helpButton is the topbar's button that opens the dialog.
export function helpButton() {
  return h("button", { type: "button", class: "icon-btn help-btn hide-sm", "aria-label": "Keyboard shortcuts", title: "Keyboard shortcuts (?)",
    "aria-haspopup": "dialog", on: { click: () => showShortcuts() } }, icon("help"));
}
