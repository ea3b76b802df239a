// Board labels in the page: the picker in the card dialog (put the board's
// labels on the card, take them off, make a new one) and the label manager
// from the board menu (rename, recolour, delete). Labels change only through
// the API; the page learns of every change, its own included, from the
// board's events (label.created/updated/deleted), which the model applies,
// so two people editing labels at once both see the outcome.

import { h, icon } from "./dom.js";
import { request, describe, newOpId } from "./api.js";
import { toast, announce, confirmDialog } from "./ui.js";
import { LABEL_COLORS, labelChip, cardLabels } from "./card-face.js";

const MAX_NAME = 40;

const labelsPath = (boardId) => `/api/boards/${encodeURIComponent(boardId)}/labels`;

export const labelAPI = {
  create: (boardId, body) => request("POST", labelsPath(boardId), { body, opId: newOpId() }),
  update: (boardId, id, patch, version) =>
    request("PATCH", `${labelsPath(boardId)}/${encodeURIComponent(id)}`, { body: patch, opId: newOpId(), ifMatch: version }),
  remove: (boardId, id, version) =>
    request("DELETE", `${labelsPath(boardId)}/${encodeURIComponent(id)}`, { opId: newOpId(), ifMatch: version }),
};

function colorSelect(value, ariaLabel, disabled) {
  return h("select", { class: "input input-sm label-color", "aria-label": ariaLabel, disabled },
    LABEL_COLORS.map((c) => h("option", { value: c, text: c, selected: c === value || null })));
}

// newLabelForm is a name field, a colour and a button; onCreate gets the
// created label.
function newLabelForm(page, idPrefix, onCreate) {
  const name = h("input", { class: "input input-sm", id: `${idPrefix}-name`, placeholder: "New label", maxlength: String(MAX_NAME), autocomplete: "off" });
  const color = colorSelect("green", "Colour of the new label", false);
  const err = h("p", { class: "form-error", role: "alert", hidden: true });
  const form = h("form", { class: "label-new" },
    h("label", { class: "sr-only", for: `${idPrefix}-name`, text: "Name of the new label" }),
    h("div", { class: "row" }, name, color, h("button", { type: "submit", class: "btn btn-sm", text: "Create" })), err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = name.value.trim();
    if (!v) { name.focus(); return; }
    err.hidden = true;
    try {
      const res = await labelAPI.create(page.boardId, { name: v, color: color.value });
      name.value = "";
      announce(`Created label ${v}`);
      onCreate && onCreate(res.data);
    } catch (ex) {
      err.textContent = ex.status === 409 && ex.problem.field === "name" ? `The board has a label called “${v}” already.` : describe(ex);
      err.hidden = false;
    }
  });
  return form;
}

// LabelPicker is the labels section of the card dialog.
export class LabelPicker {
  constructor(page, cardId) {
    this.page = page;
    this.cardId = cardId;
    this.chips = h("div", { class: "chips card-labels" });
    this.toggle = h("button", { type: "button", class: "btn btn-sm btn-ghost", "aria-expanded": "false" }, icon("plus"), h("span", { text: "Labels" }));
    this.options = h("div", { class: "label-options", role: "group", "aria-label": "The board's labels" });
    this.panel = h("div", { class: "label-panel", hidden: true }, this.options,
      newLabelForm(page, `cd-label-${cardId}`, (l) => this.setOn(l.id, true, l.name)),
      h("button", { type: "button", class: "btn btn-sm btn-ghost", text: "Manage labels…", on: { click: () => page.openLabels() } }));
    this.toggle.addEventListener("click", () => {
      this.panel.hidden = !this.panel.hidden;
      this.toggle.setAttribute("aria-expanded", String(!this.panel.hidden));
      if (!this.panel.hidden) this.fill();
    });
    this.el = h("div", { class: "cd-labels" }, this.chips, this.toggle, this.panel);
  }

  get card() { return this.page.model.card(this.cardId); }

  // setOn puts the label on the card (on) or takes it off.
  setOn(id, on, name) {
    const cur = (this.card && this.card.labels) || [];
    if (on === cur.includes(id)) return;
    const next = on ? [...cur, id] : cur.filter((x) => x !== id);
    this.page.patchCard(this.cardId, { labels: next }, `${on ? "Added" : "Removed"} label ${name}`);
  }

  fill() {
    const c = this.card;
    if (!c) return;
    const m = this.page.model;
    const ro = !this.page.canEdit();
    this.toggle.hidden = ro;
    const labels = cardLabels(c, m);
    this.chips.replaceChildren(...labels.map((l) => labelChip(l, ro ? null :
      h("button", { type: "button", class: "chip-x", "aria-label": `Remove label ${l.name}`, on: { click: () => this.setOn(l.id, false, l.name) } }, icon("x")))));
    if (!labels.length) this.chips.appendChild(h("span", { class: "muted small", text: "No labels" }));
    if (this.panel.hidden) return;
    const focused = document.activeElement && this.options.contains(document.activeElement) ? document.activeElement.dataset.label : null;
    const all = m.labelList();
    this.options.replaceChildren(...all.map((l) => {
      const id = `cd-opt-${this.cardId}-${l.id}`;
      const cb = h("input", { type: "checkbox", id, checked: (c.labels || []).includes(l.id), disabled: ro, "data-label": l.id });
      cb.addEventListener("change", () => this.setOn(l.id, cb.checked, l.name));
      return h("label", { class: "label-option", for: id }, cb, labelChip(l));
    }));
    if (!all.length) this.options.appendChild(h("p", { class: "muted small", text: "This board has no labels yet: create one." }));
    if (focused) { const again = this.options.querySelector(`input[data-label="${CSS.escape(focused)}"]`); again && again.focus(); }
  }
}

