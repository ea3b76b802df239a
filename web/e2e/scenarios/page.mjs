// Browser scenarios: the page around the board: the small fixes (phone layout, theme, view-only sign, shortcuts) and the axe-core accessibility checks.
// Registered in lib.mjs's scenarios; run by browser.mjs (see e2e_test.go).

import { readFileSync } from "node:fs";
import {
  cfg, I0, I1, U, scenario, t0, run, log, fail, assert, eq, sleep, browser, pages, problems, launch, open, checkPages, shot, call, newBoard, labelsMade, labelId, addCard, snapshot, expected, shown, sameAsDB, gotoBoard, control, card, column, within, has, inOrder, scenarios, demoBoard,
} from "../lib.mjs";

// --- issue 12's small fixes and the accessibility check --------------------

// noPageScroll fails when the page itself scrolls sideways (a board's
// columns scroll inside the board, which is fine).
async function noPageScroll(page, what) {
  // A phone's layout viewport grows to fit what overflows: compare with the
  // width the page was given too.
  const [sw, iw] = await page.evaluate(() => [document.scrollingElement.scrollWidth, window.innerWidth]);
  const vw = page.viewportSize().width;
  assert(sw <= iw && sw <= vw, `${page.label}: ${what} scrolls sideways: scrollWidth ${sw} (innerWidth ${iw}, viewport ${vw})`);
}

// notCut fails when an element's text is cut (ellipsis or clipped).
async function notCut(loc, what) {
  const [sw, cw, text] = await loc.evaluate((el) => [el.scrollWidth, el.clientWidth, el.textContent]);
  assert(sw <= cw, `${what} “${text}” is cut: scrollWidth ${sw} > clientWidth ${cw}`);
}

