// Corkboard's browser scenarios, run one per process by e2e_test.go:
//
//   node web/e2e/browser.mjs <scenario>
//
// with CORKBOARD_E2E naming the JSON file the Go test wrote (instance URLs,
// the control URL that stops and starts instances, the users and their
// session secrets, Chromium's path and the artifacts folder). Each scenario
// launches headless Chromium with a fresh profile, fails on any dialog,
// uncaught error or CSP violation in a page, and exits non-zero on failure.
// The scenarios are in scenarios/*.mjs, by area; what they share is in
// lib.mjs.

import { join } from "node:path";
import { browser, cfg, checkPages, launch, log, pages, problems, scenario, scenarios } from "./lib.mjs";
import "./scenarios/basics.mjs";
import "./scenarios/cards.mjs";
import "./scenarios/pictures.mjs";
import "./scenarios/offline.mjs";
import "./scenarios/page.mjs";
import "./scenarios/follow.mjs";

async function main() {
  const fn = scenarios[scenario];
  if (!fn) { console.error(`unknown scenario ${scenario}; have ${Object.keys(scenarios).join(", ")}`); process.exit(2); }
  await launch();
  try {
    await fn();
    await checkPages();
    log(`PASS ${scenario}`);
  } catch (err) {
    for (const p of pages) {
      if (!p.isClosed()) await p.screenshot({ path: join(cfg.artifacts, `fail-${scenario}-${p.label.replace(/[^a-z0-9]+/gi, "_")}.png`) }).catch(() => {});
    }
    console.error(`FAIL ${scenario}: ${err.stack || err}`);
    if (problems.length) console.error("page problems:\n  " + problems.join("\n  "));
    process.exitCode = 1;
  } finally {
    await browser.close().catch(() => {});
  }
}

await main();
