package web

import (
	"testing"
)

// TestFilterMatches runs the filter bar's matching (static/js/filter.js)
// in Node: text in the title or description or a comment hit, label,
// assignee (mine, none, a member), due (overdue, this week, none) and done,
// all of them at once.
func TestFilterMatches(t *testing.T) {
	script := `
import { cardMatches } from ` + pageModule(t, "static/js/filter.js") + `;
const fail = (m) => { console.error(m); process.exit(1); };
// Wednesday 2026-12-02, noon: this week runs to Sunday 2026-12-06.
const now = new Date(2026, 11, 2, 12);
const any = { q: "", label: "", assignee: "", due: "", done: "" };
const card = { id: "k", title: "Write the Release notes", description: "for the **launch**", labels: ["l1"],
  assignees: ["me"], due: "2026-12-01", done: false };
const cases = [
  [{}, card, true],
  [{ q: "release" }, card, true],
  [{ q: "LAUNCH notes" }, card, true],
  [{ q: "rel note" }, card, true],
  [{ q: "release budget" }, card, false],
  [{ q: "budget" }, card, false],
  [{ q: "budget" }, card, true, new Set(["k"])],
  [{ label: "l1" }, card, true],
  [{ label: "l2" }, card, false],
  [{ assignee: "mine" }, card, true],
  [{ assignee: "mine" }, { ...card, assignees: ["bob"] }, false],
  [{ assignee: "none" }, card, false],
  [{ assignee: "none" }, { ...card, assignees: [] }, true],
  [{ assignee: "bob" }, { ...card, assignees: ["me", "bob"] }, true],
  [{ due: "overdue" }, card, true],
  [{ due: "overdue" }, { ...card, done: true }, false],
  [{ due: "overdue" }, { ...card, due: "2026-12-02" }, false],
  [{ due: "week" }, { ...card, due: "2026-12-02" }, true],
  [{ due: "week" }, { ...card, due: "2026-12-06" }, true],
  [{ due: "week" }, { ...card, due: "2026-12-07" }, false],
  [{ due: "week" }, card, false],
  [{ due: "none" }, card, false],
  [{ due: "none" }, { ...card, due: null }, true],
  [{ done: "yes" }, card, false],
  [{ done: "no" }, card, true],
  [{ q: "notes", label: "l1", assignee: "mine", due: "overdue", done: "no" }, card, true],
  [{ q: "notes", label: "l1", assignee: "mine", due: "overdue", done: "yes" }, card, false],
];
for (const [s, c, want, hits] of cases) {
  const got = cardMatches({ ...any, ...s }, c, "me", hits || new Set(), now);
  if (got !== want) fail("filter " + JSON.stringify(s) + " on " + JSON.stringify(c) + ": " + got + ", want " + want);
}
console.log("ok");
`
	runModuleScript(t, "filter.js", script)
}
