// Small DOM helpers. Everything user-written goes into the page as text
// (textContent, attribute values), never as HTML: nothing here parses markup.

// h creates an element: h("div", {class: "x", text: "…", on: {click: fn}, attrs: {…}}, ...children).
// Children are nodes, strings (text nodes), or null/false (skipped).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      switch (k) {
        case "class": el.className = v; break;
        case "text": el.textContent = v; break;
        case "on": for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn); break;
        case "dataset": Object.assign(el.dataset, v); break;
        case "value": el.value = v; break;
        case "checked": el.checked = !!v; break;
        case "disabled": el.disabled = !!v; break;
        case "hidden": el.hidden = !!v; break;
        case "style": throw new Error("no inline styles (CSP): use a class");
        default:
          if (k.startsWith("on")) throw new Error("no inline handlers: use on: {…}");
          el.setAttribute(k, v === true ? "" : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// svg icons, built with DOM APIs from fixed path data (no user input).
const ICONS = {
  plus: "M12 5v14M5 12h14",
  more: "M5 12h.01M12 12h.01M19 12h.01",
  grip: "M9 6h.01M15 6h.01M9 12h.01M15 12h.01M9 18h.01M15 18h.01",
  check: "M5 12.5l4.5 4.5L19 7",
  x: "M6 6l12 12M18 6L6 18",
  left: "M15 6l-6 6 6 6",
  right: "M9 6l6 6-6 6",
  up: "M6 15l6-6 6 6",
  down: "M6 9l6 6 6-6",
  users: "M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1M9.5 10a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM21 19v-1a4 4 0 0 0-3-3.85M15.5 3.15a3.5 3.5 0 0 1 0 6.7",
  archive: "M4 7h16v12H4zM3 4h18v3H3zM10 11h4",
  trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  calendar: "M4 6h16v14H4zM4 10h16M9 3v4M15 3v4",
  back: "M19 12H5M11 18l-6-6 6-6",
  edit: "M4 20h4L19 9l-4-4L4 16zM14 6l4 4",
  board: "M4 4h5v16H4zM10 4h5v10h-5zM16 4h4v7h-4z",
  text: "M4 6h16M4 12h16M4 18h10",
  comment: "M4 5h16v11H9l-5 4z",
  checklist: "M4 7l2 2 3-3M4 15l2 2 3-3M12 8h8M12 16h8",
  download: "M12 4v11M7 10l5 5 5-5M5 20h14",
  upload: "M12 20V9M7 14l5-5 5 5M5 4h14",
  help: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM9.5 9.2a2.6 2.6 0 0 1 5 .8c0 1.8-2.5 2.2-2.5 3.6M12 17h.01",
  eye: "M2.5 12S6 5.5 12 5.5 21.5 12 21.5 12 18 18.5 12 18.5 2.5 12 2.5 12zM12 14.8a2.8 2.8 0 1 0 0-5.6 2.8 2.8 0 0 0 0 5.6z",
  search: "M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13zM15.5 15.5L20 20",
  paperclip: "M20 11.5l-7.8 7.8a5 5 0 01-7.1-7.1l8.5-8.5a3.3 3.3 0 014.7 4.7l-8.5 8.5a1.7 1.7 0 01-2.4-2.4l7.8-7.8",
  bell: "M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0",
};

export function icon(name, cls = "icon") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", name === "more" ? cls + " icon-more" : cls);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", ICONS[name]);
  svg.appendChild(p);
  return svg;
}

// hue picks one of a fixed set of colour classes for a string (labels,
// avatars), so the same text always gets the same colour.
export function hue(s) {
  let x = 0;
  for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) >>> 0;
  return "c" + (x % 8);
}

export function initials(name) {
  const parts = String(name || "?").split(/[\s._-]+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[1][0] : String(name || "?").slice(0, 2);
  return s.toUpperCase();
}

export function avatar(name, extraClass = "") {
  return h("span", { class: `avatar ${hue(name || "")} ${extraClass}`.trim(), role: "img", title: name, "aria-label": name },
    initials(name));
}

// clear removes every child of el.
export function clear(el) { el.replaceChildren(); return el; }
