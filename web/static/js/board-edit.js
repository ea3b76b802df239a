// The board page's editors in place: a card's title, a column's name, the
// board's name, and the composer of new cards. Mixed into BoardPage
// (board.js); `this` is the page.

import { api } from "./api.js";
import { h } from "./dom.js";

export const boardEdits = {
  editTitleInline(id) {
    const entry = this.cardEls.get(id);
    const c = this.model.card(id);
    if (!entry || !c || entry.editing) return;
    entry.editing = true;
    const input = h("textarea", { class: "inline-edit", rows: "2", maxlength: "200", "aria-label": "Card title" });
    input.value = c.title;
    entry.titleEl.hidden = true;
    entry.titleEl.after(input);
    entry.el.classList.add("is-editing");
    input.focus();
    input.select();
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      const v = input.value.replace(/\s+/g, " ").trim();
      input.remove();
      entry.titleEl.hidden = false;
      entry.editing = false;
      entry.el.classList.remove("is-editing");
      const cur = this.model.card(id);
      if (cur) entry.titleEl.textContent = cur.title;
      if (save && v && cur && v !== cur.title) this.patchCard(id, { title: v });
      if (document.contains(entry.el)) entry.el.focus({ preventScroll: true });
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); finish(true); }
      else if (e.key === "Escape") { e.preventDefault(); finish(false); }
    });
    input.addEventListener("click", (e) => e.stopPropagation());
    input.addEventListener("pointerdown", (e) => e.stopPropagation());
    input.addEventListener("blur", () => finish(true));
  },

  renameColumn(id) {
    const entry = this.cols.get(id);
    const c = this.model.column(id);
    if (!entry || !c || entry.renaming || !this.canEdit()) return;
    entry.renaming = true;
    const input = h("input", { class: "column-rename", maxlength: "200", "aria-label": "Column name" });
    input.value = c.name;
    entry.nameEl.hidden = true;
    entry.nameEl.after(input);
    input.focus();
    input.select();
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      const v = input.value.trim();
      input.remove();
      entry.nameEl.hidden = false;
      entry.renaming = false;
      const cur = this.model.column(id);
      if (cur) entry.nameEl.textContent = cur.name;
      if (save && v && cur && v !== cur.name) {
        const op = { columns: [id], column: (_, col) => col && { ...col, name: v } };
        op.includedIn = (m) => !m.columns.has(id) || m.columns.get(id).version >= this.resultVersion(op);
        this.runOp(op, (opId) => api.updateColumn(this.boardId, id, { name: v }, opId), "Could not rename the column").catch(() => {});
      }
      if (document.contains(entry.nameEl)) entry.nameEl.focus({ preventScroll: true });
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      else if (e.key === "Escape") { e.preventDefault(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true));
  },

  renameBoard() {
    if (!this.canEdit() || this.nameEl.querySelector("input")) return;
    const b = this.model.board();
    const input = h("input", { class: "board-rename", maxlength: "200", "aria-label": "Board name" });
    input.value = b.name;
    this.nameEl.replaceChildren(input);
    input.focus();
    input.select();
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      const v = input.value.trim();
      this.nameEl.textContent = this.model.board().name;
      if (save && v && v !== b.name) this.runOp({
        board: true, boardFn: (x) => x && { ...x, name: v },
        includedIn: () => true,
      }, (opId) => api.updateBoard(this.boardId, { name: v }, opId), "Could not rename the board").catch(() => {});
      this.nameEl.focus();
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      else if (e.key === "Escape") { e.preventDefault(); finish(false); }
    });
    input.addEventListener("click", (e) => e.stopPropagation());
    input.addEventListener("blur", () => finish(true));
  },

  openComposer(colId) {
    const entry = this.cols.get(colId);
    if (!entry || !this.canEdit()) return;
    if (entry.composer) { entry.composer.input.focus(); return; }
    const input = h("textarea", { class: "composer-input", rows: "2", maxlength: "200", placeholder: "What needs doing?", "aria-label": "New card title" });
    const form = h("form", { class: "composer" }, input,
      h("div", { class: "row" },
        h("button", { type: "submit", class: "btn btn-primary btn-sm", text: "Add card" }),
        h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Cancel", on: { click: () => close(true) } })));
    const close = (focusBtn) => {
      form.remove();
      entry.composer = null;
      entry.addBtn.hidden = false;
      if (focusBtn) entry.addBtn.focus();
    };
    const submit = () => {
      const title = input.value.replace(/\s+/g, " ").trim();
      if (!title) return;
      input.value = "";
      this.createCard(colId, title);
      input.focus();
    };
    form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
      else if (e.key === "Escape") { e.preventDefault(); close(true); }
    });
    entry.addBtn.hidden = true;
    entry.addBtn.before(form);
    entry.composer = { form, input };
    input.focus();
    entry.list.scrollTop = entry.list.scrollHeight;
  }
};
