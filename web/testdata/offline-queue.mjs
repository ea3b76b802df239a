// Tests of the offline queue's logic (static/js/change-queue.js), run in Node by
// offline_test.go: a fake server with the real server's idempotency and
// rate-limit rules, a fake clock, and the queue over a MemoryStore.

import { ChangeQueue, MemoryStore, mentions, describeChange, DRAIN_RATE, DRAIN_BURST } from "../static/js/change-queue.js";

const failures = [];
function check(cond, msg) { if (!cond) failures.push(msg); }
function eq(a, b, msg) { const ja = JSON.stringify(a), jb = JSON.stringify(b); if (ja !== jb) failures.push(`${msg}\n  got:  ${ja}\n  want: ${jb}`); }

// A fake clock: sleeping advances it.
function clock() {
  const c = { t: 1_700_000_000_000, slept: [] };
  c.now = () => c.t;
  c.sleep = async (ms) => { c.slept.push(ms); c.t += ms; await Promise.resolve(); };
  return c;
}

// fakeServer applies each Idempotency-Key once (a retry gets the first
// answer), keeps a token bucket per user as the real one (burst 100, 50 a
// second) and answers with script(entry, attempt) when it returns something.
function fakeServer(c, script = () => null) {
  const s = { applied: [], answers: new Map(), attempts: new Map(), limited: 0, tokens: 100, at: c.now(), nextId: 1, deleted: new Set() };
  s.transmit = async (e) => {
    const n = (s.attempts.get(e.opId) || 0) + 1;
    s.attempts.set(e.opId, n);
    s.tokens = Math.min(100, s.tokens + ((c.now() - s.at) * 50) / 1000);
    s.at = c.now();
    if (s.tokens < 1 || s.spent) { s.spent = false; s.limited += 1; return { status: 429, data: { code: "rate_limited" }, retryAfter: 1 }; }
    s.tokens -= 1;
    const scripted = script(e, n);
    if (scripted && scripted.before) return scripted.before;
    let res = s.answers.get(e.opId);
    if (!res) {
      if (/\/cards\/tmp-/.test(e.path) || (e.body && JSON.stringify(e.body).includes("tmp-"))) res = { status: 404, data: { code: "not_found", detail: "a temporary id reached the server" } };
      else if (e.path.split("/").some((x) => s.deleted.has(x))) res = { status: 404, data: { code: "not_found", detail: "card not found" } };
      else if (scripted && scripted.refuse) res = scripted.refuse;
      else {
        res = { status: e.method === "POST" && e.temp ? 201 : 200, data: { id: e.temp ? `real-${s.nextId++}` : undefined, version: 1 } };
        s.applied.push({ key: e.opId, method: e.method, path: e.path, body: e.body });
      }
      s.answers.set(e.opId, res);
    }
    if (scripted && scripted.after) return scripted.after; // applied, but the answer was lost
    return res;
  };
  return s;
}

const req = (method, path, body, extra = {}) => ({ method, path, body, opId: `op-${path}-${Math.random().toString(36).slice(2)}`, ...extra });
const B = "/api/boards/b1";
const settle = async (q) => { for (let i = 0; i < 10000 && (q.draining || (q.ready && q.entries.length)); i++) await (q.draining || Promise.resolve()); };

// 1. Queued while offline, in order, from a reload; an ambiguous failure
// is retried with the same key and applies once; a temporary id maps to
// the real one for the changes after it.
{
  const c = clock();
  const store = new MemoryStore();
  const server = fakeServer(c, (e, n) => (e.method === "POST" && e.temp && n === 1 ? { after: { status: 0 } } : null));
  const q1 = new ChangeQueue({ store, owner: "u1/b1", transmit: server.transmit, now: c.now, sleep: c.sleep });
  await q1.loaded;
  q1.add(req("POST", `${B}/cards`, { column_id: "c1", title: "Offline card" }, { temp: "tmp-a" }));
  q1.add(req("PATCH", `${B}/cards/tmp-a`, { title: "Offline card, renamed" }));
  q1.add(req("POST", `${B}/cards/tmp-a/move`, { column_id: "c2", position: { after: "k1" } }));
  q1.add(req("POST", `${B}/cards/tmp-a/comments`, { text: "said offline" }));
  q1.add(req("POST", `${B}/cards/k1/move`, { column_id: "c1", position: { after: "tmp-a" } }));
  q1.add(req("DELETE", `${B}/columns/c3?cards=move&to=c1`));
  eq(server.applied.length, 0, "nothing is sent while not ready");
  eq(q1.waiting, 6, "waiting before the reload");
  // The tab closes; a new page of the same user and board reads the queue.
  const q2 = new ChangeQueue({ store, owner: "u1/b1", transmit: server.transmit, now: c.now, sleep: c.sleep });
  const other = new ChangeQueue({ store, owner: "u2/b1", transmit: server.transmit, now: c.now, sleep: c.sleep });
  await Promise.all([q2.loaded, other.loaded]);
  eq(other.waiting, 0, "another user's queue");
  eq(q2.entries.map((e) => e.label), ["Add card “Offline card”", "Rename a card to “Offline card, renamed”", "Move a card", "Comment on a card", "Move a card", "Delete a column"], "labels after the reload");
  const keys = q2.entries.map((e) => e.opId);
  q2.setReady(true);
  await settle(q2);
  eq(q2.waiting, 0, "all sent");
  eq(server.applied.map((a) => a.key), keys, "applied once each, in order");
  eq(server.attempts.get(keys[0]), 2, "the create was sent again after its answer was lost");
  eq(server.applied.map((a) => a.path), [`${B}/cards`, `${B}/cards/real-1`, `${B}/cards/real-1/move`, `${B}/cards/real-1/comments`, `${B}/cards/k1/move`, `${B}/columns/c3?cards=move&to=c1`], "paths with the real id");
  eq(server.applied[4].body, { column_id: "c1", position: { after: "real-1" } }, "a body naming the temporary id");
  eq((await store.all("u1/b1", "change")).length, 0, "the store is empty after the drain");
  check(c.slept.includes(500), "an ambiguous failure backs off before the retry");
}

