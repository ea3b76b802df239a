// Finding cards: the board's filter bar, and the search box that finds
// cards across every board the person may see (GET /api/search).
//
// The filter bar narrows the board to the cards that match all of: text
// (in the title or description, checked here, or in a comment, which the
// server's search of this board answers), a label, an assignee ("mine"),
// a due state (overdue, this week, none) and done or not. It lives in the
// URL (?q=&label=&assignee=&due=&done=), so a reload keeps it. The board
// asks matches(card) of every card it places, so a card that starts or
// stops matching with a live change appears or disappears; moves name the
// visible neighbours, so dragging and keyboard moves stay right while
// filtered.
//
// Search results show the matched words marked: the server sends text
// parts, and they go into the page as text, never as HTML.

import { h, icon } from "./dom.js";
import { request, describe } from "./api.js";

const PARAMS = ["q", "label", "assignee", "due", "done"];

// dueMatches tells whether a card's due date (YYYY-MM-DD or null) is in the
// state: "overdue" (before today, not done), "week" (today to the end of
// the week, Sunday), "none". now is the current time.
export function dueMatches(due, done, state, now = new Date()) {
  if (state === "none") return !due;
  if (!due) return false;
  const [y, m, d] = due.split("-").map(Number);
  const day = new Date(y, m - 1, d);
  const today = new Date(now); today.setHours(0, 0, 0, 0);
  if (state === "overdue") return !done && day < today;
  if (state === "week") {
    const end = new Date(today);
    end.setDate(today.getDate() + ((7 - today.getDay()) % 7));
    return day >= today && day <= end;
  }
  return true;
}

// searchCards runs GET /api/search and resolves to {results, next_cursor}.
export async function searchCards(q, { board, limit, cursor } = {}) {
  const p = new URLSearchParams({ q });
  if (board) p.set("board", board);
  if (limit) p.set("limit", String(limit));
  if (cursor) p.set("cursor", cursor);
  const res = await request("GET", `/api/search?${p}`);
  return res.data;
}

// marked renders highlight parts as text, the matched ones in <mark>.
export function marked(parts) {
  return (parts || []).map((p) => (p.match ? h("mark", { text: p.text }) : document.createTextNode(p.text)));
}

// cardMatches tells whether card c matches every part of the filter state
// s ({q, label, assignee, due, done}; "" is any): q is words that must all
// be in the title or description (any case), unless the card is among
// commentHits; assignee "mine" is the user me, "none" nobody.
export function cardMatches(s, c, me, commentHits = new Set(), now = new Date()) {
  if (s.q) {
    const hay = `${c.title || ""}\n${c.description || ""}`.toLowerCase();
    const words = s.q.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.every((w) => hay.includes(w)) && !commentHits.has(c.id)) return false;
  }
  if (s.label && !(c.labels || []).includes(s.label)) return false;
  if (s.assignee) {
    const a = c.assignees || [];
    if (s.assignee === "mine" ? !a.includes(me) : s.assignee === "none" ? a.length > 0 : !a.includes(s.assignee)) return false;
  }
  if (s.due && !dueMatches(c.due, c.done, s.due, now)) return false;
  if (s.done && !!c.done !== (s.done === "yes")) return false;
  return true;
}

export class FilterBar {
  constructor(page) {
    this.page = page;
    const url = new URLSearchParams(location.search);
    this.state = {};
    for (const k of PARAMS) this.state[k] = url.get(k) || "";
    this.openOnLoad = url.get("card") || "";
    this.commentHits = new Set(); // cards with a comment that matches the text (the server's answer)
    this.searchSeq = 0;
    this.timer = null;
    this.build();
  }

  active() { return PARAMS.some((k) => this.state[k]); }