// LabelsDialog is the label manager: every label of the board, to rename,
// recolour or delete (deleting takes it off every card).
export class LabelsDialog {
  constructor(page, onClose) {
    this.page = page;
    this.onClose = onClose;
    this.list = h("ul", { class: "label-list" });
    const ro = !page.canEdit();
    const close = h("button", { type: "button", class: "btn", text: "Done", on: { click: () => this.close() } });
    this.dlg = h("dialog", { class: "modal labels-dialog", "aria-label": "Labels" },
      h("h2", { class: "modal-title", text: "Labels" }),
      h("p", { class: "muted small", text: ro ? "Viewers see the board's labels; editors change them." :
        "Renaming or recolouring a label changes it on every card; deleting it takes it off every card." }),
      this.list,
      ro ? null : newLabelForm(page, "lm", null),
      h("div", { class: "modal-actions" }, close));
    this.dlg.addEventListener("close", () => { this.dlg.remove(); this.onClose(); });
    this.render();
    document.body.appendChild(this.dlg);
    this.dlg.showModal();
    close.focus();
  }

  // render shows the model's labels, keeping the field being typed in. A
  // change of cards alone (the counts) waits while a field has the focus.
  render(change) {
    const m = this.page.model;
    const ro = !this.page.canEdit();
    const active = document.activeElement;
    if (change && !change.labels && !change.reset && active && this.list.contains(active)) return;
    const keep = active && this.list.contains(active) ? { id: active.closest("li").dataset.label, cls: active.className, value: active.value } : null;
    const counts = new Map();
    for (const id of m.allCardIds()) for (const l of (m.card(id) || {}).labels || []) counts.set(l, (counts.get(l) || 0) + 1);
    this.list.replaceChildren(...m.labelList().map((l) => {
      const name = h("input", { class: "input input-sm label-rename", value: l.name, maxlength: String(MAX_NAME), "aria-label": `Name of label ${l.name}`, readonly: ro || null });
      const save = () => {
        const v = name.value.trim();
        if (!v || v === l.name) { name.value = l.name; return; }
        this.change(l, { name: v }, `Renamed label to ${v}`);
      };
      // One save per edit: Enter ends it (as leaving the field does), and
      // the change event that follows saves.
      name.addEventListener("keydown", (e) => {
        if (e.key === "Enter") { e.preventDefault(); name.blur(); }
        if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); name.value = l.name; name.blur(); }
      });
      name.addEventListener("change", save);
      const color = colorSelect(l.color, `Colour of label ${l.name}`, ro);
      color.addEventListener("change", () => this.change(l, { color: color.value }, `Label ${l.name} is now ${color.value}`));
      const n = counts.get(l.id) || 0;
      const del = ro ? null : h("button", { type: "button", class: "icon-btn danger", "aria-label": `Delete label ${l.name}`, title: "Delete",
        on: { click: async () => {
          if (!(await confirmDialog("Delete label?", `“${l.name}” will be taken off ${n} card${n === 1 ? "" : "s"}.`, "Delete"))) return;
          try { await labelAPI.remove(this.page.boardId, l.id, l.version); announce(`Deleted label ${l.name}`); }
          catch (ex) { toast(describe(ex), "error", "Could not delete the label"); }
        } } }, icon("trash"));
      return h("li", { class: "label-row", "data-label": l.id }, labelChip(l), name, color,
        h("span", { class: "muted small label-uses", text: `${n} card${n === 1 ? "" : "s"}` }), del);
    }));
    if (!m.labels.size) this.list.appendChild(h("li", { class: "muted small", text: "No labels yet." }));
    if (keep) {
      const li = this.list.querySelector(`li[data-label="${CSS.escape(keep.id)}"]`);
      const el = li && li.querySelector(`.${keep.cls.split(" ").filter(Boolean).join(".")}`);
      if (el) { if (el.tagName === "INPUT") el.value = keep.value; el.focus(); }
    }
  }

  async change(l, patch, message) {
    try {
      await labelAPI.update(this.page.boardId, l.id, patch, l.version);
      announce(message);
    } catch (ex) {
      toast(ex.status === 412 ? "Someone else changed this label meanwhile: look again and retry." : describe(ex), "error", "Could not change the label");
      this.render();
    }
  }

  close() { if (this.dlg.open) this.dlg.close(); }
}
