package natsbus

import (
	"regexp"
	"testing"
)

func TestSubjects(t *testing.T) {
	for _, tc := range []struct{ kind, board string }{
		{"event", "6f1c2a9e-0000-4000-8000-000000000001"},
		{"presence", "b"},
		{"revoke", ""},
		{"typing", ""},
	} {
		s := subject(tc.kind, tc.board)
		kind, board, ok := parseSubject(s)
		if !ok || kind != tc.kind || board != tc.board {
			t.Errorf("%s parses to (%q, %q, %v), want (%q, %q)", s, kind, board, ok, tc.kind, tc.board)
		}
	}
	for _, s := range []string{"corkboard.board.x", "corkboard.board.x.", "corkboard.all.", "corkboard.all.a.b", "other.event", "corkboard.board..event"} {
		if kind, board, ok := parseSubject(s); ok {
			t.Errorf("%s parses to (%q, %q)", s, kind, board)
		}
	}
}

// validKind is the regular expression ^[a-z][a-z0-9_-]{0,31}$, as a loop.
func TestValidKind(t *testing.T) {
	pattern := regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	kinds := []string{"", "event", "typing", "a", "a1_-", "1a", "_a", "-a", "Event", "ev.ent", "ev ent", "évent", "a\n",
		"abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz0123456", "z9", "a\x00"}
	for _, k := range kinds {
		if got, want := validKind(k), pattern.MatchString(k); got != want {
			t.Errorf("validKind(%q) = %v, want %v", k, got, want)
		}
	}
}

func FuzzValidKind(f *testing.F) {
	pattern := regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	f.Add("event")
	f.Add("Not A Token")
	f.Fuzz(func(t *testing.T, k string) {
		if got, want := validKind(k), pattern.MatchString(k); got != want {
			t.Errorf("validKind(%q) = %v, want %v", k, got, want)
		}
	})
}