  build() {
    const s = this.state;
    this.text = h("input", { type: "search", class: "filter-text", placeholder: "Filter cards", "aria-label": "Filter cards by text",
      maxlength: "200", value: s.q });
    this.label = h("select", { class: "filter-label", "aria-label": "Label" });
    this.assignee = h("select", { class: "filter-assignee", "aria-label": "Assignee" });
    this.due = h("select", { class: "filter-due", "aria-label": "Due" },
      h("option", { value: "", text: "Any due date" }), h("option", { value: "overdue", text: "Overdue" }),
      h("option", { value: "week", text: "Due this week" }), h("option", { value: "none", text: "No due date" }));
    this.done = h("select", { class: "filter-done", "aria-label": "Done" },
      h("option", { value: "", text: "Done or not" }), h("option", { value: "no", text: "Not done" }), h("option", { value: "yes", text: "Done" }));
    this.due.value = s.due;
    this.done.value = s.done;
    this.count = h("span", { class: "filter-count muted", role: "status", "aria-live": "polite" });
    this.clearBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm filter-clear", text: "Clear", on: { click: () => this.clear() } });
    this.el = h("div", { class: "filter-bar", role: "search", "aria-label": "Filter this board" },
      icon("search"), this.text, this.label, this.assignee, this.due, this.done, this.clearBtn, this.count);
    this.text.addEventListener("input", () => this.set("q", this.text.value.trim()));
    this.text.addEventListener("keydown", (e) => { if (e.key === "Escape" && this.text.value) { e.stopPropagation(); this.text.value = ""; this.set("q", ""); } });
    for (const [sel, key] of [[this.label, "label"], [this.assignee, "assignee"], [this.due, "due"], [this.done, "done"]]) {
      sel.addEventListener("change", () => this.set(key, sel.value));
    }
    // The label and assignee choices are the board's as the list opens.
    for (const sel of [this.label, this.assignee]) {
      for (const ev of ["focus", "mousedown", "keydown"]) sel.addEventListener(ev, () => this.fillOptions());
    }
    this.sync();
  }

  // labelName resolves a card's label value: through the board's labels
  // ({id, name, color}) when the snapshot has them, else the value itself.
  labelName(v) {
    const labels = this.page.model.labels; // the snapshot's labels, when the board has them
    const list = Array.isArray(labels) ? labels : labels instanceof Map ? [...labels.values()] : [];
    const l = list.find((x) => x.id === v);
    return l ? l.name : v;
  }

  // fillOptions refreshes the label and assignee choices from the board.
  fillOptions() {
    const model = this.page.model;
    const names = new Map();
    for (const c of model.cards.values()) for (const l of c.labels || []) names.set(l, this.labelName(l));
    if (this.state.label) names.set(this.state.label, this.labelName(this.state.label));
    const sig = JSON.stringify([...names]) + JSON.stringify([...model.members.keys()]);
    if (sig === this.optSig) return;
    this.optSig = sig;
    this.label.replaceChildren(h("option", { value: "", text: "Any label" }),
      ...[...names].sort((a, b) => a[1].localeCompare(b[1])).map(([v, n]) => h("option", { value: v, text: n })));
    this.label.value = this.state.label;
    const me = this.page.ctx.me;
    this.assignee.replaceChildren(h("option", { value: "", text: "Anyone" }), h("option", { value: "mine", text: "Assigned to me" }),
      h("option", { value: "none", text: "Unassigned" }),
      ...[...model.members.values()].filter((m) => m.user_id !== me.id)
        .map((m) => h("option", { value: m.user_id, text: m.username || m.user_id })));
    this.assignee.value = this.state.assignee;
  }

  matches(c) {
    return !this.active() || cardMatches(this.state, c, this.page.ctx.me.id, this.commentHits);
  }

  set(key, value) {
    if (this.state[key] === value) return;
    this.state[key] = value;
    this.writeURL();
    if (key === "q") {
      this.commentHits = new Set();
      this.searchSoon();
    }
    this.page.refilter();
  }

  clear() {
    for (const k of PARAMS) this.state[k] = "";
    this.text.value = "";
    this.label.value = this.assignee.value = "";
    this.commentHits = new Set();
    this.writeURL();
    this.sync();
    this.page.refilter();
  }

  writeURL() {
    const url = new URL(location.href);
    for (const k of PARAMS) { if (this.state[k]) url.searchParams.set(k, this.state[k]); else url.searchParams.delete(k); }
    url.searchParams.delete("card");
    history.replaceState(history.state, "", url.pathname + url.search);
  }

  // sync shows the state in the controls and the count of shown cards
  // (it runs with every change of cards: without a filter it costs nothing).
  sync() {
    this.due.value = this.state.due;
    this.done.value = this.state.done;
    const on = this.active();
    this.el.classList.toggle("is-active", on);
    this.clearBtn.hidden = !on;
    this.page.board && this.page.board.classList.toggle("is-filtered", on);
    if (!on) { this.count.textContent = ""; return; }
    if (!this.page.model.boardData) return;
    let all = 0, shown = 0;
    for (const c of this.page.model.cards.values()) {
      if (c.archived) continue;
      all++;
      if (this.matches(c)) shown++;
    }
    this.count.textContent = on ? `${shown} of ${all} cards` : "";
  }

