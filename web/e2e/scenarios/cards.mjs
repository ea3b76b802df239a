// Browser scenarios: what is on a card: comments and checklists, labels, activity, attachments.
// Registered in lib.mjs's scenarios; run by browser.mjs (see e2e_test.go).

import { join } from "node:path";
import {
  cfg, I0, I1, U, scenario, t0, run, log, fail, assert, eq, sleep, browser, pages, problems, launch, open, checkPages, shot, call, newBoard, labelsMade, labelId, addCard, snapshot, expected, shown, sameAsDB, gotoBoard, control, card, column, within, has, inOrder, scenarios, demoBoard,
} from "../lib.mjs";

// Comments and checklists: two people on two instances with one card open.
// A comment (with markup and a URL) shows up live on the other screen as
// text with a safe link; a checklist made by one is ticked and reordered by
// keyboard by the other; the card faces show the counts; the board exports
// and imports through the page.
scenarios.cardthings = async () => {
  const { board, cols } = await newBoard("alice", `Card things ${run}`, ["Todo", "Done"], { bob: "editor" });
  const c = await addCard("alice", board.id, cols[0].id, "Launch plan");
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  for (const P of [A, B]) {
    await card(P, "Launch plan").click();
    await P.locator("dialog.card-dialog .cd-comments .muted", { hasText: "No comments yet." }).waitFor();
  }
  const dA = A.locator("dialog.card-dialog"), dB = B.locator("dialog.card-dialog");

  // alice comments; bob sees it live in his open dialog.
  const text = `<img src=x onerror="window.__xss=1"> see https://example.com/spec?a=1&b=2.\nsecond line`;
  await dA.getByLabel("New comment").fill(text);
  let start = Date.now();
  await dA.getByRole("button", { name: "Comment", exact: true }).click();
  await B.waitForFunction(() => [...document.querySelectorAll("dialog.card-dialog .comment-text")].some((p) => p.textContent.includes("second line")),
    null, { polling: 10 });
  log(`comment seen by the other in ${Date.now() - start} ms`);
  const shownText = await dB.locator(".comment-text").first().textContent();
  eq(shownText, text, "the comment as bob sees it");
  const links = await dB.locator(".comment-text a").evaluateAll((as) => as.map((a) => [a.getAttribute("href"), a.getAttribute("rel"), a.textContent]));
  eq(links, [["https://example.com/spec?a=1&b=2", "noopener noreferrer", "https://example.com/spec?a=1&b=2"]], "the link in the comment");
  eq(await B.evaluate(() => [window.__xss ?? null, document.querySelectorAll("dialog.card-dialog .comment img").length]), [null, 0], "markup from the comment");
  // bob cannot edit alice's comment; alice edits hers, bob sees "(edited)".
  eq(await dB.getByRole("button", { name: "Edit your comment" }).count(), 0, "bob's edit button on alice's comment");
  await dA.getByRole("button", { name: "Edit your comment" }).click();
  await dA.getByLabel("Edit comment").fill("Plan agreed.");
  await dA.getByRole("button", { name: "Save" }).click();
  await dB.locator(".comment-edited").waitFor();
  eq(await dB.locator(".comment-text").first().textContent(), "Plan agreed.", "the edited comment on bob's screen");

  // bob makes a checklist with two items; alice sees it live.
  await dB.getByLabel("New checklist name").fill("Steps");
  await dB.getByRole("button", { name: "Add checklist" }).click();
  const add = dB.getByLabel("Add an item to Steps");
  await add.fill("Write notes");
  await add.press("Enter");
  await dB.locator(".item-text", { hasText: "Write notes" }).waitFor();
  await add.fill("Ship it");
  await add.press("Enter");
  await dA.locator(".item-text", { hasText: "Ship it" }).waitFor();
  // alice ticks "Ship it" with the keyboard and moves it up with Alt+ArrowUp.
  const box = dA.getByLabel("Ship it", { exact: true });
  await box.focus();
  await A.keyboard.press("Space");
  await dB.locator(".checklist-item.is-done .item-text", { hasText: "Ship it" }).waitFor();
  await box.focus();
  await A.keyboard.press("Alt+ArrowUp");
  await B.waitForFunction(() => JSON.stringify([...document.querySelectorAll("dialog.card-dialog .item-text")].map((x) => x.textContent)) ===
    JSON.stringify(["Ship it", "Write notes"]));
  // bob drags "Write notes" above "Ship it" and back below it; alice sees both.
  await dB.locator(".checklist-item", { hasText: "Write notes" }).dragTo(dB.locator(".checklist-item", { hasText: "Ship it" }), { targetPosition: { x: 40, y: 3 } });
  await A.waitForFunction(() => JSON.stringify([...document.querySelectorAll("dialog.card-dialog .item-text")].map((x) => x.textContent)) ===
    JSON.stringify(["Write notes", "Ship it"]));
  await dB.locator(".checklist-item", { hasText: "Write notes" }).dragTo(dB.locator(".checklist-item", { hasText: "Ship it" }), { targetPosition: { x: 40, y: 20 } });
  await A.waitForFunction(() => JSON.stringify([...document.querySelectorAll("dialog.card-dialog .item-text")].map((x) => x.textContent)) ===
    JSON.stringify(["Ship it", "Write notes"]));
  // bob rewords an item in place; alice sees it.
  await dB.getByRole("button", { name: "Edit Write notes" }).click();
  await dB.getByLabel("Item text").fill("Write the notes");
  await dB.getByLabel("Item text").press("Enter");
  await dA.locator(".item-text", { hasText: "Write the notes" }).waitFor();
  // Markup in a checklist's name and items is shown as text on both screens.
  const evil = `<img src=x onerror="window.__xss=2">`;
  const xl = await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/checklists`, { name: evil });
  await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/checklists/${xl.id}/items`, { text: evil });
  for (const d of [dA, dB]) {
    await d.locator(".checklist-name", { hasText: evil }).waitFor();
    await d.locator(".item-text", { hasText: evil }).waitFor();
  }
  for (const P of [A, B]) {
    eq(await P.evaluate(() => [window.__xss ?? null, document.querySelectorAll("dialog.card-dialog img, dialog.card-dialog script").length]), [null, 0],
      `${P.label}: markup from checklist text reached the DOM`);
  }
  await call("alice", "DELETE", `/api/boards/${board.id}/cards/${c.id}/checklists/${xl.id}`);
  await dB.locator(".checklist-name", { hasText: evil }).waitFor({ state: "detached" });
  // Counts on both card faces.
  for (const P of [A, B]) {
    await P.keyboard.press("Escape");
    await P.locator("dialog.card-dialog").waitFor({ state: "detached" });
    await card(P, "Launch plan").locator(".checklist-count", { hasText: "1/2" }).waitFor();
    await card(P, "Launch plan").locator(".comment-count", { hasText: "1" }).waitFor();
  }
  await inOrder(A);
  await inOrder(B);
  const lists = await call("alice", "GET", `/api/boards/${board.id}/cards/${c.id}/checklists`);
  eq(lists.checklists[0].items.map((x) => [x.text, x.done]), [["Ship it", true], ["Write the notes", false]], "the checklist in the database");

  // Export through the API, import through the boards page's file picker.
  const doc = await call("alice", "GET", `/api/boards/${board.id}/export`);
  await A.goto("/");
  await A.locator("#import-file").setInputFiles({ name: "board.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(doc)) });
  await A.waitForURL((u) => /\/boards\//.test(u.pathname) && !u.pathname.endsWith(board.id));
  await A.waitForSelector('.conn[data-conn="live"]');
  await card(A, "Launch plan").locator(".checklist-count", { hasText: "1/2" }).waitFor();
  // A file that is not a board is refused with the server's reason.
  await A.goto("/");
  await A.locator("#import-file").setInputFiles({ name: "x.json", mimeType: "application/json", buffer: Buffer.from('{"hello": 1}') });
  await A.locator(".toast", { hasText: "neither a Corkboard export" }).waitFor();
};

// Board labels: cards show the board's labels as colour chips; A (on
// instance 0) renames and recolours a label in the label manager and B (on
// instance 1) sees the chip change live on every card that has it; a
// deleted label leaves every card; B makes a label in the card dialog and A
// sees it. A label name that is an XSS payload stays text. The chip colours
// have enough contrast in light and dark. And a card with everything on it
// (labels, due, description, checklist, comments, assignees, and — served
// here by the page's network layer, as branch attach's server will —
// attachment count and cover), shot in light and dark.
scenarios.labels = async () => {
  const xss = `<img src=x onerror="window.__xss=9">`;
  const { board, cols } = await newBoard("alice", `Labels ${run}`, ["Todo", "Done"], { bob: "editor", carol: "editor", dave: "editor" });
  const B_ = `/api/boards/${board.id}`;
  const bug = await call("alice", "POST", `${B_}/labels`, { name: "Bug", color: "red" });
  const feature = await call("alice", "POST", `${B_}/labels`, { name: "Feature", color: "green" });
  const evil = await call("alice", "POST", `${B_}/labels`, { name: xss, color: "pink" });
  const day = (n) => { const d = new Date(); d.setDate(d.getDate() + n); return d.toISOString().slice(0, 10); };
  const fix = await call("alice", "POST", `${B_}/cards`, { column_id: cols[0].id, title: "Fix the login flow", labels: [bug.id, evil.id], due: day(-2) });
  const docs = await call("alice", "POST", `${B_}/cards`, { column_id: cols[0].id, title: "Write the docs", labels: [feature.id, bug.id], due: day(-2), done: true });
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  const chipsAre = ([title, want]) => {
    const got = [...document.querySelectorAll(".card")].filter((k) => k.querySelector(".card-title").textContent === title)
      .flatMap((k) => [...k.querySelectorAll(".card-meta .label")].map((l) => `${l.textContent}=${l.className.replace(/.*lc-/, "")}`));
    return JSON.stringify(got) === JSON.stringify(want);
  };
  for (const P of [A, B]) {
    await P.waitForFunction(chipsAre, ["Fix the login flow", ["Bug=red", `${xss}=pink`]]);
    await P.waitForFunction(chipsAre, ["Write the docs", ["Feature=green", "Bug=red"]]);
    // Due: red when past and not done, green when done.
    eq(await card(P, "Fix the login flow").locator(".due").getAttribute("class"), "due overdue", `${P.label}: an overdue card's due date`);
    eq(await card(P, "Write the docs").locator(".due").getAttribute("class"), "due is-done", `${P.label}: a done card's due date`);
    // The name is the chip's text and its tooltip.
    eq(await card(P, "Fix the login flow").locator(".label").first().getAttribute("title"), "Bug (red)", `${P.label}: chip tooltip`);
  }

  // A renames and recolours Bug in the label manager; B sees both cards change.
  await A.getByRole("button", { name: "Board actions" }).click();
  await A.getByRole("menuitem", { name: "Labels" }).click();
  const mgr = A.locator("dialog.labels-dialog");
  await mgr.waitFor();
  const name = mgr.getByLabel("Name of label Bug", { exact: true });
  await name.fill("Defect");
  let start = Date.now();
  await name.press("Enter");
  await within(B, 1000, start, "B sees Bug renamed Defect on both cards", ([a, b]) => {
    const on = (title) => [...document.querySelectorAll(".card")].filter((k) => k.querySelector(".card-title").textContent === title)
      .flatMap((k) => [...k.querySelectorAll(".card-meta .label")].map((l) => l.textContent));
    return on(a).includes("Defect") && on(b).includes("Defect") && !on(a).includes("Bug");
  }, ["Fix the login flow", "Write the docs"]);
  await mgr.getByLabel("Colour of label Defect", { exact: true }).selectOption("purple");
  start = Date.now();
  await within(B, 1000, start, "B sees Defect recoloured purple", chipsAre, ["Fix the login flow", ["Defect=purple", `${xss}=pink`]]);
  await B.waitForFunction(chipsAre, ["Write the docs", ["Feature=green", "Defect=purple"]]);
  await shot(A, "labels-manager");

  // A deletes Feature: one event takes it off the card, on both screens.
  await mgr.getByRole("button", { name: "Delete label Feature" }).click();
  await A.locator("dialog.modal").getByRole("button", { name: "Delete", exact: true }).click();
  start = Date.now();
  await within(B, 1000, start, "B sees Feature gone", chipsAre, ["Write the docs", ["Defect=purple"]]);
  await mgr.getByRole("button", { name: "Done" }).click();

  // B makes a label in the card dialog; it goes on the card; A sees it.
  await card(B, "Write the docs").click();
  const dlg = B.locator("dialog.card-dialog");
  await dlg.waitFor();
  await dlg.getByRole("button", { name: "Labels", exact: true }).click();
  await dlg.getByLabel("Name of the new label").fill("Urgent");
  await dlg.getByLabel("Colour of the new label").selectOption("sky");
  start = Date.now();
  await dlg.getByRole("button", { name: "Create", exact: true }).click();
  await within(A, 1000, start, "A sees B's new label on the card", chipsAre, ["Write the docs", ["Defect=purple", "Urgent=sky"]]);
  // ...and takes Defect off with the picker's checkbox.
  await dlg.locator(".label-option", { hasText: "Defect" }).locator("input").uncheck();
  await A.waitForFunction(chipsAre, ["Write the docs", ["Urgent=sky"]]);
  await dlg.locator(".label-option", { hasText: "Urgent" }).locator("input:checked").waitFor();
  await shot(B, "labels-card-dialog");
  await B.keyboard.press("Escape");

  // Nothing of the XSS label name ran or became markup.
  for (const P of [A, B]) {
    const injected = await P.evaluate(() => ({ xss: window.__xss, imgs: document.querySelectorAll(".columns img, dialog img").length }));
    eq(injected, { xss: undefined, imgs: 0 }, `${P.label}: the label name became markup`);
  }
  for (const P of [A, B]) await sameAsDB(P, P === A ? "alice" : "bob", board.id);
  const a = await inOrder(A), b = await inOrder(B);
  eq(b.map((x) => x.kind), a.map((x) => x.kind), "A and B applied different events");
  assert(a.some((x) => x.kind === "label.updated") && a.some((x) => x.kind === "label.deleted"), "label events applied");

  // Contrast of the ten chip colours, light and dark: at least 4.5:1.
  const D = await open("D(alice dark)", "alice", I0, { colorScheme: "dark", viewport: { width: 1280, height: 800 } });
  await gotoBoard(D, board.id);
  for (const P of [A, D]) {
    const ratios = await P.evaluate((colors) => {
      const lum = (rgb) => {
        const [r, g, b] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => {
          v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const out = {};
      for (const c of colors) {
        const el = document.createElement("span");
        el.className = `label lc-${c}`;
        el.textContent = c;
        document.body.appendChild(el);
        const st = getComputedStyle(el);
        const [x, y] = [lum(st.color), lum(st.backgroundColor)];
        out[c] = Math.round(((Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05)) * 10) / 10;
        el.remove();
      }
      return out;
    }, ["green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "gray"]);
    log(`${P.label} chip contrast`, JSON.stringify(ratios));
    for (const [c, r] of Object.entries(ratios)) assert(r >= 4.5, `${P.label}: label colour ${c} has contrast ${r}:1, under 4.5:1`);
  }

  // A card with everything on it.
  const full = await call("alice", "POST", `${B_}/cards`, { column_id: cols[1].id, title: "Launch checklist for the Q3 release",
    description: "Everything that has to happen on launch day.", labels: [bug.id, evil.id], due: day(-1),
    assignees: [U.alice.id, U.bob.id, U.carol.id, U.dave.id] });
  for (const name of ["Design", "Marketing"]) await call("alice", "POST", `${B_}/labels`, { name, color: name === "Design" ? "blue" : "orange" });
  const snap0 = await snapshot("alice", board.id);
  const byName = (n) => snap0.labels.find((l) => l.name === n).id;
  const faceLabels = ["Defect", xss, "Design", "Marketing", "Urgent"];
  await call("alice", "PATCH", `${B_}/cards/${full.id}`, { labels: faceLabels.map(byName) });
  const list = await call("alice", "POST", `${B_}/cards/${full.id}/checklists`, { name: "Steps" });
  for (const [text, done] of [["Freeze", true], ["Tag", true], ["Deploy", false], ["Announce", false], ["Celebrate", false]]) {
    await call("alice", "POST", `${B_}/cards/${full.id}/checklists/${list.id}/items`, { text, done });
  }
  for (const [who, text] of [["bob", "Ready on my side."], ["carol", "Copy is final."], ["alice", "Go at 10:00."]]) {
    await call(who, "POST", `${B_}/cards/${full.id}/comments`, { text });
  }
  const coverId = "00000000-0000-4000-8000-00000000c0de";
  const png = Buffer.from(await D.evaluate(() => {
    const c = document.createElement("canvas");
    c.width = 480; c.height = 200;
    const g = c.getContext("2d");
    const grad = g.createLinearGradient(0, 0, 480, 200);
    grad.addColorStop(0, "#4f46e5"); grad.addColorStop(1, "#06b6d4");
    g.fillStyle = grad; g.fillRect(0, 0, 480, 200);
    g.fillStyle = "rgba(255,255,255,.9)"; g.font = "bold 36px sans-serif"; g.fillText("Q3 launch", 150, 112);
    return c.toDataURL("image/png").split(",")[1];
  }), "base64");
  let thumbs = 0;
  for (const [P, scheme] of [[await open("F(alice face)", "alice", I0, { viewport: { width: 1100, height: 700 }, scale: 2 }), "light"],
    [await open("G(alice face dark)", "alice", I0, { viewport: { width: 1100, height: 700 }, scale: 2, colorScheme: "dark" }), "dark"]]) {
    // The snapshot as a server with attachments gives it: the card has 2
    // attachments and an image as its cover.
    await P.route(`**/api/boards/${board.id}`, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const k of body.cards) if (k.id === full.id) Object.assign(k, { attachment_count: 2, cover: coverId });
      await route.fulfill({ response: res, json: body });
    });
    await P.route(`**/api/boards/${board.id}/cards/${full.id}/attachments/${coverId}/thumbnail`, (route) => {
      thumbs++;
      return route.fulfill({ status: 200, contentType: "image/png", body: png });
    });
    await gotoBoard(P, board.id);
    const face = card(P, "Launch checklist for the Q3 release");
    await face.locator(".card-cover img").waitFor();
    await P.waitForFunction(() => { const i = document.querySelector(".card-cover img"); return i && i.complete && i.naturalWidth > 0; });
    eq(await face.locator(".card-cover img").getAttribute("loading"), "lazy", "the cover loads lazily");
    eq(await face.locator(".attachment-count").textContent(), "2", "attachment count");
    eq(await face.locator(".checklist-count").textContent(), "2/5", "checklist progress");
    eq(await face.locator(".comment-count").textContent(), "3", "comment count");
    eq(await face.locator(".assignees [role=img]").evaluateAll((els) => els.map((e) => e.getAttribute("aria-label"))),
      ["alice", "bob", "carol", "and dave"], "avatars named by username");
    eq(await face.locator(".card-meta .label").allTextContents(), faceLabels, "chips on the full card, in the card's order");
    await face.scrollIntoViewIfNeeded();
    await face.screenshot({ path: join(cfg.artifacts, `card-face-${scheme}.png`) });
    log("screenshot", join(cfg.artifacts, `card-face-${scheme}.png`));
  }
  assert(thumbs >= 2, "the cover thumbnail was requested");
  void fix; void docs;
};


// activity: what cardthings leaves out of issue 11's list. Two people on
// two instances; A comments and B sees it live on the card face (no dialog
// open) and in the board's activity panel; B ticks and reorders checklist
// items and A sees them live; the card's activity list (A) and the board's
// panel (B) show both people's changes, live, and page back ("Show
// older"); markup in a card title, a comment and a checklist item is text
// in both, and nothing is injected.
scenarios.activity = async () => {
  const evil = {
    title: `<img src=x onerror="window.__xss=1">Plan`,
    comment: `<script>window.__xss=2</script> looks good <b>bold</b>`,
    item: `<svg onload="window.__xss=3">Ship`,
  };
  const { board, cols } = await newBoard("alice", `Activity ${run}`, ["Doing", "Done"], { bob: "editor" });
  const c = await addCard("alice", board.id, cols[0].id, evil.title);
  const list = await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/checklists`, { name: "Steps" });
  for (const text of ["Write tests", evil.item]) await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/checklists/${list.id}/items`, { text });
  // More than a page of the panel (30) before anyone looks.
  for (let i = 0; i < 30; i++) await addCard("alice", board.id, cols[1].id, `Filler ${i}`);

  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  const texts = (P, sel) => P.evaluate((s) => [...document.querySelectorAll(s)].map((x) => x.querySelector(".act-text").textContent), sel);
  const waitEntry = async (P, sel, want, what) => {
    try {
      await P.waitForFunction(([s, w]) => [...document.querySelectorAll(s)].some((x) => x.querySelector(".act-text").textContent === w), [sel, want], { timeout: 10000, polling: 20 });
    } catch {
      fail(`${P.label}: ${what}: no entry ${JSON.stringify(want)} in ${JSON.stringify(await texts(P, sel))}`);
    }
  };
  const PANEL = ".activity-panel .act-entry", CARD = "dialog.card-dialog .cd-activity .act-entry";

  // bob opens the board's activity panel from the board menu: the newest
  // page, then older pages on demand.
  await B.getByRole("button", { name: "Board actions" }).click();
  await B.getByRole("menuitem", { name: "Activity" }).click();
  await B.locator(".activity-panel").waitFor();
  await waitEntry(B, PANEL, "alice added Filler 29 to Done", "the newest page");
  eq(await B.locator(PANEL).count(), 30, "entries of the panel's first page");
  await B.getByRole("button", { name: "Show older" }).click();
  await waitEntry(B, PANEL, "alice added the column Doing", "an older page");
  await waitEntry(B, PANEL, `alice added ${evil.title} to Doing`, "the card's creation");

  // alice opens the card and comments; bob sees the count on the card face
  // and the comment in his panel, live.
  await card(A, "Plan").click();
  const dA = A.locator("dialog.card-dialog");
  await waitEntry(A, CARD, "alice added this card to Doing", "the card's activity");
  await dA.getByLabel("New comment").fill(evil.comment);
  let start = Date.now();
  await dA.getByRole("button", { name: "Comment", exact: true }).click();
  await card(B, "Plan").locator(".comment-count", { hasText: "1" }).waitFor();
  log(`comment count on the other's card face in ${Date.now() - start} ms`);
  await waitEntry(B, PANEL, `alice commented on ${evil.title}`, "alice's comment");
  eq(await B.locator(PANEL).first().locator(".act-quote").textContent(), evil.comment, "the comment quoted in the panel");
  await waitEntry(A, CARD, "alice commented", "alice's own comment in her card activity");

  // bob opens the card, ticks "Write tests" and moves the other item up
  // with the keyboard; alice sees both in the checklist and the activity.
  await card(B, "Plan").click();
  const dB = B.locator("dialog.card-dialog");
  await dB.locator(".item-text", { hasText: "Write tests" }).waitFor();
  start = Date.now();
  await dB.getByLabel("Write tests", { exact: true }).check();
  await dA.locator(".checklist-item.is-done .item-text", { hasText: "Write tests" }).waitFor();
  log(`tick seen by the other in ${Date.now() - start} ms`);
  await waitEntry(A, CARD, "bob ticked Write tests", "bob's tick");
  const evilBox = dB.getByLabel(evil.item, { exact: true });
  await evilBox.focus();
  await B.keyboard.press("Alt+ArrowUp");
  await A.waitForFunction((want) => JSON.stringify([...document.querySelectorAll("dialog.card-dialog .item-text")].map((x) => x.textContent)) === want,
    JSON.stringify([evil.item, "Write tests"]));
  await waitEntry(A, CARD, `bob reordered ${evil.item}`, "bob's reorder");
  await B.keyboard.press("Escape");
  await dB.waitFor({ state: "detached" });
  await waitEntry(B, PANEL, `bob ticked Write tests on ${evil.title}`, "bob's own tick in his panel");
  await waitEntry(B, PANEL, `bob reordered ${evil.item} on ${evil.title}`, "bob's own reorder in his panel");

  // alice moves the card to Done from her dialog; both lists say so.
  await dA.getByRole("button", { name: "Move to next column" }).click();
  await waitEntry(A, CARD, "alice moved this card from Doing to Done", "the move in the card's activity");
  await waitEntry(B, PANEL, `alice moved ${evil.title} from Doing to Done`, "the move in the board's panel");
  await shot(B, "activity-panel");
  // Both people's changes, newest first, in alice's card activity.
  const mine = await texts(A, CARD);
  eq(mine.slice(0, 4), ["alice moved this card from Doing to Done", `bob reordered ${evil.item}`, "bob ticked Write tests", "alice commented"],
    "the newest entries of the card's activity");
  // The card's activity, read afresh, says the same (the server's prev).
  await A.keyboard.press("Escape");
  await dA.waitFor({ state: "detached" });
  await card(A, "Plan").click();
  await waitEntry(A, CARD, "alice moved this card from Doing to Done", "the move, reloaded");
  eq((await texts(A, CARD)).slice(0, 4), mine.slice(0, 4), "the card's activity reloaded from the server");
  await dA.locator(".cd-activity").scrollIntoViewIfNeeded();
  await shot(A, "activity-card");

  // Nothing of the markup ran or became an element.
  await sleep(300);
  for (const P of [A, B]) {
    eq(await P.evaluate(() => [window.__xss ?? null,
      document.querySelectorAll(".activity-panel img, .activity-panel script, .activity-panel svg:not(.icon), .activity-panel b, .cd-activity img, .cd-activity script, .cd-activity svg:not(.icon), .cd-activity b, .comment img, .comment script, .checklist-item svg:not(.icon)").length]),
    [null, 0], `${P.label}: markup from user text in the activity`);
  }
  await inOrder(A);
  await inOrder(B);
};

// pngFile is a w×h PNG (left half red, right half blue), made here with
// zlib so that the scenario needs no image files.
async function pngFile(w, h) {
  const { deflateSync } = await import("node:zlib");
  const table = [...Array(256)].map((_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = table[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      if (x < w / 2) raw[o] = 220; else raw[o + 2] = 220;
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

scenarios.attachments = async () => {
  const { board, cols } = await newBoard("alice", `Attachments ${run}`, ["Todo"], { bob: "editor" });
  const c = await addCard("alice", board.id, cols[0].id, "Design review");
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  for (const P of [A, B]) {
    await card(P, "Design review").click();
    await P.locator("dialog.card-dialog .cd-attachments .muted", { hasText: "No attachments." }).waitFor();
  }
  const dA = A.locator("dialog.card-dialog"), dB = B.locator("dialog.card-dialog");

  // alice picks an image whose name is markup; bob, on the other instance,
  // sees it with its thumbnail, and its name as text.
  const evilName = `<img src=x onerror="window.__xss=4">.png`;
  let start = Date.now();
  await dA.locator(".cd-attachments input[type=file]").setInputFiles({ name: evilName, mimeType: "image/png", buffer: await pngFile(600, 300) });
  await B.waitForFunction(() => {
    const img = document.querySelector("dialog.card-dialog img.att-thumb");
    return img && img.complete && img.naturalWidth > 0;
  }, null, { polling: 20, timeout: 10000 });
  log(`upload seen with its thumbnail on the other instance in ${Date.now() - start} ms`);
  eq(await dB.locator(".att-thumb").evaluate((img) => [img.naturalWidth, img.naturalHeight]), [256, 128], "the thumbnail's size");
  eq(await dB.locator(".att-name").textContent(), evilName, "the file name as bob sees it");
  for (const P of [A, B]) {
    eq(await P.evaluate(() => [window.__xss ?? null, document.querySelectorAll("dialog.card-dialog img:not(.att-thumb), dialog.card-dialog script").length]),
      [null, 0], `${P.label}: markup from the file name reached the DOM`);
  }
  await card(B, "Design review").locator(".card-title").waitFor(); // the board behind the dialog still there

  // A page disguised as an image, dropped on the dialog: no thumbnail,
  // and downloading it runs nothing (served as an attachment, sandboxed).
  const html = `<html><body><script>parent.__xss = 5</script>hi</body></html>`;
  const dt = await A.evaluateHandle((text) => {
    const d = new DataTransfer();
    d.items.add(new File([text], "cat.png", { type: "image/png" }));
    return d;
  }, html);
  await dA.dispatchEvent("drop", { dataTransfer: dt });
  await dB.locator(".attachment", { hasText: "cat.png" }).waitFor();
  eq(await dB.locator(".attachment", { hasText: "cat.png" }).locator("img").count(), 0, "a thumbnail for a page");
  const list = await call("bob", "GET", `/api/boards/${board.id}/cards/${c.id}/attachments`, undefined, I1);
  const [pic, page] = list.attachments;
  eq([pic.content_type, page.content_type, page.name], ["image/png", "text/html; charset=utf-8", "cat.png"], "the sniffed types");
  const heads = await B.evaluate(async (urls) => {
    const out = [];
    for (const u of urls) {
      const r = await fetch(u);
      out.push([r.status, r.headers.get("content-disposition").split(";")[0], r.headers.get("content-security-policy"), r.headers.get("x-content-type-options")]);
    }
    return out;
  }, [`/api/boards/${board.id}/cards/${c.id}/attachments/${pic.id}/content`, `/api/boards/${board.id}/cards/${c.id}/attachments/${page.id}/content`]);
  eq(heads, [[200, "inline", "default-src 'none'; sandbox", "nosniff"], [200, "attachment", "default-src 'none'; sandbox", "nosniff"]], "download headers");

  // bob makes the image the cover; alice sees it; alice deletes the image
  // and the cover goes with it on both screens.
  await dB.locator(".attachment", { has: B.locator(".att-thumb") }).getByRole("button", { name: "Make cover" }).click();
  await dA.getByRole("button", { name: "Remove cover" }).waitFor();
  eq((await snapshot("alice", board.id)).cards[0].cover, pic.id, "the cover in the snapshot");
  await shot(A, "attachments-dialog");
  await dA.getByRole("button", { name: `Delete ${evilName}` }).click();
  await A.locator("dialog.modal:not(.card-dialog)").getByRole("button", { name: "Delete" }).click();
  await dB.locator("img.att-thumb").waitFor({ state: "detached" });
  await dB.getByRole("button", { name: "Make cover" }).waitFor({ state: "detached" });
  const after = await snapshot("alice", board.id);
  eq([after.cards[0].cover, after.cards[0].attachment_count], [null, 1], "the card after its cover was deleted");
  for (const P of [A, B]) eq(await P.evaluate(() => window.__xss ?? null), null, `${P.label}: a script ran`);
};
