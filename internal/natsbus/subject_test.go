package natsbus

import "testing"

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