// guideShortcuts reads the keyboard table of docs/guide.md: [where, key,
// does] with an empty where continuing the row above, as shortcuts.js has it.
function guideShortcuts() {
  const md = readFileSync(new URL("../../../docs/guide.md", import.meta.url), "utf8");
  const sec = md.split(/^## Keyboard$/m)[1].split(/^## /m)[0];
  return sec.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| where") && !l.startsWith("| ---"))
    .map((l) => l.slice(1, -1).split(" | ").map((c) => c.trim().replaceAll("`", "")));
}

scenarios.uifix = async () => {
  // The log-in page asks who is logged in without a failed request.
  const L = await open("L(logged out)", null, I0);
  const failed = [];
  L.on("console", (m) => { if (m.type() === "error") failed.push(m.text()); });
  L.on("response", (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
  await L.goto("/");
  await L.waitForURL(/\/login$/);
  await L.getByRole("button", { name: "Log in" }).waitFor();
  await L.reload();
  await L.getByRole("button", { name: "Log in" }).waitFor();
  eq(failed, [], "errors and failed requests while loading the log-in page");

  // A viewer sees "View only"; an owner does not.
  const { board, cards } = await demoBoard();
  const D = await open("D(dave viewer)", "dave", I0);
  await gotoBoard(D, board.id);
  const sign = D.locator(".view-only");
  await sign.waitFor();
  eq((await sign.textContent()).trim(), "View only", "the viewer's sign");
  assert(await sign.getAttribute("title"), "the sign says why");
  const A = await open("A(alice@0)", "alice", I0, { viewport: { width: 1280, height: 720 } });
  await gotoBoard(A, board.id);
  assert(await A.locator(".view-only").isHidden(), "an owner sees no View only sign");
  await shot(D, "uifix-view-only", { clip: { x: 0, y: 0, width: 760, height: 120 } });

  // A card added at the bottom of a long column is scrolled into view.
  const { board: long, cols } = await newBoard("alice", `Long ${run}`, ["Many"]);
  for (let i = 1; i <= 40; i++) await addCard("alice", long.id, cols[0].id, `Card number ${i}`);
  await gotoBoard(A, long.id);
  await A.getByRole("button", { name: "Add a card" }).click();
  // The person scrolled up the column to read while the field is open (a
  // list left at its bottom may follow by scroll anchoring, which not every
  // browser has).
  await A.evaluate(() => { document.querySelector(".cards").scrollTop = 0; });
  await A.keyboard.type("The newest card");
  await A.keyboard.press("Enter");
  await A.waitForFunction(has.card, ["Many", "The newest card"]);
  await sleep(200); // any late scrolling or layout
  const visible = await A.evaluate(() => {
    const k = [...document.querySelectorAll(".card")].find((c) => c.querySelector(".card-title").textContent === "The newest card");
    const list = k.closest(".cards").getBoundingClientRect(), r = k.getBoundingClientRect();
    return { card: [r.top, r.bottom], list: [list.top, list.bottom], inView: r.top >= list.top - 1 && r.bottom <= list.bottom + 1 && r.bottom <= innerHeight };
  });
  assert(visible.inView, `the new card is not in view: ${JSON.stringify(visible)}`);
  await shot(A, "uifix-new-card-in-view");

  // The keyboard shortcuts in the page: "?" and the help button, row for
  // row those of docs/guide.md.
  await A.keyboard.press("Escape"); // closes the composer: focus on "Add a card"
  await A.keyboard.press("?");
  const dlg = A.locator("dialog.shortcuts-dialog");
  await dlg.waitFor();
  const rows = await dlg.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
  eq(rows, guideShortcuts(), "the shortcuts dialog against docs/guide.md#keyboard");
  await shot(A, "uifix-shortcuts");
  await A.keyboard.press("Escape");
  await dlg.waitFor({ state: "detached" });
  await A.getByRole("button", { name: "Keyboard shortcuts" }).click();
  await dlg.waitFor();
  await dlg.getByRole("button", { name: "Close" }).click();
  await dlg.waitFor({ state: "detached" });

  // A 390 px phone: no page scrolls sideways, and an 11-character board
  // name is shown whole, on the list and on the board.
  const name = "Sprint 2027";
  const { board: sprint } = await newBoard("alice", name, ["To do", "Doing", "Done"], { bob: "editor", dave: "viewer" });
  await addCard("alice", sprint.id, (await snapshot("alice", sprint.id)).columns[0].id, "A card with a longer title that wraps on a phone");
  const phone = { viewport: { width: 390, height: 844 }, scale: 2, isMobile: true, hasTouch: true };
  const PL = await open("PL(phone, logged out)", null, I0, phone);
  await PL.goto("/login");
  await PL.getByRole("button", { name: "Log in" }).waitFor();
  await noPageScroll(PL, "the log-in page");
  await shot(PL, "uifix-phone-login");
  const P = await open("P(alice phone)", "alice", I0, phone);
  await P.goto("/");
  const tile = P.locator(".board-tile", { hasText: name }).first();
  await tile.waitFor();
  await noPageScroll(P, "the boards page");
  await notCut(tile.locator(".tile-name"), "the board tile's name");
  await shot(P, "uifix-phone-boards");
  // Someone else on the board: their avatar takes room in the top bar too.
  const B = await open("B(bob@1)", "bob", I1);
  await gotoBoard(B, sprint.id);
  await gotoBoard(P, sprint.id);
  await P.waitForFunction(() => document.querySelector(".presence").dataset.count === "1");
  await noPageScroll(P, "the board page");
  await notCut(P.locator(".board-name"), "the board's name in the top bar");
  await shot(P, "uifix-phone-board");
  const PD = await open("PD(dave phone, viewer)", "dave", I0, phone);
  await gotoBoard(PD, sprint.id);
  await PD.waitForFunction(() => Number(document.querySelector(".presence").dataset.count) >= 1);
  await PD.locator(".view-only").waitFor();
  await noPageScroll(PD, "the board page of a viewer");
  await notCut(PD.locator(".board-name"), "the board's name in a viewer's top bar");
  await shot(PD, "uifix-phone-board-viewer");
  await gotoBoard(P, board.id); // the demo board: presence, labels, more columns
  await noPageScroll(P, "a busy board page");
  await card(P, "Billing: proration on plan change").click();
  await P.locator("dialog.card-dialog .comment").first().waitFor();
  await noPageScroll(P, "the card dialog");
  await shot(P, "uifix-phone-card");
};

// axe runs axe-core in the page and fails on serious or critical
// violations. The context must bypass the CSP: axe.min.js goes in as an
// inline script.
async function axe(page, what) {
  if (!(await page.evaluate(() => !!window.axe))) {
    await page.addScriptTag({ path: new URL("../../node_modules/axe-core/axe.min.js", import.meta.url).pathname });
  }
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const lines = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n      ` +
    v.nodes.slice(0, 6).map((n) => `${n.target.join(" ")} — ${(n.failureSummary || "").replaceAll("\n", " ")}`).join("\n      "));
  log(`axe ${what}: ${res.violations.length} violations (${res.violations.map((v) => `${v.impact} ${v.id}`).join(", ") || "none"}), ${bad.length} serious or critical`);
  if (bad.length) axeFound.push(`${page.label}: axe on ${what}:\n    ${lines.join("\n    ")}`);
}

// axeFound collects what axe found on every page, for one report.
const axeFound = [];

scenarios.a11y = async () => {
  const { board } = await demoBoard();
  for (const scheme of ["light", "dark"]) {
    const opts = { colorScheme: scheme, bypassCSP: true, viewport: { width: 1280, height: 800 } };
    const L = await open(`L(logged out, ${scheme})`, null, I0, opts);
    await L.goto("/login");
    await L.getByRole("button", { name: "Log in" }).waitFor();
    await axe(L, `the log-in page (${scheme})`);
    await shot(L, `a11y-login-${scheme}`, { clip: { x: 400, y: 100, width: 480, height: 560 } });
    await L.goto("/signup");
    await L.getByRole("button", { name: "Create account" }).waitFor();
    await axe(L, `the sign-up page (${scheme})`);
    const A = await open(`A(alice, ${scheme})`, "alice", I0, opts);
    await A.goto("/");
    await A.locator(".board-tile").first().waitFor();
    await axe(A, `the boards page (${scheme})`);
    await gotoBoard(A, board.id);
    await axe(A, `the board (${scheme})`);
    await card(A, "Billing: proration on plan change").click();
    await A.locator("dialog.card-dialog .comment").first().waitFor();
    await A.locator("dialog.card-dialog .checklist-item").first().waitFor();
    await axe(A, `the card dialog (${scheme})`);
    await A.keyboard.press("Escape");
    await A.locator("dialog.card-dialog").waitFor({ state: "detached" });
    await A.getByRole("button", { name: "Board actions" }).click();
    await A.getByRole("menuitem", { name: "Activity" }).click();
    await A.locator(".activity-panel .act-entry").first().waitFor();
    await axe(A, `the board's activity panel (${scheme})`);
    await A.keyboard.press("Escape");
    await A.locator(".activity-panel").waitFor({ state: "hidden" });
    await A.getByRole("button", { name: "Keyboard shortcuts" }).click();
    await A.locator("dialog.shortcuts-dialog").waitFor();
    await axe(A, `the shortcuts dialog (${scheme})`);
    await A.keyboard.press("Escape");
    await A.locator(".user-chip").click();
    await A.getByRole("menu", { name: "Account" }).waitFor();
    await axe(A, `the account menu (${scheme})`);
    await A.getByRole("menuitem", { name: "Account" }).click();
    await A.getByRole("heading", { name: "Your account" }).waitFor();
    await axe(A, `the account page (${scheme})`);
    const D = await open(`D(dave viewer, ${scheme})`, "dave", I0, opts);
    await gotoBoard(D, board.id);
    await axe(D, `the board as a viewer (${scheme})`);
  }

  // The theme can be chosen: it is remembered, applied before the first
  // paint (set when the parser reaches <body>, before any module runs), and
  // the chosen dark passes too.
  const T = await open("T(alice, light system, dark chosen)", "alice", I0, { colorScheme: "light", viewport: { width: 1280, height: 800 } });
  await T.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (!document.body) return;
      window.__themeAtBody = document.documentElement.getAttribute("data-theme");
      window.__schemeAtBody = getComputedStyle(document.documentElement).colorScheme;
      obs.disconnect();
    }).observe(document, { childList: true, subtree: true });
  });
  await gotoBoard(T, board.id);
  const bg = () => T.evaluate(() => getComputedStyle(document.body).backgroundColor);
  eq(await bg(), "rgb(245, 244, 240)", "the light background");
  await T.locator(".user-chip").click();
  await T.getByRole("menuitemradio", { name: "Dark theme" }).click();
  eq(await bg(), "rgb(22, 23, 26)", "the dark background once chosen");
  eq(await T.evaluate(() => localStorage.getItem("corkboard-theme")), "dark", "the remembered theme");
  await T.reload();
  await T.waitForSelector('.conn[data-conn="live"]');
  eq(await T.evaluate(() => [window.__themeAtBody, window.__schemeAtBody]), ["dark", "dark"], "the theme when the parser reached <body>");
  eq(await bg(), "rgb(22, 23, 26)", "the dark background after a reload");
  await T.locator(".user-chip").click();
  eq(await T.getByRole("menuitemradio", { name: "Dark theme" }).getAttribute("aria-checked"), "true", "the menu marks the chosen theme");
  await shot(T, "a11y-theme-menu");
  await T.getByRole("menuitemradio", { name: "System theme" }).click();
  eq(await bg(), "rgb(245, 244, 240)", "the system's (light) background again");
  eq(await T.evaluate(() => [localStorage.getItem("corkboard-theme"), document.documentElement.getAttribute("data-theme")]), [null, null], "system: nothing stored");
  // Chosen light on a dark system.
  const TL = await open("TL(alice, dark system, light chosen)", "alice", I0, { colorScheme: "dark", bypassCSP: true, viewport: { width: 1280, height: 800 } });
  await TL.goto("/");
  await TL.locator(".board-tile").first().waitFor();
  eq(await TL.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(22, 23, 26)", "the dark system's background");
  await TL.locator(".user-chip").click();
  await TL.getByRole("menuitemradio", { name: "Light theme" }).click();
  eq(await TL.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(245, 244, 240)", "light chosen on a dark system");
  await axe(TL, "the boards page (light chosen on a dark system)");
  await shot(TL, "a11y-light-on-dark-system");
  assert(axeFound.length === 0, "serious or critical accessibility violations:\n  " + axeFound.join("\n  "));
};
