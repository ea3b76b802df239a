package migrations

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The rolling-upgrade rule (docs/upgrading.md): during an upgrade the
// previous release's instances run against the new schema, so a migration
// only adds. checkRolling refuses, statement by statement, what an old
// instance could trip over:
//
//   - DROP of anything (a table, view, index, constraint, function, type…),
//     and ALTER TABLE … DROP (a column, a constraint, a default, NOT NULL);
//   - RENAME of anything (old instances use the old name);
//   - ALTER COLUMN … TYPE (old instances read and write the old type);
//   - ALTER COLUMN … SET NOT NULL (old instances may write NULL);
//   - ADD COLUMN … NOT NULL without a DEFAULT (old instances' INSERTs do
//     not name the column);
//   - a new constraint (CHECK, UNIQUE, PRIMARY KEY, FOREIGN KEY, EXCLUDE)
//     or unique index on a table an earlier migration made (old instances
//     may write what it refuses);
//   - TRUNCATE.
//
// Tables a file creates itself are exempt: no old instance knows them. So
// is a unique index or constraint over columns the same file added,
// nullable and without a default: old instances leave them NULL.
//
// A refused statement passes only with a reviewed marker comment directly
// above it (in the comment block between it and the previous statement):
//
//	-- rolling-upgrade: unused since v1.4.0: <what, and why nothing reads it>
//
// for the contract step of a change, shipped in a release after the one
// whose code stopped using the object (v1.4.0 here: instances older than
// that must be gone first), or
//
//	-- rolling-upgrade: compatible: <why old instances are unaffected>
//
// for a change the check cannot see is safe (a constraint every old write
// already satisfies, dropping a foreign key that only relaxes).
var rollingMarker = regexp.MustCompile(`^--\s*rolling-upgrade:\s*(?:unused since v\d+\.\d+\.\d+|compatible):\s*\S.{9,}`)

// rule is one refused kind of statement: pattern over the statement with
// comments and literals removed, upper-cased, whitespace collapsed.
type rule struct {
	what    string
	pattern *regexp.Regexp
	// existingOnly: refused only on a table an earlier file created.
	existingOnly bool
}

var rules = []rule{
	{"drops %s", regexp.MustCompile(`^DROP\s+(.*?)\s*$`), false},
	{"drops %s", regexp.MustCompile(`^ALTER\s+TABLE\s+.*?\bDROP\s+(DEFAULT|NOT\s+NULL|EXPRESSION|IDENTITY|(?:COLUMN\s+|CONSTRAINT\s+)?(?:IF\s+EXISTS\s+)?\S+)`), false},
	{"renames %s", regexp.MustCompile(`^ALTER\s+.*?\bRENAME\b(.*)$`), false},
	{"changes a column's type%s", regexp.MustCompile(`^ALTER\s+TABLE\s+.*?\bALTER\s+(?:COLUMN\s+)?\S+\s+(?:SET\s+DATA\s+)?TYPE\b()`), false},
	{"makes a column NOT NULL%s", regexp.MustCompile(`^ALTER\s+TABLE\s+.*?\bSET\s+NOT\s+NULL\b()`), false},
	{"truncates %s", regexp.MustCompile(`^TRUNCATE\s+(.*)$`), false},
	{"adds a constraint%s", regexp.MustCompile(`^ALTER\s+TABLE\s+.*?\bADD\s+(?:CONSTRAINT\s+\S+\s+)?(?:CHECK|UNIQUE|PRIMARY\s+KEY|FOREIGN\s+KEY|EXCLUDE)\b()`), true},
	{"adds a unique index%s", regexp.MustCompile(`^CREATE\s+UNIQUE\s+INDEX\b()`), true},
}

// statement is one SQL statement of a migration file.
type statement struct {
	line     int      // where it starts
	text     string   // as written, without the comments before it
	norm     string   // comments and literals removed, upper case, spaces collapsed
	comments []string // the comment lines directly above it
}

