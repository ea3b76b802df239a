package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/corkboard/corkboard/internal/board"
)

func (a *API) createCard(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in board.CardInput
	if err := decodeValid(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	location := func(v any) string { c := v.(board.Card); return "/api/boards/" + c.BoardID + "/cards/" + c.ID }
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		return a.store.CreateCard(ctx, m, id, in)
	})
}

func (a *API) getCard(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.store.GetCard(r.Context(), userFrom(r.Context()), boardID, cardID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, http.StatusOK, c)
}

// cardPatch reads a card PATCH body: only the members present change; due
// may be null to clear it.
func cardPatch(r *http.Request) (board.CardPatch, error) {
	if p, ok := simpleCardPatch(bodyFrom(r)); ok {
		return p, p.Validate()
	}
	return decodeCardPatch(r)
}

// decodeCardPatch is cardPatch for any body.
func decodeCardPatch(r *http.Request) (board.CardPatch, error) {
	raw, err := patchFields(r, "title", "description", "labels", "due", "assignees", "done", "cover")
	if err != nil {
		return board.CardPatch{}, err
	}
	var p board.CardPatch
	steps := []func() error{
		func() (err error) { p.Title, err = patchValue[string](raw, "title"); return },
		func() (err error) { p.Description, err = patchValue[string](raw, "description"); return },
		func() (err error) { p.Labels, err = patchValue[[]string](raw, "labels"); return },
		func() (err error) { p.Assignees, err = patchValue[[]string](raw, "assignees"); return },
		func() (err error) { p.Done, err = patchValue[bool](raw, "done"); return },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return board.CardPatch{}, err
		}
	}
	if due, ok := raw["due"]; ok {
		p.DueSet = true
		if err := json.Unmarshal(due, &p.Due); err != nil {
			return board.CardPatch{}, board.FieldError(board.EInvalid, "due", "must be a date as YYYY-MM-DD or null")
		}
	}
	if cover, ok := raw["cover"]; ok {
		p.CoverSet = true
		if err := json.Unmarshal(cover, &p.Cover); err != nil {
			return board.CardPatch{}, board.FieldError(board.EInvalid, "cover", "must be an attachment id or null")
		}
	}
	return p, p.Validate()
}

// simpleCardPatch decodes the commonest card PATCH bodies without
// reflection: one JSON object of "title" and "description" strings without
// escapes and a "done" boolean, each at most once. ok is false for anything
// else (other members, escapes, null, duplicates, malformed JSON), which
// cardPatch's general decoder then reads and, when it must, refuses with
// its own error; for what simpleCardPatch accepts both give the same patch
// (FuzzSimpleCardPatch). body is valid UTF-8 (readBody checked).
func simpleCardPatch(body []byte) (p board.CardPatch, ok bool) {
	i := 0
	ws := func() {
		for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
			i++
		}
	}
	// str reads a string without escapes or control characters.
	str := func() (string, bool) {
		if i >= len(body) || body[i] != '"' {
			return "", false
		}
		start := i + 1
		for j := start; j < len(body); j++ {
			switch c := body[j]; {
			case c == '"':
				i = j + 1
				return string(body[start:j]), true
			case c == '\\' || c < 0x20:
				return "", false
			}
		}
		return "", false
	}
	ws()
	if i >= len(body) || body[i] != '{' {
		return board.CardPatch{}, false
	}
	i++
	ws()
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			ws()
			key, ok := str()
			if !ok {
				return board.CardPatch{}, false
			}
			ws()
			if i >= len(body) || body[i] != ':' {
				return board.CardPatch{}, false
			}
			i++
			ws()
			switch {
			case key == "title" && p.Title == nil, key == "description" && p.Description == nil:
				v, ok := str()
				if !ok {
					return board.CardPatch{}, false
				}
				if key == "title" {
					p.Title = &v
				} else {
					p.Description = &v
				}
			case key == "done" && p.Done == nil:
				var v bool
				switch {
				case bytes.HasPrefix(body[i:], []byte("true")):
					v, i = true, i+4
				case bytes.HasPrefix(body[i:], []byte("false")):
					v, i = false, i+5
				default:
					return board.CardPatch{}, false
				}
				p.Done = &v
			default:
				return board.CardPatch{}, false
			}
			ws()
			if i < len(body) && body[i] == ',' {
				i++
				continue
			}
			if i < len(body) && body[i] == '}' {
				i++
				break
			}
			return board.CardPatch{}, false
		}
	}
	ws()
	if i != len(body) {
		return board.CardPatch{}, false
	}
	return p, true
}

func (a *API) updateCard(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := cardPatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.UpdateCard(ctx, m, boardID, cardID, p, ifVersion)
	})
}

func (a *API) moveCard(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var mv board.CardMove
	if err := decodeValid(r, &mv); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.MoveCard(ctx, m, boardID, cardID, mv, ifVersion)
	})
}

func (a *API) archiveCard(w http.ResponseWriter, r *http.Request)   { a.setArchived(w, r, true) }
func (a *API) unarchiveCard(w http.ResponseWriter, r *http.Request) { a.setArchived(w, r, false) }

func (a *API) setArchived(w http.ResponseWriter, r *http.Request, archived bool) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(bodyFrom(r)) > 0 {
		a.writeError(w, r, board.Errorf(board.EInvalid, "this request takes no body"))
		return
	}
	a.mutate(w, r, http.StatusOK, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		return a.store.SetArchived(ctx, m, boardID, cardID, archived, ifVersion)
	})
}

func (a *API) deleteCard(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, ifVersion int64) (any, board.Event, error) {
		ev, err := a.store.DeleteCard(ctx, m, boardID, cardID, ifVersion)
		return nil, ev, err
	})
}
