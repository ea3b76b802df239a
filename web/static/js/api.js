// The REST API client: JSON in and out, problem documents as ApiError,
// X-Op-Id for the live confirmation of optimistic changes, Idempotency-Key so
// that a request retried after a network error is applied once.

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `request failed (${status})`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || "";
  }
}

let opCounter = 0;
const clientTag = Math.random().toString(36).slice(2, 10);

// newOpId returns an operation id unique to this page: it goes out as X-Op-Id
// and comes back as the op_id of the resulting event.
export function newOpId() {
  opCounter += 1;
  return `web-${clientTag}-${Date.now().toString(36)}-${opCounter}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// request sends one API call. Options: body (JSON), ifMatch (a version
// number), opId, raw (a body sent as it is, as JSON). Unsafe requests carry an Idempotency-Key and are retried
// up to twice after a network failure. It resolves to {status, data, etag}
// and rejects with ApiError (the server said no) or a TypeError-based
// ApiError with status 0 (the server could not be reached).
export function request(method, path, opts = {}) {
  if (method === "GET" || method === "HEAD") return send(method, path, opts);
  // Unsafe requests go one after another, so that the server commits a
  // person's changes in the order they made them (two quick moves of one
  // card must not land the other way round). The interceptor (the board's
  // offline queue) may take a request over: it is then queued in order
  // here and answered when the queue has sent it.
  const run = unsafeQueue.then(() => {
    const taken = interceptor && interceptor(method, path, opts);
    return taken ? { taken } : send(method, path, opts);
  });
  unsafeQueue = run.catch(() => {});
  return run.then((r) => (r && r.taken ? r.taken : r));
}

let unsafeQueue = Promise.resolve();
let interceptor = null;

// setInterceptor routes unsafe requests through fn(method, path, opts),
// which returns a promise of the answer for a request it takes over, or
// null to let it go out as usual. setInterceptor(null, fn) removes fn if
// it is still the one in place.
export function setInterceptor(fn, was) {
  if (fn || interceptor === was) interceptor = fn;
}

async function send(method, path, opts) {
  const headers = { Accept: "application/json" };
  let body;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  } else if (opts.raw !== undefined) {
    headers["Content-Type"] = "application/json"; // the server says what is wrong with it
    body = opts.raw;
  }
  if (opts.ifMatch) headers["If-Match"] = `"${opts.ifMatch}"`;
  const unsafe = method !== "GET" && method !== "HEAD";
  if (unsafe && opts.opId) {
    headers["X-Op-Id"] = opts.opId;
    if (!path.startsWith("/api/auth/")) headers["Idempotency-Key"] = opts.opId;
  }
  let res;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
      break;
    } catch (err) {
      if (!unsafe || !opts.opId || attempt >= 2) {
        throw new ApiError(0, { detail: "the server could not be reached — check your connection", code: "network" });
      }
      await sleep(400 * (attempt + 1));
    }
  }
  const type = res.headers.get("Content-Type") || "";
  let data = null;
  if (res.status !== 204) {
    const text = await res.text();
    if (text && (type.includes("json"))) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith("/api/auth/")) {
      window.dispatchEvent(new CustomEvent("corkboard:unauthenticated"));
    }
    throw new ApiError(res.status, data);
  }
  const etag = res.headers.get("ETag");
  // An entity's version ("3"); a snapshot's tag ("s41", its seq) is not one.
  const version = etag && /^(W\/)?"\d+"$/.test(etag) ? Number(etag.replace(/^W\//, "").replaceAll('"', "")) : null;
  return { status: res.status, data, etag: version };
}

export const api = {
  me: () => request("GET", "/api/auth/me"),
  // session answers {user: {id, username}} or {user: null}: never a 401.
  session: () => request("GET", "/api/auth/session"),
  signup: (username, password) => request("POST", "/api/auth/signup", { body: { username, password } }),
  login: (username, password) => request("POST", "/api/auth/login", { body: { username, password } }),
  logout: () => request("POST", "/api/auth/logout"),
  changePassword: (current_password, new_password) => request("POST", "/api/auth/password", { body: { current_password, new_password } }),
  sessions: () => request("GET", "/api/auth/sessions"),
  endSession: (id) => request("DELETE", `/api/auth/sessions/${encodeURIComponent(id)}`),
  tokens: () => request("GET", "/api/auth/tokens"),
  createToken: (name, expires_in) => request("POST", "/api/auth/tokens", { body: expires_in ? { name, expires_in } : { name } }),
  revokeToken: (id) => request("DELETE", `/api/auth/tokens/${encodeURIComponent(id)}`),

  boards: () => request("GET", "/api/boards"),
  createBoard: (name, opId) => request("POST", "/api/boards", { body: { name }, opId }),
  updateBoard: (id, patch, opId) => request("PATCH", `/api/boards/${id}`, { body: patch, opId }),
  deleteBoard: (id, opId) => request("DELETE", `/api/boards/${id}`, { opId }),
  snapshot: (id) => request("GET", `/api/boards/${id}`),

  createColumn: (b, body, opId, temp) => request("POST", `/api/boards/${b}/columns`, { body, opId, temp }),
  updateColumn: (b, c, patch, opId) => request("PATCH", `/api/boards/${b}/columns/${c}`, { body: patch, opId }),
  moveColumn: (b, c, position, opId) => request("POST", `/api/boards/${b}/columns/${c}/move`, { body: { position }, opId }),
  deleteColumn: (b, c, cards, to, opId) => {
    const q = new URLSearchParams();
    if (cards) q.set("cards", cards);
    if (to) q.set("to", to);
    const qs = q.toString();
    return request("DELETE", `/api/boards/${b}/columns/${c}${qs ? "?" + qs : ""}`, { opId });
  },

  createCard: (b, body, opId, temp) => request("POST", `/api/boards/${b}/cards`, { body, opId, temp }),
  updateCard: (b, c, patch, opId, ifMatch) => request("PATCH", `/api/boards/${b}/cards/${c}`, { body: patch, opId, ifMatch }),
  moveCard: (b, c, body, opId) => request("POST", `/api/boards/${b}/cards/${c}/move`, { body, opId }),
  archiveCard: (b, c, archived, opId) => request("POST", `/api/boards/${b}/cards/${c}/${archived ? "archive" : "unarchive"}`, { opId }),
  deleteCard: (b, c, opId) => request("DELETE", `/api/boards/${b}/cards/${c}`, { opId }),

  comments: (b, c) => request("GET", `/api/boards/${b}/cards/${c}/comments`),
  createComment: (b, c, text, opId) => request("POST", `/api/boards/${b}/cards/${c}/comments`, { body: { text }, opId }),
  updateComment: (b, c, k, text, opId, ifMatch) => request("PATCH", `/api/boards/${b}/cards/${c}/comments/${k}`, { body: { text }, opId, ifMatch }),
  deleteComment: (b, c, k, opId) => request("DELETE", `/api/boards/${b}/cards/${c}/comments/${k}`, { opId }),

  checklists: (b, c) => request("GET", `/api/boards/${b}/cards/${c}/checklists`),
  createChecklist: (b, c, name, opId) => request("POST", `/api/boards/${b}/cards/${c}/checklists`, { body: { name }, opId }),
  renameChecklist: (b, c, l, name, opId) => request("PATCH", `/api/boards/${b}/cards/${c}/checklists/${l}`, { body: { name }, opId }),
  deleteChecklist: (b, c, l, opId) => request("DELETE", `/api/boards/${b}/cards/${c}/checklists/${l}`, { opId }),
  createItem: (b, c, l, body, opId) => request("POST", `/api/boards/${b}/cards/${c}/checklists/${l}/items`, { body, opId }),
  updateItem: (b, c, l, i, patch, opId) => request("PATCH", `/api/boards/${b}/cards/${c}/checklists/${l}/items/${i}`, { body: patch, opId }),
  moveItem: (b, c, l, i, body, opId) => request("POST", `/api/boards/${b}/cards/${c}/checklists/${l}/items/${i}/move`, { body, opId }),
  deleteItem: (b, c, l, i, opId) => request("DELETE", `/api/boards/${b}/cards/${c}/checklists/${l}/items/${i}`, { opId }),

  exportBoard: (b) => request("GET", `/api/boards/${b}/export`),
  importBoard: (text, opId) => request("POST", "/api/boards/import", { raw: text, opId }),

  addMember: (b, username, role, opId) => request("POST", `/api/boards/${b}/members`, { body: { username, role }, opId }),
  updateMember: (b, u, role, opId) => request("PATCH", `/api/boards/${b}/members/${encodeURIComponent(u)}`, { body: { role }, opId }),
  removeMember: (b, u, opId) => request("DELETE", `/api/boards/${b}/members/${encodeURIComponent(u)}`, { opId }),
};

// describe turns an error into a sentence for a person.
export function describe(err) {
  if (err instanceof ApiError) {
    const p = err.problem || {};
    let msg = p.detail || p.title || err.message;
    if (p.field && msg && !msg.toLowerCase().includes(String(p.field).toLowerCase())) msg = `${p.field}: ${msg}`;
    return msg;
  }
  return (err && err.message) || String(err);
}