// splitSQL cuts a migration into statements at the semicolons outside
// quotes, dollar-quoted bodies and comments.
func splitSQL(src string) []statement {
	var out []statement
	var text, norm strings.Builder
	var comments []string
	line, start := 1, 0
	gap := 0 // newlines since the last comment, before a statement begins
	flush := func() {
		if t := strings.TrimSpace(text.String()); t != "" {
			out = append(out, statement{line: start, text: t, norm: strings.Join(strings.Fields(strings.ToUpper(norm.String())), " "), comments: comments})
		}
		text.Reset()
		norm.Reset()
		comments = nil
		gap = 0
	}
	for i := 0; i < len(src); {
		c := src[i]
		empty := strings.TrimSpace(text.String()) == ""
		switch {
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			if empty {
				if gap > 1 { // a blank line ends the comment block above
					comments = nil
				}
				comments = append(comments, strings.TrimSpace(src[i:i+end]))
				gap = 0
			}
			norm.WriteByte(' ')
			i += end
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 2
			}
			body := src[i : i+2+end+2]
			line += strings.Count(body, "\n")
			norm.WriteByte(' ')
			i += len(body)
		case c == '\'' || c == '"':
			end := i + 1
			for end < len(src) {
				if src[end] == c {
					if end+1 < len(src) && src[end+1] == c { // doubled quote
						end += 2
						continue
					}
					break
				}
				end++
			}
			if empty {
				start = line
			}
			lit := src[i:min(end+1, len(src))]
			line += strings.Count(lit, "\n")
			text.WriteString(lit)
			if c == '"' {
				norm.WriteString(lit) // a quoted identifier stays
			} else {
				norm.WriteString("''")
			}
			i += len(lit)
		case c == '$' && dollarTag.MatchString(src[i:]):
			tag := dollarTag.FindString(src[i:])
			end := strings.Index(src[i+len(tag):], tag)
			if end < 0 {
				end = len(src) - i - len(tag)
			} else {
				end += len(tag)
			}
			body := src[i : i+len(tag)+end]
			if empty {
				start = line
			}
			line += strings.Count(body, "\n")
			text.WriteString(body)
			norm.WriteString(" $$ ")
			i += len(body)
		case c == ';':
			flush()
			i++
		default:
			if c == '\n' {
				line++
				if empty {
					gap++
				}
			}
			if empty && c > ' ' {
				start = line
				if gap > 1 {
					comments = nil
				}
			}
			text.WriteByte(c)
			norm.WriteByte(c)
			i++
		}
	}
	flush()
	return out
}

var dollarTag = regexp.MustCompile(`^\$[A-Za-z_]*\$`)

var createTable = regexp.MustCompile(`^CREATE\s+(?:(?:UNLOGGED|TEMP|TEMPORARY)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\S+?)\s*\(`)
var onTable = regexp.MustCompile(`^(?:ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?|CREATE\s+UNIQUE\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?\S*\s*ON\s+(?:ONLY\s+)?)(\S+)`)

// checkRolling returns what in one migration file an instance of the
// previous release could trip over, one line each.
func checkRolling(name, src string) []string {
	var problems []string
	created := map[string]bool{}
	fresh := map[string]bool{} // "table.column" added by this file, nullable and without a default
	for _, st := range splitSQL(src) {
		if m := createTable.FindStringSubmatch(st.norm); m != nil {
			created[strings.Trim(m[1], `"`)] = true
		}
		table := ""
		if m := onTable.FindStringSubmatch(st.norm); m != nil {
			table = strings.Trim(m[1], `"`)
		}
		refused := func(what string) {
			if marked(st.comments) {
				return
			}
			first, _, _ := strings.Cut(st.text, "\n")
			problems = append(problems, fmt.Sprintf("%s:%d: %s (%s): instances of the previous release still run during a rolling upgrade; "+
				"ship only additive changes, or mark a reviewed contract step with \"-- rolling-upgrade: unused since vX.Y.Z: why\" "+
				"(or \"-- rolling-upgrade: compatible: why\") directly above it (docs/upgrading.md)", name, st.line, what, first))
		}
		if table != "" && strings.HasPrefix(st.norm, "ALTER TABLE") {
			for _, col := range addedNullColumns(st.norm) {
				fresh[table+"."+col] = true
			}
		}
		if table != "" && !created[table] && strings.HasPrefix(st.norm, "ALTER TABLE") && addsRequiredColumn(st.norm) {
			refused("adds a NOT NULL column without a DEFAULT on " + strings.ToLower(table))
			continue
		}
		for _, r := range rules {
			m := r.pattern.FindStringSubmatch(st.norm)
			if m == nil || (r.existingOnly && (created[table] || onFreshColumns(st.norm, table, fresh))) {
				continue
			}
			detail := strings.TrimSpace(m[1])
			if detail != "" && !strings.HasPrefix(r.what, "changes") && !strings.HasPrefix(r.what, "makes") && !strings.HasPrefix(r.what, "adds") {
				detail = strings.ToLower(detail)
			} else if table != "" {
				detail = " on " + strings.ToLower(table)
			}
			refused(fmt.Sprintf(r.what, detail))
			break
		}
	}
	return problems
}

