// The face of a card on the board: what matters at a glance. Its cover
// image, its title, and a row of badges: label chips in the label's colour
// (the name as text, and in full on hover), the due date (red when past and
// not done, green when done), a description mark, checklist progress,
// comment and attachment counts, and the assignees' avatars (initials in a
// coloured circle, the username as the accessible name). Everything
// user-written goes in as text: label names, titles and usernames never
// become markup.
//
// Cards name their labels by id; the names and colours come from the
// board's labels in the model, so a rename or recolour shows on every card
// that has the label. An id the board does not know (a free-text label
// written by a server from before boards had labels) is shown as it is, in
// gray.

import { h, icon, avatar } from "./dom.js";
import { fmtDate } from "./ui.js";

// The colours a label may have, in the order pickers show them (the
// server's board.LabelColors).
export const LABEL_COLORS = ["green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "gray"];

// labelChip is one label as a coloured chip: its name as text, in full in
// the tooltip; extra children (a remove button) go after the name.
export function labelChip(label, ...extra) {
  const color = LABEL_COLORS.includes(label.color) ? label.color : "gray";
  return h("span", { class: `label lc-${color}`, title: `${label.name} (${color})`, "data-label": label.id || null },
    h("span", { class: "label-name", text: label.name }), ...extra);
}

// cardLabels resolves a card's label ids to labels, in the card's order.
export function cardLabels(c, model) {
  return (c.labels || []).map((id) => model.label(id) || { id, name: String(id), color: "gray", unknown: true });
}

// coverURL is where the thumbnail of the card's cover image is served.
export function coverURL(c) {
  const e = encodeURIComponent;
  return `/api/boards/${e(c.board_id)}/cards/${e(c.id)}/attachments/${e(c.cover)}/thumbnail`;
}

// dueClass says how a due date reads: done (green), overdue (red: past
// and not done), soon (within two days), or nothing.
export function dueClass(iso, done, today = new Date()) {
  if (!iso) return "";
  if (done) return "is-done";
  const [y, m, d] = iso.split("-").map(Number);
  const due = new Date(y, m - 1, d);
  const t = new Date(today); t.setHours(0, 0, 0, 0);
  const diff = (due - t) / 86400000;
  if (diff < 0) return "overdue";
  if (diff <= 2) return "soon";
  return "";
}

const DUE_WORDS = { "is-done": "done", overdue: "overdue", soon: "due soon", "": "" };

// buildCardFace makes the elements of a card; fillCardFace fills them.
export function buildCardFace(id) {
  const checkEl = h("button", { type: "button", class: "card-check", role: "checkbox", "aria-checked": "false", tabindex: "-1" }, icon("check"));
  const titleEl = h("div", { class: "card-title" });
  const moreEl = h("button", { type: "button", class: "icon-btn card-more", "aria-haspopup": "menu", tabindex: "-1" }, icon("more"));
  const metaEl = h("div", { class: "card-meta" });
  const coverEl = h("div", { class: "card-cover", hidden: true });
  const el = h("div", { class: "card", role: "listitem", tabindex: "0", "data-id": id, "aria-roledescription": "card" },
    coverEl, h("div", { class: "card-row" }, checkEl, titleEl, moreEl), metaEl);
  return { el, titleEl, metaEl, checkEl, moreEl, coverEl, colId: null, rank: null, editing: false, sig: "", coverSig: "" };
}

// fillCardFace shows card c (as the model's view has it) in entry. model
// resolves column names, label ids and user ids; pending says whether a
// change of the person's own to the card is still on its way.
export function fillCardFace(entry, c, model, pending) {
  entry.el.classList.toggle("is-pending", pending);
  entry.el.classList.toggle("is-temp", !!c._temp);
  entry.el.classList.toggle("is-done", !!c.done);
  if (!entry.editing && entry.titleEl.textContent !== c.title) entry.titleEl.textContent = c.title;
  entry.checkEl.setAttribute("aria-checked", c.done ? "true" : "false");
  entry.checkEl.setAttribute("aria-label", c.done ? "Done (mark not done)" : "Mark done");
  entry.moreEl.setAttribute("aria-label", `Actions for card ${c.title}`);
  const colName = (model.column(c.column_id) || {}).name || "";
  entry.el.setAttribute("aria-label", `${c.title}${c.done ? ", done" : ""}${colName ? ", in " + colName : ""}`);
  fillCover(entry, c);
  // The badges: rebuilt only when what they show changed.
  const labels = cardLabels(c, model);
  const people = (c.assignees || []).map((u) => model.memberName(u));
  const sig = JSON.stringify([labels.map((l) => [l.id, l.name, l.color]), c.due, c.done, people, !!c.description,
    c.comment_count, c.checklist_done, c.checklist_total, c.attachment_count, dueClass(c.due, c.done)]);
  if (sig === entry.sig) return;
  entry.sig = sig;
  const parts = labels.map((l) => labelChip(l));
  if (c.due) {
    const st = dueClass(c.due, c.done);
    const words = DUE_WORDS[st] ? `, ${DUE_WORDS[st]}` : "";
    parts.push(h("span", { class: `due ${st}`.trim(), title: `Due ${c.due}${words}` }, icon("calendar"),
      h("span", { text: fmtDate(c.due) }), words ? h("span", { class: "sr-only", text: words }) : null));
  }
  if (c.description) parts.push(h("span", { class: "has-desc", title: "Has a description" }, icon("text")));
  if (c.checklist_total) {
    const all = c.checklist_done === c.checklist_total;
    parts.push(h("span", { class: `badge-count checklist-count${all ? " is-complete" : ""}`, title: `Checklist items: ${c.checklist_done} of ${c.checklist_total} done` },
      icon("checklist"), h("span", { text: `${c.checklist_done}/${c.checklist_total}` })));
  }
  if (c.comment_count) {
    parts.push(h("span", { class: "badge-count comment-count", title: `${c.comment_count} comment${c.comment_count === 1 ? "" : "s"}` },
      icon("comment"), h("span", { text: String(c.comment_count) })));
  }
  if (c.attachment_count) {
    parts.push(h("span", { class: "badge-count attachment-count", title: `${c.attachment_count} attachment${c.attachment_count === 1 ? "" : "s"}` },
      icon("paperclip"), h("span", { text: String(c.attachment_count) })));
  }
  if (people.length) {
    const shown = people.slice(0, 3).map((name) => avatar(name, "avatar-xs"));
    if (people.length > 3) {
      const rest = people.slice(3);
      shown.push(h("span", { class: "avatar avatar-xs more", role: "img", "aria-label": `and ${rest.join(", ")}`, title: rest.join(", "),
        text: `+${rest.length}` }));
    }
    parts.push(h("span", { class: "assignees", role: "group", "aria-label": "Assignees" }, shown));
  }
  entry.metaEl.replaceChildren(...parts);
  entry.metaEl.hidden = parts.length === 0;
}

// fillCover shows the card's cover image (an image attachment's
// thumbnail), or nothing. A thumbnail that does not load hides the cover.
function fillCover(entry, c) {
  const sig = c.cover && !c._temp ? coverURL(c) : "";
  if (sig === entry.coverSig) return;
  entry.coverSig = sig;
  if (!sig) {
    entry.coverEl.replaceChildren();
    entry.coverEl.hidden = true;
    return;
  }
  const img = h("img", { src: sig, alt: "", loading: "lazy", decoding: "async", draggable: "false" });
  img.addEventListener("error", () => { if (entry.coverSig === sig) entry.coverEl.hidden = true; });
  entry.coverEl.replaceChildren(img);
  entry.coverEl.hidden = false;
}