  // searchSoon asks the server, a moment after the typing stops, which
  // cards of this board have the text in a comment.
  searchSoon() {
    clearTimeout(this.timer);
    const q = this.state.q;
    if (!q) return;
    this.timer = setTimeout(() => this.searchComments(q), 250);
  }

  async searchComments(q) {
    const seq = ++this.searchSeq;
    const hits = new Set();
    try {
      let cursor = "";
      for (let page = 0; page < 10; page++) { // up to 1,000 cards
        const res = await searchCards(q, { board: this.page.boardId, limit: 100, cursor });
        // Only the comment matches: titles and descriptions are checked
        // here, as they change.
        for (const r of res.results) if ((r.highlights || []).some((x) => x.field === "comment")) hits.add(r.card_id);
        if (!res.next_cursor) break;
        cursor = res.next_cursor;
      }
    } catch (ex) {
      if (ex.status !== 422) return; // a query the server refuses finds no comment
    }
    if (seq !== this.searchSeq || this.state.q !== q || this.page.destroyed) return;
    this.commentHits = hits;
    this.page.refilter();
  }

  // onLoaded runs once the board is shown: it fills the choices, asks
  // the server about comments when the URL had text, and opens the card
  // the URL names (?card=, from a search result).
  onLoaded() {
    this.fillOptions();
    this.sync();
    if (this.state.q) this.searchSoon();
    const id = this.openOnLoad;
    this.openOnLoad = "";
    if (id && this.page.model.card(id)) {
      const url = new URL(location.href);
      url.searchParams.delete("card");
      history.replaceState(history.state, "", url.pathname + url.search);
      this.page.openCard(id);
    }
  }

  // onEvent: a comment written or edited may start or stop matching.
  onEvent(e) {
    if (this.state.q && e.kind && e.kind.startsWith("comment.")) this.searchSoon();
  }

  destroy() { clearTimeout(this.timer); this.searchSeq++; }
}

// searchBox is the search across every board the person may see: results
// as they type, each a link that opens its card on its board.
export function searchBox(ctx) {
  const input = h("input", { type: "search", class: "search-input", placeholder: "Search all boards", "aria-label": "Search cards in all your boards",
    maxlength: "200", autocomplete: "off" });
  const list = h("ul", { class: "search-results", "aria-label": "Search results", hidden: true });
  const status = h("p", { class: "search-status muted", role: "status", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "btn btn-ghost btn-sm search-more", text: "More results", hidden: true });
  const box = h("div", { class: "search-box", role: "search" }, h("div", { class: "search-field" }, icon("search"), input), status, list, more);
  let seq = 0, timer = null, cursor = "", query = "";

  const item = (r) => {
    const title = (r.highlights || []).find((x) => x.field === "title");
    const rest = (r.highlights || []).filter((x) => x.field !== "title");
    const link = h("a", { href: `/boards/${r.board_id}?card=${r.card_id}`, "data-nav": "", class: "search-result" },
      h("span", { class: "search-title" }, title ? marked(title.parts) : r.title),
      h("span", { class: "search-where muted", text: `${r.board_name} › ${r.column_name}` }),
      rest.map((x) => h("span", { class: "search-snippet" },
        h("span", { class: "search-field-name muted", text: x.field === "comment" ? "Comment: " : "Description: " }), marked(x.parts))));
    return h("li", { "data-card": r.card_id }, link);
  };

  const run = async (q, after) => {
    const mine = ++seq;
    if (!q) { list.replaceChildren(); list.hidden = true; more.hidden = true; status.textContent = ""; return; }
    status.textContent = "Searching…";
    try {
      const res = await searchCards(q, { cursor: after, limit: 20 });
      if (mine !== seq) return;
      if (!after) list.replaceChildren();
      for (const r of res.results) list.appendChild(item(r));
      list.hidden = list.children.length === 0;
      cursor = res.next_cursor || "";
      more.hidden = !cursor;
      const n = list.children.length;
      status.textContent = n ? `${n}${cursor ? "+" : ""} card${n === 1 && !cursor ? "" : "s"} found` : "No cards found";
    } catch (ex) {
      if (mine === seq) status.textContent = describe(ex);
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    query = input.value.trim();
    timer = setTimeout(() => run(query, ""), 200);
  });
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(timer); run(input.value.trim(), ""); } });
  more.addEventListener("click", () => run(query, cursor));
  return box;
}