// addsRequiredColumn reports whether an ALTER TABLE adds a column that is
// NOT NULL with no DEFAULT (nor generated): an old instance's INSERT, which
// does not name it, would fail.
func addsRequiredColumn(norm string) bool {
	for _, action := range topLevelCommas(norm) {
		a := strings.TrimSpace(action)
		if i := strings.Index(a, " ADD "); strings.HasPrefix(a, "ALTER TABLE") && i >= 0 {
			a = a[i+1:]
		}
		if !strings.HasPrefix(a, "ADD ") {
			continue
		}
		rest := strings.TrimPrefix(a, "ADD ")
		if regexp.MustCompile(`^(?:CONSTRAINT|CHECK|UNIQUE|PRIMARY|FOREIGN|EXCLUDE)\b`).MatchString(rest) {
			continue
		}
		if strings.Contains(a, "NOT NULL") && !strings.Contains(a, "DEFAULT") && !strings.Contains(a, "GENERATED") {
			return true
		}
	}
	return false
}

// addedNullColumns lists the columns an ALTER TABLE adds that are nullable
// and have no default: old instances leave them NULL.
func addedNullColumns(norm string) []string {
	var cols []string
	addCol := regexp.MustCompile(`(?:^|\s)ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?("?[A-Z_][A-Z0-9_]*"?)\s`)
	for _, action := range topLevelCommas(norm) {
		m := addCol.FindStringSubmatch(action)
		if m == nil || regexp.MustCompile(`^(?:CONSTRAINT|CHECK|UNIQUE|PRIMARY|FOREIGN|EXCLUDE)$`).MatchString(m[1]) {
			continue
		}
		if strings.Contains(action, "NOT NULL") || strings.Contains(action, "DEFAULT") || strings.Contains(action, "GENERATED") {
			continue
		}
		cols = append(cols, strings.Trim(m[1], `"`))
	}
	return cols
}

// onFreshColumns reports whether a unique index or constraint covers only
// columns this file added nullable and without a default: old instances
// write NULL there, which a unique index allows any number of times.
func onFreshColumns(norm, table string, fresh map[string]bool) bool {
	m := regexp.MustCompile(`(?:ON\s+(?:ONLY\s+)?\S+\s*|UNIQUE\s*)\(([^()]*)\)`).FindStringSubmatch(norm)
	if m == nil {
		return false
	}
	for _, c := range strings.Split(m[1], ",") {
		if !fresh[table+"."+strings.Trim(strings.TrimSpace(c), `"`)] {
			return false
		}
	}
	return true
}

// topLevelCommas splits s at the commas outside parentheses.
func topLevelCommas(s string) []string {
	var parts []string
	depth, from := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[from:i])
				from = i + 1
			}
		}
	}
	return append(parts, s[from:])
}

func marked(comments []string) bool {
	for _, c := range comments {
		if rollingMarker.MatchString(c) {
			return true
		}
	}
	return false
}

// TestMigrationsSafeForRollingUpgrade checks every migration in FS against
// the rolling-upgrade rule, and that they are numbered 0001, 0002, … with
// no gap or duplicate (forward-only: a released file is never renumbered).
func TestMigrationsSafeForRollingUpgrade(t *testing.T) {
	names, err := fs.Glob(FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no migrations embedded")
	}
	fileName := regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)
	for i, name := range names {
		m := fileName.FindStringSubmatch(name)
		if m == nil {
			t.Errorf("%s: want NNNN_name.sql (lower case)", name)
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n != i+1 {
			t.Errorf("%s: number %d, want %04d: migrations are numbered from 0001 with no gap or duplicate", name, n, i+1)
		}
		if strings.Contains(name, "down") {
			t.Errorf("%s: migrations are forward-only: undo a change with a new migration", name)
		}
		src, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range checkRolling(name, string(src)) {
			t.Error(p)
		}
	}
}

