// The card dialog's attachments: a file picker and a drop zone (a file
// dropped anywhere on the dialog is uploaded too), the list with each
// file's size and a download link, a thumbnail for images, "Make cover" /
// "Remove cover" and delete. The list is fetched when the dialog opens and
// then follows the board's events live (attachment.created and
// attachment.deleted carry the attachment or its id); the cover is the
// card's own field, so it follows the card.
//
// Uploads send the file itself as the body (POST …/attachments?name=…),
// with an X-Op-Id and an Idempotency-Key like every change. File names go
// into the page as text only.

import { h, icon } from "./dom.js";
import { ApiError, describe, newOpId } from "./api.js";
import { toast, announce, confirmDialog } from "./ui.js";

const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

export function attachmentURL(boardId, cardId, id, what) {
  return `/api/boards/${boardId}/cards/${cardId}/attachments/${id}/${what}`;
}

// thumbnailURL is the small image a card's face shows for its cover.
export function thumbnailURL(boardId, cardId, id) { return attachmentURL(boardId, cardId, id, "thumbnail"); }

export function formatSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

async function upload(boardId, cardId, file) {
  const op = newOpId();
  const url = `/api/boards/${boardId}/cards/${cardId}/attachments?name=${encodeURIComponent(file.name || "file")}`;
  let res;
  try {
    res = await fetch(url, {
      method: "POST", body: file, credentials: "same-origin", cache: "no-store",
      headers: { Accept: "application/json", "Content-Type": "application/octet-stream", "X-Op-Id": op, "Idempotency-Key": op },
    });
  } catch {
    throw new ApiError(0, { detail: "the server could not be reached — check your connection", code: "network" });
  }
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

async function call(method, url) {
  const res = await fetch(url, { method, credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json", "X-Op-Id": newOpId() } });
  let data = null;
  if (res.status !== 204) { try { data = await res.json(); } catch { data = null; } }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export class AttachmentsSection {
  constructor(page, cardId) {
    this.page = page;
    this.cardId = cardId;
    this.items = new Map();
    this.loaded = false;
    this.early = [];
    this.maxBytes = 0;
    this.uploading = 0;
    const ro = !page.canEdit();
    this.list = h("ul", { class: "attachments", "aria-label": "Attachments" });
    this.status = h("p", { class: "muted small", role: "status", text: "Loading attachments…" });
    this.picker = h("input", { type: "file", multiple: true, class: "sr-only", id: `att-pick-${cardId}`, "aria-label": "Attach files" });
    this.picker.addEventListener("change", () => { this.send([...this.picker.files]); this.picker.value = ""; });
    this.drop = ro ? null : h("div", { class: "att-drop", "data-testid": "attachment-drop" },
      icon("upload"), h("span", { text: "Drop files here or " }),
      h("label", { class: "link-btn", for: `att-pick-${cardId}`, text: "choose files" }), this.picker);
    this.el = h("section", { class: "cd-attachments" }, h("h3", { class: "cd-label", text: "Attachments" }), this.list, this.status, this.drop);
    this.load();
  }

  get board() { return this.page.boardId; }

  // dropTarget makes a file dropped anywhere on el (the dialog) an upload.
  dropTarget(el) {
    if (!this.page.canEdit()) return;
    const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
    el.addEventListener("dragover", (e) => { if (hasFiles(e)) { e.preventDefault(); this.drop && this.drop.classList.add("is-over"); } });
    el.addEventListener("dragleave", (e) => { if (e.target === el || e.target === this.drop) this.drop && this.drop.classList.remove("is-over"); });
    el.addEventListener("drop", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      this.drop && this.drop.classList.remove("is-over");
      this.send([...e.dataTransfer.files]);
    });
  }

  async load() {
    try {
      const res = await call("GET", `/api/boards/${this.board}/cards/${this.cardId}/attachments`);
      this.maxBytes = res.max_bytes || 0;
      for (const a of res.attachments || []) this.items.set(a.id, a);
      this.loaded = true;
      for (const e of this.early) this.apply(e);
      this.early = [];
      this.render();
    } catch (err) {
      this.status.textContent = `Could not load the attachments: ${describe(err)}`;
    }
  }

  reload() {
    this.loaded = false;
    this.early = [];
    this.items = new Map();
    this.load();
  }

  onEvent(e) {
    const d = e.data || {};
    if (!e.kind.startsWith("attachment.") || !d.card || d.card.id !== this.cardId) return;
    if (!this.loaded) { this.early.push(e); return; }
    this.apply(e);
    this.render();
  }

  apply(e) {
    const d = e.data;
    if (e.kind === "attachment.deleted") this.items.delete(d.deleted);
    else if (d.attachment) this.items.set(d.attachment.id, d.attachment);
  }

  // cardChanged re-renders what depends on the card (its cover).
  cardChanged() { if (this.loaded) this.render(); }

  async send(files) {
    for (const f of files) {
      if (this.maxBytes && f.size > this.maxBytes) {
        toast(`${f.name} is ${formatSize(f.size)}; files may be at most ${formatSize(this.maxBytes)}.`, "error", "Could not attach the file");
        continue;
      }
      this.uploading++;
      this.showStatus(`Uploading ${f.name}…`);
      try {
        const a = await upload(this.board, this.cardId, f);
        this.items.set(a.id, a);
        announce(`Attached ${a.name}`);
      } catch (err) {
        toast(describe(err), "error", `Could not attach ${f.name}`);
      } finally {
        this.uploading--;
        this.render();
      }
    }
  }

  showStatus(text) {
    this.status.hidden = false;
    this.status.textContent = text;
  }

  async remove(a) {
    if (!(await confirmDialog(`Delete ${a.name}?`, "The file is deleted for everyone.", "Delete"))) return;
    try {
      await call("DELETE", `/api/boards/${this.board}/cards/${this.cardId}/attachments/${a.id}`);
      this.items.delete(a.id);
      this.render();
      announce(`Deleted ${a.name}`);
    } catch (err) {
      if (err.status === 404) { this.items.delete(a.id); this.render(); return; }
      toast(describe(err), "error", "Could not delete the file");
    }
  }

  setCover(id) {
    this.page.patchCard(this.cardId, { cover: id }, id ? "Cover set" : "Cover removed");
  }

  render() {
    const card = this.page.model.card(this.cardId);
    const cover = card ? card.cover : null;
    const canEdit = this.page.canEdit();
    const sorted = [...this.items.values()].sort((a, b) => a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1);
    const rows = sorted.map((a) => {
      const image = IMAGE_TYPES.has(a.content_type);
      const isCover = cover === a.id;
      const thumb = image
        ? h("img", { class: "att-thumb", src: thumbnailURL(this.board, this.cardId, a.id), alt: "", loading: "lazy", "data-testid": "attachment-thumb" })
        : h("span", { class: "att-thumb att-file", "aria-hidden": "true" }, icon("text"));
      const link = h("a", { class: "att-name", href: attachmentURL(this.board, this.cardId, a.id, "content"), download: a.name,
        title: `Download ${a.name}`, text: a.name });
      const meta = h("span", { class: "muted small", text: `${formatSize(a.size)}${isCover ? " · cover" : ""}` });
      const actions = h("div", { class: "att-actions" },
        canEdit && image ? h("button", { type: "button", class: "link-btn", text: isCover ? "Remove cover" : "Make cover",
          on: { click: () => this.setCover(isCover ? null : a.id) } }) : null,
        canEdit ? h("button", { type: "button", class: "link-btn danger", text: "Delete", "aria-label": `Delete ${a.name}`,
          on: { click: () => this.remove(a) } }) : null);
      return h("li", { class: `attachment${isCover ? " is-cover" : ""}`, "data-id": a.id },
        thumb, h("div", { class: "att-body" }, link, meta), actions);
    });
    this.list.replaceChildren(...rows);
    if (this.uploading) return;
    this.status.hidden = rows.length > 0;
    this.status.textContent = "No attachments.";
  }
}
