package board

import (
	"strings"
	"testing"
)

func render(parts []HighlightPart) string {
	var s strings.Builder
	for _, p := range parts {
		if p.Match {
			s.WriteString("[" + p.Text + "]")
		} else {
			s.WriteString(p.Text)
		}
	}
	return s.String()
}

func TestMarkWords(t *testing.T) {
	long := strings.Repeat("lorem ipsum ", 10) + "the Release is near " + strings.Repeat("dolor sit ", 30)
	cases := []struct {
		text    string
		words   []string
		excerpt bool
		want    string
		ok      bool
	}{
		{"Release notes", []string{"release"}, false, "[Release] notes", true},
		{"<b>release</b>, releases!", []string{"release", "releases"}, false, "<b>[release]</b>, [releases]!", true},
		{"nothing here", []string{"release"}, false, "", false},
		{"unreleased", []string{"release"}, false, "", false},
		{"café naïve", []string{"naïve"}, false, "café [naïve]", true},
		{long, []string{"release"}, true,
			"…lorem ipsum lorem ipsum lorem ipsum the [Release] is near " + strings.TrimSpace(strings.Repeat("dolor sit ", 10)) + "…", true},
	}
	for _, c := range cases {
		set := map[string]bool{}
		for _, w := range c.words {
			set[w] = true
		}
		parts, ok := MarkWords(c.text, set, c.excerpt)
		if ok != c.ok || render(parts) != c.want {
			t.Errorf("MarkWords(%.30q, %v) = %q, %v; want %q, %v", c.text, c.words, render(parts), ok, c.want, c.ok)
		}
	}
}

func TestSearchCursor(t *testing.T) {
	c := SearchCursor{Score: 0.4, CardID: "0a1b2c3d-0000-4000-8000-000000000001"}
	got, err := ParseSearchCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "AAAAAA", c.String()[:10], "!!!!"} {
		if _, err := ParseSearchCursor(bad); ErrorCode(err) != EInvalid {
			t.Errorf("ParseSearchCursor(%q): %v, want invalid", bad, err)
		}
	}
}