// TestCheckRolling: the check refuses what it says it refuses and lets
// additive changes and marked contract steps through.
func TestCheckRolling(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want string // "" for accepted, else a part of the complaint
	}{
		{"CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL);", ""},
		{"CREATE INDEX t_name ON t (name);", ""},
		{"ALTER TABLE cards ADD COLUMN note text;", ""},
		{"ALTER TABLE cards ADD COLUMN n integer NOT NULL DEFAULT 0, ADD COLUMN m text;", ""},
		{"UPDATE cards SET note = '' WHERE note IS NULL;", ""},
		{"INSERT INTO t (id, name) VALUES (1, 'DROP TABLE cards; RENAME');", ""},
		{"CREATE FUNCTION f() RETURNS void AS $body$ BEGIN DROP TABLE x; END $body$ LANGUAGE plpgsql;", ""},
		{"-- DROP TABLE cards;\nCREATE TABLE x (id int);", ""},
		{"CREATE TABLE t (id int);\nALTER TABLE t ADD CONSTRAINT t_pos CHECK (id > 0);\nCREATE UNIQUE INDEX t_id ON t (id);", ""},

		{"ALTER TABLE events ADD COLUMN position bigint;\nCREATE UNIQUE INDEX events_position ON events (position);", ""},
		{"ALTER TABLE events ADD COLUMN position bigint DEFAULT 0;\nCREATE UNIQUE INDEX events_position ON events (position);", "adds a unique index on events"},
		{"ALTER TABLE events ADD COLUMN position bigint;\nCREATE UNIQUE INDEX events_position ON events (board_id, position);", "adds a unique index on events"},
		{"ALTER TABLE events ADD COLUMN position bigint;\nALTER TABLE events ADD UNIQUE (position);", ""},

		{"DROP TABLE cards;", "drops table cards"},
		{"drop index if exists cards_order;", "drops index if exists cards_order"},
		{"ALTER TABLE cards DROP COLUMN title;", "drops column title"},
		{"ALTER TABLE cards DROP title;", "drops title"},
		{"ALTER TABLE events DROP CONSTRAINT events_board_id_fkey;", "drops constraint events_board_id_fkey"},
		{"ALTER TABLE cards ALTER COLUMN title DROP DEFAULT;", "drops default"},
		{"ALTER TABLE cards ALTER COLUMN due DROP NOT NULL;", "drops not null"},
		{"ALTER TABLE cards RENAME COLUMN title TO name;", "renames"},
		{"ALTER TABLE cards RENAME TO tasks;", "renames"},
		{"ALTER INDEX cards_order RENAME TO cards_rank;", "renames"},
		{"ALTER TABLE cards ALTER COLUMN version TYPE integer;", "changes a column's type on cards"},
		{"ALTER TABLE cards ALTER version SET DATA TYPE integer;", "changes a column's type"},
		{"ALTER TABLE cards ALTER COLUMN title SET NOT NULL;", "makes a column NOT NULL"},
		{"ALTER TABLE cards ADD COLUMN n integer NOT NULL;", "adds a NOT NULL column without a DEFAULT"},
		{"ALTER TABLE cards ADD COLUMN m text, ADD n int NOT NULL;", "adds a NOT NULL column without a DEFAULT"},
		{"ALTER TABLE cards ADD CONSTRAINT title_short CHECK (length(title) < 10);", "adds a constraint on cards"},
		{"ALTER TABLE cards ADD UNIQUE (board_id, id);", "adds a constraint on cards"},
		{"CREATE UNIQUE INDEX cards_title ON cards (title);", "adds a unique index on cards"},
		{"TRUNCATE events;", "truncates events"},
		{"-- rolling-upgrade: unused since v1.4: too short a version\nDROP TABLE cards;", "drops table cards"},
		{"-- rolling-upgrade: unused since v1.4.0: x\nDROP TABLE cards;", "drops table cards"},                                                      // no reason
		{"-- rolling-upgrade: compatible: old instances never read it\n\nDROP TABLE cards;", "drops table cards"},                                   // not directly above
		{"-- rolling-upgrade: unused since v1.4.0: nothing reads cards.legacy since v1.4.0\nDROP TABLE x;\nDROP TABLE cards;", "drops table cards"}, // marks one statement

		{"-- rolling-upgrade: unused since v1.4.0: nothing reads cards.legacy since v1.4.0\nALTER TABLE cards DROP COLUMN legacy;", ""},
		{"-- Events outlive their board now.\n-- rolling-upgrade: compatible: dropping a foreign key only relaxes\nALTER TABLE events DROP CONSTRAINT events_board_id_fkey;", ""},
	} {
		problems := checkRolling("x.sql", tc.sql)
		switch {
		case tc.want == "" && len(problems) > 0:
			t.Errorf("%q refused: %v", tc.sql, problems)
		case tc.want != "" && (len(problems) != 1 || !strings.Contains(problems[0], tc.want)):
			t.Errorf("%q: got %v, want one complaint with %q", tc.sql, problems, tc.want)
		}
	}
}
