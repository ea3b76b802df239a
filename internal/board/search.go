package board

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strings"
	"unicode"
)

// Search limits.
const (
	MaxSearchQuery     = 200 // characters of a search query
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
)

// SearchQuery is a search of the cards a user may see: the cards (not
// archived) of every board the user is a member of, or of Board only,
// whose title, description or one of whose comments matches Text (words,
// "a phrase", -excluded, or: web search syntax; every other character is
// taken as text). Results come best first, Limit of them, after After.
type SearchQuery struct {
	Text  string
	Board string // "": every board of the user
	Limit int
	After *SearchCursor // nil: the first page
}

// Check validates q: Text non-blank, valid UTF-8 of at most
// MaxSearchQuery characters without control characters; Board an id or
// empty; Limit within 1..MaxSearchLimit.
func (q SearchQuery) Check() error {
	if err := checkText("q", q.Text, true, MaxSearchQuery); err != nil {
		return err
	}
	if strings.ContainsFunc(q.Text, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return FieldError(EInvalid, "q", "contains a control character")
	}
	if q.Board != "" && !ValidID(q.Board) {
		return FieldError(EInvalid, "board", "not a valid id")
	}
	if q.Limit < 1 || q.Limit > MaxSearchLimit {
		return FieldError(EInvalid, "limit", "must be an integer from 1 to %d", MaxSearchLimit)
	}
	return nil
}

// SearchCursor is where a page of search results ended: the score and id of
// its last card. The next page holds the cards after it in the order of
// the results (score descending, then card id), so paging a result set
// that does not change returns each card once.
type SearchCursor struct {
	Score  float32
	CardID string
}

// String encodes c for a client to send back (opaque, URL-safe).
func (c SearchCursor) String() string {
	b := binary.BigEndian.AppendUint32(nil, math.Float32bits(c.Score))
	return base64.RawURLEncoding.EncodeToString(append(b, c.CardID...))
}

// ParseSearchCursor decodes what SearchCursor.String made; EInvalid
// (naming field "cursor") otherwise.
func ParseSearchCursor(s string) (SearchCursor, error) {
	bad := FieldError(EInvalid, "cursor", "not a cursor this server gave")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 5 {
		return SearchCursor{}, bad
	}
	c := SearchCursor{Score: math.Float32frombits(binary.BigEndian.Uint32(b)), CardID: string(b[4:])}
	if !ValidID(c.CardID) || math.IsNaN(float64(c.Score)) || math.IsInf(float64(c.Score), 0) {
		return SearchCursor{}, bad
	}
	return c, nil
}

// SearchPage is one page of search results; Next is nil on the last.
type SearchPage struct {
	Results []SearchResult
	Next    *SearchCursor
}

// SearchResult is a card found, with where it is and why it matched.
type SearchResult struct {
	CardID     string      `json:"card_id"`
	BoardID    string      `json:"board_id"`
	BoardName  string      `json:"board_name"`
	ColumnID   string      `json:"column_id"`
	ColumnName string      `json:"column_name"`
	Title      string      `json:"title"`
	Done       bool        `json:"done"`
	Due        *string     `json:"due"`
	Score      float32     `json:"score"`
	Highlights []Highlight `json:"highlights"`
}

// Highlight is a piece of a card's text with the words that matched
// marked: Field is "title" (the whole title), "description" or "comment"
// (an excerpt around the first matched word, "…" where it was cut). The client shows Parts in order, as
// text, marking those with Match; the server never sends markup.
type Highlight struct {
	Field string          `json:"field"`
	Parts []HighlightPart `json:"parts"`
}

// HighlightPart is a run of text, matched or not.
type HighlightPart struct {
	Text  string `json:"text"`
	Match bool   `json:"match,omitempty"`
}

// Excerpt lengths, in characters: the context kept before the first
// matched word of a description or comment, and the whole excerpt.
const (
	excerptBefore = 40
	excerptLength = 160
)

// MarkWords cuts text into parts, marking the words (maximal runs of
// letters and digits) whose lower case is in words. With excerpt, only
// about excerptLength characters around the first marked word are kept,
// with "…" where text was cut. It returns false when no word is marked.
func MarkWords(text string, words map[string]bool, excerpt bool) ([]HighlightPart, bool) {
	rs := []rune(text)
	type span struct{ start, end int }
	var marks []span
	for i := 0; i < len(rs); {
		if !isWordRune(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && isWordRune(rs[j]) {
			j++
		}
		if words[strings.ToLower(string(rs[i:j]))] {
			marks = append(marks, span{i, j})
		}
		i = j
	}
	if len(marks) == 0 {
		return nil, false
	}
	from, to := 0, len(rs)
	if excerpt {
		from = max(0, marks[0].start-excerptBefore)
		for from > 0 && from < marks[0].start && isWordRune(rs[from-1]) { // not mid-word
			from++
		}
		to = min(len(rs), from+excerptLength)
		for to < len(rs) && to > marks[0].end && isWordRune(rs[to]) {
			to--
		}
	}
	var parts []HighlightPart
	add := func(t string, match bool) {
		if t != "" {
			parts = append(parts, HighlightPart{Text: t, Match: match})
		}
	}
	if from > 0 {
		add("…", false)
	}
	at := from
	for _, m := range marks {
		if m.start < from || m.end > to {
			continue
		}
		add(string(rs[at:m.start]), false)
		add(string(rs[m.start:m.end]), true)
		at = m.end
	}
	add(string(rs[at:to]), false)
	if to < len(rs) {
		add("…", false)
	}
	// Adjacent unmatched parts ("…" beside text) are joined.
	out := parts[:0]
	for _, p := range parts {
		if n := len(out); n > 0 && !out[n-1].Match && !p.Match {
			out[n-1].Text += p.Text
			continue
		}
		out = append(out, p)
	}
	return out, true
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