// 2. A refused create refuses what depends on it, keeps the text, and lets
// the rest through; an edit of a card deleted meanwhile is refused with
// its text kept.
{
  const c = clock();
  const store = new MemoryStore();
  const server = fakeServer(c, (e) => (e.path.endsWith("/columns") ? { refuse: { status: 403, data: { code: "forbidden", detail: "you can only view this board" } } } : null));
  server.deleted.add("gone");
  const q = new ChangeQueue({ store, owner: "u1/b1", transmit: server.transmit, now: c.now, sleep: c.sleep });
  await q.loaded;
  const outcomes = [];
  const track = (x) => x.done.then(() => outcomes.push("ok"), (err) => outcomes.push(`${err.status}:${err.code}`));
  track(q.add(req("POST", `${B}/columns`, { name: "Later" }, { temp: "tmp-col" })));
  track(q.add(req("POST", `${B}/cards`, { column_id: "tmp-col", title: "In the new column" }, { temp: "tmp-card" })));
  track(q.add(req("PATCH", `${B}/cards/tmp-card`, { description: "a long text typed offline" })));
  track(q.add(req("PATCH", `${B}/cards/gone`, { description: "my careful words" })));
  track(q.add(req("PATCH", `${B}/cards/k2`, { done: true })));
  q.setReady(true);
  await settle(q);
  await Promise.resolve();
  eq(outcomes, ["403:forbidden", "403:dependency_refused", "403:dependency_refused", "404:not_found", "ok"], "outcomes");
  eq(server.applied.map((a) => a.path), [`${B}/cards/k2`], "only the independent change applied");
  eq(q.refused.map((r) => [r.label, r.text, r.status]), [
    ["Add column “Later”", "Later", 403],
    ["Add card “In the new column”", "In the new column", 403],
    ["Edit a card's description", "a long text typed offline", 403],
    ["Edit a card's description", "my careful words", 404],
  ], "the refused changes with their text");
  check(/depends on “Add column “Later””/.test(q.refused[1].reason), "the dependency is the reason: " + q.refused[1].reason);
  eq((await store.all("u1/b1", "refused")).length, 4, "refused changes are stored");
  q.dismiss(q.refused[0].n);
  await Promise.resolve();
  eq((await store.all("u1/b1", "refused")).length, 3, "a dismissed refusal is gone from the store");
  check(!server.applied.some((a) => /tmp-/.test(a.path + JSON.stringify(a.body))), "no temporary id reached the server");
}

// 3. 500 changes drain in order, paced under the server's budget: no 429.
// A spent budget (another tab) is waited out as Retry-After says.
{
  const c = clock();
  const server = fakeServer(c);
  const q = new ChangeQueue({ store: new MemoryStore(), owner: "u1/b1", transmit: server.transmit, now: c.now, sleep: c.sleep });
  await q.loaded;
  const keys = [];
  for (let i = 1; i <= 500; i++) keys.push(q.add(req("PATCH", `${B}/cards/k1`, { title: `t${i}` })).entry.opId);
  const start = c.now();
  q.setReady(true);
  await settle(q);
  eq(server.limited, 0, "429 answers while draining 500 changes");
  eq(server.applied.map((a) => a.key), keys, "500 changes applied once each, in order");
  const took = c.now() - start;
  check(took >= ((500 - DRAIN_BURST) / DRAIN_RATE) * 1000 - 50, `the drain was not paced: ${took} ms of the fake clock`);
  // Another tab spent the budget: the server answers 429 with Retry-After.
  server.limited = 0;
  server.spent = true;
  const before = server.applied.length;
  q.add(req("PATCH", `${B}/cards/k1`, { title: "after a spent budget" }));
  await settle(q);
  eq(server.applied.length, before + 1, "applied after waiting");
  eq(q.stats.waits429, 1, "one 429 waited out");
  check(c.slept.includes(1000), "waited Retry-After (1 s)");
}

