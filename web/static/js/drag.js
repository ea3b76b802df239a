// Drag and drop of cards with pointer events: a mouse drags a card at once
// (after a few pixels), a finger or pen after a short press. A placeholder
// shows where the card will land; Escape cancels. The drop is an ordinary
// optimistic move relative to the neighbours at the drop point.

import { h } from "./dom.js";

const START_PX = 6;
const TOUCH_HOLD_MS = 280;
const EDGE = 48;

export class DragController {
  constructor(page) {
    this.page = page;
    this.d = null;       // an active drag
    this.press = null;   // a press that may become a drag
    this.justDropped = false;
    this.onDown = this.onDown.bind(this);
    this.onMove = this.onMove.bind(this);
    this.onUp = this.onUp.bind(this);
    this.onKey = this.onKey.bind(this);
    this.onTouchMove = (e) => { if (this.d || this.press) { if (this.d) e.preventDefault(); } };
    page.columnsEl.addEventListener("pointerdown", this.onDown);
    page.columnsEl.addEventListener("touchmove", this.onTouchMove, { passive: false });
    page.columnsEl.addEventListener("dragstart", (e) => e.preventDefault());
  }

  destroy() {
    this.cancel();
    this.page.columnsEl.removeEventListener("pointerdown", this.onDown);
  }

  onDown(e) {
    if (this.d || e.button !== 0 || !this.page.canEdit()) return;
    const cardEl = e.target.closest(".card");
    if (!cardEl || e.target.closest("button, input, textarea, select, a")) return;
    const id = cardEl.dataset.id;
    const entry = this.page.cardEls.get(id);
    if (!entry || entry.editing || cardEl.classList.contains("is-temp")) return;
    this.press = { id, cardEl, x: e.clientX, y: e.clientY, pointerId: e.pointerId, type: e.pointerType, t: performance.now(), timer: null };
    if (e.pointerType !== "mouse") {
      this.press.timer = setTimeout(() => { if (this.press) this.begin(this.press.x, this.press.y); }, TOUCH_HOLD_MS);
    }
    window.addEventListener("pointermove", this.onMove);
    window.addEventListener("pointerup", this.onUp);
    window.addEventListener("pointercancel", this.onUp);
  }

  onMove(e) {
    if (this.press && !this.d) {
      const dist = Math.hypot(e.clientX - this.press.x, e.clientY - this.press.y);
      if (this.press.type === "mouse") {
        if (dist >= START_PX) this.begin(e.clientX, e.clientY);
      } else if (dist > 10) {
        this.release(); // a scroll, not a drag
      }
      if (!this.d) return;
    }
    if (!this.d) return;
    e.preventDefault();
    this.d.x = e.clientX;
    this.d.y = e.clientY;
    this.position();
  }

  begin(x, y) {
    const { id, cardEl } = this.press;
    clearTimeout(this.press.timer);
    const rect = cardEl.getBoundingClientRect();
    const ghost = cardEl.cloneNode(true);
    ghost.removeAttribute("data-id");
    ghost.removeAttribute("tabindex");
    ghost.setAttribute("aria-hidden", "true");
    ghost.classList.add("drag-ghost");
    ghost.style.width = `${rect.width}px`;
    document.body.appendChild(ghost);
    const placeholder = h("div", { class: "drop-placeholder", "aria-hidden": "true" });
    placeholder.style.height = `${rect.height}px`;
    cardEl.after(placeholder);
    cardEl.classList.add("is-dragging");
    document.body.classList.add("is-dragging-card");
    this.d = { id, cardEl, ghost, placeholder, dx: x - rect.left, dy: y - rect.top, x, y, list: cardEl.parentNode, raf: 0 };
    this.press = null;
    window.addEventListener("keydown", this.onKey, true);
    this.position();
    this.d.raf = requestAnimationFrame(() => this.autoScroll());
    if (navigator.vibrate) try { navigator.vibrate(10); } catch { /* not allowed */ }
  }

  position() {
    const d = this.d;
    d.ghost.style.transform = `translate(${d.x - d.dx}px, ${d.y - d.dy}px) rotate(1.5deg)`;
    const under = document.elementFromPoint(d.x, d.y);
    const colEl = under && under.closest(".column");
    if (colEl && this.page.cols.has(colEl.dataset.id)) d.list = this.page.cols.get(colEl.dataset.id).list;
    const list = d.list;
    // Binary search over the column's cards (top to bottom) for the first
    // whose middle is below the pointer.
    const cards = [];
    for (const el of list.children) if (el.classList.contains("card") && el !== d.cardEl) cards.push(el);
    let lo = 0, hi = cards.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const r = cards[mid].getBoundingClientRect();
      if (r.top + r.height / 2 < d.y) lo = mid + 1; else hi = mid;
    }
    const before = cards[lo] || null;
    if (d.placeholder.parentNode !== list || d.placeholder.nextSibling !== before) {
      if (before) list.insertBefore(d.placeholder, before);
      else list.appendChild(d.placeholder);
    }
    d.index = lo;
    d.colId = list.closest(".column").dataset.id;
  }

  autoScroll() {
    const d = this.d;
    if (!d) return;
    const sc = this.page.scroller.getBoundingClientRect();
    if (d.x < sc.left + EDGE) this.page.scroller.scrollLeft -= 14;
    else if (d.x > sc.right - EDGE) this.page.scroller.scrollLeft += 14;
    const lr = d.list.getBoundingClientRect();
    if (d.x >= lr.left && d.x <= lr.right) {
      if (d.y < lr.top + EDGE && d.y > lr.top - EDGE) d.list.scrollTop -= 12;
      else if (d.y > lr.bottom - EDGE && d.y < lr.bottom + EDGE) d.list.scrollTop += 12;
    }
    d.raf = requestAnimationFrame(() => { if (this.d) { this.position(); this.autoScroll(); } });
  }

  onUp(e) {
    if (!this.d) { this.release(); return; }
    const d = this.d;
    const cancelled = e.type === "pointercancel";
    this.finish();
    if (cancelled) return;
    this.justDropped = true;
    setTimeout(() => { this.justDropped = false; }, 0);
    const c = this.page.model.card(d.id);
    if (!c) return;
    this.page.moveCard(d.id, d.colId, d.index);
    const entry = this.page.cardEls.get(d.id);
    if (entry) entry.el.focus({ preventScroll: true });
  }

  onKey(e) {
    if (e.key === "Escape" && this.d) {
      e.preventDefault();
      e.stopPropagation();
      this.finish();
    }
  }

  release() {
    if (this.press) clearTimeout(this.press.timer);
    this.press = null;
    window.removeEventListener("pointermove", this.onMove);
    window.removeEventListener("pointerup", this.onUp);
    window.removeEventListener("pointercancel", this.onUp);
  }

  finish() {
    const d = this.d;
    this.d = null;
    this.release();
    window.removeEventListener("keydown", this.onKey, true);
    if (!d) return;
    cancelAnimationFrame(d.raf);
    d.ghost.remove();
    d.placeholder.remove();
    d.cardEl.classList.remove("is-dragging");
    document.body.classList.remove("is-dragging-card");
  }

  cancel() { this.finish(); }
}
