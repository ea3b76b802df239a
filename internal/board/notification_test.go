package board

import (
	"slices"
	"strings"
	"testing"
)

func TestMentions(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"", nil},
		{"hello @bob", []string{"bob"}},
		{"@Bob and @alice, and @bob again", []string{"bob", "alice"}},
		{"thanks @bob.", []string{"bob.", "bob"}},
		{"mail me at carol@example.com", nil},
		{"@@bob", nil},
		{"@ab too short", nil},
		{"(@dave_x)", []string{"dave_x"}},
		{"@.dots", nil},
		{"@" + strings.Repeat("a", 40), []string{strings.Repeat("a", 32)}},
		{"héllo @zoë", nil},
	} {
		if got := Mentions(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("Mentions(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
	var many strings.Builder
	for i := range 300 {
		many.WriteString("@user" + strings.Repeat("x", i%20) + string(rune('a'+i%26)) + " ")
	}
	if got := Mentions(many.String()); len(got) > 2*MaxMentions {
		t.Errorf("%d mentions, want at most %d", len(got), 2*MaxMentions)
	}
}

func FuzzMentions(f *testing.F) {
	f.Add("hi @bob.")
	f.Fuzz(func(t *testing.T, s string) {
		for _, u := range Mentions(s) {
			if len(u) < 3 || len(u) > 32 || u != strings.ToLower(u) {
				t.Fatalf("Mentions(%q) gave %q", s, u)
			}
		}
	})
}

func TestExcerpt(t *testing.T) {
	if got := Excerpt("  short  "); got != "short" {
		t.Errorf("got %q", got)
	}
	long := strings.Repeat("é", 500)
	if got := Excerpt(long); len([]rune(got)) != MaxExcerpt {
		t.Errorf("excerpt of %d runes", len([]rune(got)))
	}
}