// 4. Going offline mid-drain stops it; nothing is lost or sent twice.
{
  const c = clock();
  let q;
  const server = fakeServer(c, (e) => { if (server.applied.length === 2) q.setReady(false); return null; });
  q = new ChangeQueue({ store: new MemoryStore(), owner: "u1/b1", transmit: server.transmit, now: c.now, sleep: c.sleep });
  await q.loaded;
  for (let i = 1; i <= 5; i++) q.add(req("PATCH", `${B}/cards/k1`, { title: `s${i}` }));
  q.setReady(true);
  await settle(q);
  await (q.draining || Promise.resolve());
  check(q.waiting > 0 && q.waiting < 5, `offline mid-drain: ${q.waiting} waiting`);
  q.setReady(true);
  await settle(q);
  eq(server.applied.map((a) => a.body.title), ["s1", "s2", "s3", "s4", "s5"], "after coming back");
}

// 5. A key still in flight (409 idempotency_in_progress) and a 503 are sent
// again; a 412 while live is refused to its caller only (the page rolls it
// back with a message), not listed; a 401 stops the queue and keeps the rest.
{
  const c = clock();
  let authLost = 0;
  const server = fakeServer(c, (e, n) => {
    if (e.body && e.body.title === "busy" && n === 1) return { before: { status: 409, data: { code: "idempotency_in_progress" } } };
    if (e.body && e.body.title === "db down" && n === 1) return { before: { status: 503, data: { code: "unavailable" }, retryAfter: 2 } };
    if (e.body && e.body.title === "stale") return { refuse: { status: 412, data: { code: "version_mismatch", detail: "the card changed", current: { version: 7 } } } };
    if (e.body && e.body.title === "logged out") return { before: { status: 401, data: { code: "unauthenticated" } } };
    return null;
  });
  const store = new MemoryStore();
  const q = new ChangeQueue({ store, owner: "u1/b1", transmit: server.transmit, now: c.now, sleep: c.sleep, onAuthLost: () => { authLost += 1; } });
  await q.loaded;
  q.setReady(true);
  const outcomes = [];
  for (const t of ["busy", "db down", "stale", "after", "logged out", "kept"]) {
    q.add(req("PATCH", `${B}/cards/k1`, { title: t }, { ifMatch: t === "stale" ? 3 : null })).done
      .then(() => outcomes.push(t), (err) => outcomes.push(`${t}:${err.status}:${err.problem.current ? err.problem.current.version : ""}`));
  }
  await settle(q);
  await Promise.resolve();
  eq(server.applied.map((a) => a.body.title), ["busy", "db down", "after"], "applied");
  eq(outcomes, ["busy", "db down", "stale:412:7", "after"], "answers to the page");
  eq(q.refused.length, 0, "a change refused while live is not listed");
  eq(authLost, 1, "the session's end reported");
  eq(q.entries.map((e) => e.body.title), ["logged out", "kept"], "kept after a 401");
  eq((await store.all("u1/b1", "change")).map((e) => e.body.title), ["logged out", "kept"], "stored after a 401");
  check(c.slept.includes(2000), "a 503 waits its Retry-After");
  q.setReady(false);
  q.setReady(true);
  await settle(q);
  eq(server.attempts.get(q.entries[0].opId), 1, "no retry of a 401 in the same page");
}

// 6. Two tabs of one board read the same stored changes: what one sent,
// the other does not send again.
{
  const c = clock();
  const store = new MemoryStore();
  const server = fakeServer(c);
  const first = new ChangeQueue({ store, owner: "u1/b1", transmit: server.transmit, now: c.now, sleep: c.sleep });
  await first.loaded;
  for (let i = 1; i <= 3; i++) first.add(req("PATCH", `${B}/cards/k1`, { title: `tab ${i}` }));
  await Promise.resolve();
  const tab1 = new ChangeQueue({ store, owner: "u1/b1", transmit: server.transmit, now: c.now, sleep: c.sleep });
  const tab2 = new ChangeQueue({ store, owner: "u1/b1", transmit: server.transmit, now: c.now, sleep: c.sleep });
  await Promise.all([tab1.loaded, tab2.loaded]);
  eq([tab1.waiting, tab2.waiting], [3, 3], "both tabs read the stored changes");
  tab1.setReady(true);
  await settle(tab1);
  tab2.setReady(true);
  await settle(tab2);
  eq(server.applied.map((a) => a.body.title), ["tab 1", "tab 2", "tab 3"], "applied once");
  eq([...server.attempts.values()], [1, 1, 1], "sent once each");
  eq(tab2.waiting, 0, "the second tab's queue is empty");
}

// Helpers.
check(mentions({ path: `${B}/columns/c3?cards=move&to=tmp-x`, body: undefined }, "tmp-x"), "mentions in a query");
check(!mentions({ path: `${B}/cards/k1`, body: { title: "tmp-x is my title" } }, "tmp-x"), "text that merely contains an id");
eq(describeChange("PATCH", `${B}/cards/k1`, { done: true }).label, "Mark a card done", "label of done");

if (failures.length) { console.error(failures.join("\n")); process.exit(1); }
console.log("ok");
