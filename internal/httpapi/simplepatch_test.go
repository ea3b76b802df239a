package httpapi

import (
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/corkboard/corkboard/internal/board"
)

// generalCardPatch runs the general decoder on body, as cardPatch does when
// simpleCardPatch declines.
func generalCardPatch(body string) (board.CardPatch, error) {
	r := httptest.NewRequest("PATCH", "/api/boards/b/cards/c", strings.NewReader(body))
	r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, []byte(body)))
	return decodeCardPatch(r)
}

var simplePatchBodies = []string{
	`{"title":"Card 3 of board 7, edit 12"}`,
	` { "title" : "t" , "description":"d", "done" : true } `,
	"{\n\t\"done\": false\r\n}",
	`{}`,
	`{"description":""}`,
	`{"title":"café <b> & 日本語 👍🏽"}`,
	// Declined: the general decoder reads (or refuses) them.
	`{"title":"say \"hi\""}`,
	`{"title":null}`,
	`{"title":"a","title":"b"}`,
	`{"done":"true"}`,
	`{"done":truex}`,
	`{"labels":[]}`,
	`{"title":"t",}`,
	`{"title":"t"} {}`,
	`{"title":"t"`,
	`{"Title":"t"}`,
	"{\"title\":\"tab\there\"}",
	`[]`,
	``,
}

// TestSimpleCardPatch: the bodies simpleCardPatch reads give the patch the
// general decoder gives, and it declines the others.
func TestSimpleCardPatch(t *testing.T) {
	accepted := 0
	for _, body := range simplePatchBodies {
		if checkSimpleCardPatch(t, body) {
			accepted++
		}
	}
	if accepted != 6 {
		t.Fatalf("simpleCardPatch read %d of the bodies, want the first 6", accepted)
	}
}

func FuzzSimpleCardPatch(f *testing.F) {
	for _, body := range simplePatchBodies {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if !utf8.ValidString(body) {
			return // readBody refuses it before
		}
		checkSimpleCardPatch(t, body)
	})
}

// checkSimpleCardPatch fails if simpleCardPatch reads body to another patch
// (or, validated, another error) than the general decoder, and reports
// whether it read it.
func checkSimpleCardPatch(t *testing.T, body string) bool {
	t.Helper()
	got, ok := simpleCardPatch([]byte(body))
	if !ok {
		if got != (board.CardPatch{}) {
			t.Fatalf("simpleCardPatch(%q) declined but returned %+v", body, got)
		}
		return false
	}
	// cardPatch validates what simpleCardPatch read; the general decoder
	// validates too.
	gotErr := got.Validate()
	want, err := generalCardPatch(body)
	if (gotErr == nil) != (err == nil) || (err != nil && gotErr.Error() != err.Error()) {
		t.Fatalf("simpleCardPatch(%q) then Validate: %v; the general decoder: %v", body, gotErr, err)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("simpleCardPatch(%q) = %s, the general decoder %s", body, show(got), show(want))
	}
	return true
}

func show(p board.CardPatch) string {
	s := func(v *string) string {
		if v == nil {
			return "nil"
		}
		return "&" + *v
	}
	done := "nil"
	if p.Done != nil {
		done = map[bool]string{true: "&true", false: "&false"}[*p.Done]
	}
	return "{Title:" + s(p.Title) + " Description:" + s(p.Description) + " Done:" + done + "}"
}
