// The person's own live stream and their notifications: one WebSocket per
// page on the user stream (subscribe_user; see docs/protocol.md), a bell in
// the header with the unread count and a list (click opens the board and the
// card), mark read / all read, mute a board, @mention autocomplete, and the
// boards list kept up to date (onUserFrame).
//
// The stream is not replayed: after every (re)connect, once user_subscribed
// arrived, the count is read again over HTTP and listeners get a "resync"
// frame (the boards list reloads), so nothing that happened while the page
// was disconnected is missed.

import { h, icon, clear } from "./dom.js";
import { request, describe } from "./api.js";
import { LiveConnection } from "./live.js";
import { toast, announce } from "./ui.js";

const listeners = new Set();
const badges = new Set();
let conn = null;
let connUser = null;
let unread = 0;
let panel = null;

// onUserFrame calls fn with every user frame ({kind, board, data}; kind
// "resync" after each reconnect) until the returned function is called.
export function onUserFrame(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(f) {
  for (const fn of [...listeners]) {
    try { fn(f); } catch (ex) { console.warn("user frame listener", ex); }
  }
}

// host is a page's own LiveConnection that carries the stream (the board
// page's), so that a page costs one WebSocket, not two.
let host = null;

// startUserStream starts the stream for the signed-in person (again when
// the person changed) on a connection of its own, unless a page hosts it;
// the pages call it through bell().
export function startUserStream(me) {
  if (!me) { stopUserStream(); return; }
  if (connUser !== me.id) stopUserStream();
  connUser = me.id;
  // A page that hosts the stream says so right after building its header.
  queueMicrotask(() => {
    if (host || conn || connUser !== me.id) return;
    conn = new LiveConnection({
      onOpen: () => conn && conn.send({ type: "subscribe_user", id: "user" }),
      onFrame: onFrame,
      onState: () => {},
      onAuthLost: () => stopUserStream(),
    });
    conn.start();
  });
}

export function stopUserStream() {
  if (conn) conn.stop();
  conn = null;
  connUser = null;
}

// hostUserStream makes live, a page's connection, carry the stream: call
// open() in its onOpen, pass it every frame with frame() (true: it was the
// stream's), and release() when the page stops using live.
export function hostUserStream(live) {
  host = live;
  if (conn) { conn.stop(); conn = null; }
  return {
    open() { live.send({ type: "subscribe_user", id: "user" }); },
    frame(f) {
      if (f.type !== "user" && f.type !== "user_subscribed" && !(f.type === "error" && f.id === "user")) return false;
      if (host === live && f.type !== "error") onFrame(f);
      return true;
    },
    release(me) {
      if (host !== live) return;
      host = null;
      if (me) startUserStream(me);
    },
  };
}

function onFrame(f) {
  if (f.type === "user_subscribed") {
    refreshCount();
    emit({ kind: "resync" });
    return;
  }
  if (f.type !== "user") return;
  if (f.kind === "notification") {
    setUnread(unread + 1);
    if (panel) panel.prepend(f.data);
    const n = f.data || {};
    announce(`${n.actor_username || "Someone"} ${n.kind === "assigned" ? "assigned you to" : "mentioned you on"} ${n.card_title || "a card"}`);
  } else if (f.kind === "notifications.read") {
    if (f.data && typeof f.data.unread === "number") setUnread(f.data.unread);
    if (panel) panel.reload();
  }
  emit(f);
}

async function refreshCount() {
  try {
    const res = await request("GET", "/api/notifications/unread");
    setUnread(res.data.unread);
  } catch { /* the next reconnect tries again */ }
}

function setUnread(n) {
  unread = Math.max(0, n | 0);
  for (const b of badges) {
    if (!document.contains(b.el)) { badges.delete(b); continue; }
    b.badge.textContent = unread > 99 ? "99+" : String(unread);
    b.badge.hidden = unread === 0;
    b.el.setAttribute("aria-label", unread ? `Notifications: ${unread} unread` : "Notifications");
  }
}

// bell is the header's notifications button (with its unread badge); it
// starts the person's stream.
export function bell(ctx) {
  startUserStream(ctx.me);
  const badge = h("span", { class: "bell-badge", "aria-hidden": "true", hidden: true });
  const el = h("button", { type: "button", class: "icon-btn bell", "aria-label": "Notifications", "aria-haspopup": "dialog" }, icon("bell"), badge);
  el.addEventListener("click", (e) => {
    e.stopPropagation();
    if (panel && panel.anchor === el) { panel.close(); return; }
    openPanel(el, ctx);
  });
  badges.add({ el, badge });
  queueMicrotask(() => setUnread(unread));
  if (conn && conn.state === "live") refreshCount();
  return el;
}

// ago says how long ago a timestamp was, briefly.
function ago(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.max(0, (Date.now() - t) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

function describeNote(n) {
  const who = n.actor_username || "Someone";
  return n.kind === "assigned" ? `${who} assigned you to “${n.card_title}”` : `${who} mentioned you on “${n.card_title}”`;
}

function openPanel(anchor, ctx) {
  if (panel) panel.close();
  const list = h("ul", { class: "notif-list", "aria-label": "Notifications" });
  const status = h("p", { class: "muted small notif-status", text: "Loading…" });
  const more = h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Show more", hidden: true });
  const allRead = h("button", { type: "button", class: "btn btn-ghost btn-sm notif-all-read", text: "Mark all read" });
  const el = h("div", { class: "notif-panel", role: "dialog", "aria-label": "Notifications" },
    h("div", { class: "notif-head" }, h("h2", { text: "Notifications" }), allRead),
    list, status, more);
  let cursor = "";
  const item = (n) => {
    const btn = h("button", { type: "button", class: "notif-open" },
      h("span", { class: "notif-what", text: describeNote(n) }),
      n.excerpt ? h("span", { class: "notif-excerpt", text: n.excerpt }) : null,
      h("span", { class: "notif-where muted small", text: `${n.board_name} · ${ago(n.created_at)}` }));
    const li = h("li", { class: n.read_at ? "notif" : "notif is-unread", "data-id": String(n.id) }, btn);
    btn.addEventListener("click", async () => {
      if (!n.read_at) {
        n.read_at = new Date().toISOString();
        li.classList.remove("is-unread");
        try { const res = await request("POST", "/api/notifications/read", { body: { ids: [n.id] } }); setUnread(res.data.unread); }
        catch { /* the list shows it unread again on the next load */ }
      }
      p.close();
      ctx.navigate(`/boards/${n.board}?card=${encodeURIComponent(n.card)}`);
    });
    return li;
  };
  const load = async (reset) => {
    if (reset) cursor = "";
    try {
      const q = new URLSearchParams({ order: "unread", limit: "20" });
      if (cursor) q.set("cursor", cursor);
      const res = await request("GET", `/api/notifications?${q}`);
      if (reset) clear(list);
      for (const n of res.data.notifications || []) list.appendChild(item(n));
      cursor = res.data.next_cursor || "";
      more.hidden = !cursor;
      setUnread(res.data.unread);
      status.hidden = list.children.length > 0;
      status.textContent = "Nothing yet: you are told here when someone mentions you or assigns you a card.";
    } catch (ex) { status.hidden = false; status.textContent = describe(ex); }
  };
  more.addEventListener("click", () => load(false));
  allRead.addEventListener("click", async () => {
    try {
      const res = await request("POST", "/api/notifications/read", { body: { all: true } });
      setUnread(res.data.unread);
      for (const li of list.querySelectorAll(".is-unread")) li.classList.remove("is-unread");
    } catch (ex) { toast(describe(ex), "error", "Could not mark notifications read"); }
  });
  const onDoc = (e) => { if (!el.contains(e.target) && e.target !== anchor) p.close(); };
  const onKey = (e) => { if (e.key === "Escape") { p.close(); anchor.focus(); } };
  const p = {
    anchor,
    prepend(n) { if (n) { list.prepend(item(n)); status.hidden = true; } },
    reload() { load(true); },
    close() {
      el.remove();
      document.removeEventListener("click", onDoc, true);
      document.removeEventListener("keydown", onKey);
      anchor.setAttribute("aria-expanded", "false");
      if (panel === p) panel = null;
    },
  };
  panel = p;
  anchor.setAttribute("aria-expanded", "true");
  anchor.parentElement.appendChild(el);
  document.addEventListener("click", onDoc, true);
  document.addEventListener("keydown", onKey);
  load(true);
  allRead.focus();
}

// cardFromURL is the card a notification link asks the board page to open
// (?card=), removed from the address once read.
export function cardFromURL() {
  const id = new URLSearchParams(location.search).get("card");
  if (id) history.replaceState(history.state, "", location.pathname);
  return id;
}

// Mute: the board menu's item, with the state read when the board opens.
const muted = new Map(); // board id → boolean

export function loadMute(boardId) {
  request("GET", `/api/boards/${boardId}/mute`).then((res) => muted.set(boardId, !!res.data.muted), () => {});
}

export function muteMenuItem(boardId) {
  const on = muted.get(boardId) === true;
  return {
    label: on ? "Unmute notifications" : "Mute notifications", icon: "comment",
    action: async () => {
      try {
        const res = await request(on ? "DELETE" : "PUT", `/api/boards/${boardId}/mute`);
        muted.set(boardId, !!res.data.muted);
        toast(res.data.muted ? "You will not be notified of this board." : "You will be notified of this board again.");
      } catch (ex) { toast(describe(ex), "error", "Could not change the notifications of this board"); }
    },
  };
}

// attachMentions offers the board's members when the person types @ in
// textarea: arrows choose, Enter or Tab inserts "@username ", Escape
// closes. members() returns [{username}]. Call it before adding the
// textarea's other keydown listeners: while the list is open it takes
// Enter, Tab, Escape and the arrows for itself.
export function attachMentions(textarea, members) {
  const listId = `mentions-${Math.random().toString(36).slice(2, 9)}`;
  const box = h("ul", { class: "mention-list", role: "listbox", id: listId, "aria-label": "Members to mention", hidden: true });
  textarea.setAttribute("aria-autocomplete", "list");
  let items = [], active = 0, start = -1;
  const close = () => { box.hidden = true; items = []; start = -1; textarea.removeAttribute("aria-activedescendant"); textarea.removeAttribute("aria-controls"); };
  const render = () => {
    clear(box);
    items.forEach((m, i) => {
      const li = h("li", { role: "option", id: `${listId}-${i}`, class: i === active ? "mention is-active" : "mention", "aria-selected": String(i === active), text: `@${m.username}` });
      li.addEventListener("mousedown", (e) => { e.preventDefault(); pick(i); });
      box.appendChild(li);
    });
    box.hidden = items.length === 0;
    if (items.length) { textarea.setAttribute("aria-controls", listId); textarea.setAttribute("aria-activedescendant", `${listId}-${active}`); }
  };
  const update = () => {
    const upto = textarea.value.slice(0, textarea.selectionStart);
    const m = /(^|[^A-Za-z0-9_.@-])@([A-Za-z0-9_.-]{0,32})$/.exec(upto);
    if (!m) { close(); return; }
    const q = m[2].toLowerCase();
    start = upto.length - m[2].length - 1;
    items = members().filter((x) => x.username && x.username.startsWith(q)).slice(0, 8);
    active = Math.min(active, Math.max(0, items.length - 1));
    if (!items.length) { close(); return; }
    if (!box.isConnected) textarea.insertAdjacentElement("afterend", box);
    render();
  };
  const pick = (i) => {
    const m = items[i];
    if (!m || start < 0) return;
    const end = textarea.selectionStart;
    const text = `@${m.username} `;
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    const at = start + text.length;
    textarea.setSelectionRange(at, at);
    close();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  };
  textarea.addEventListener("keydown", (e) => {
    if (box.hidden || !items.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      active = (active + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      render();
    } else if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey) || e.key === "Tab") {
      pick(active);
    } else if (e.key === "Escape") {
      close();
    } else return;
    e.preventDefault();
    e.stopImmediatePropagation();
  });
  textarea.addEventListener("input", update);
  textarea.addEventListener("blur", () => setTimeout(close, 100));
}
