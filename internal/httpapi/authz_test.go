package httpapi_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/internal/board"
)

// The authorization matrix: every route of API.Routes() (found with
// chi.Walk, so a new route without a row fails the test) × every caller
// class × every kind of ids, each cell with its expected outcome, over real
// accounts (sessions in cookies, Bearer session secrets, Bearer API tokens).
// A refused cell must change nothing at all.

// caller classes
type azClass int

const (
	azOwner     azClass = iota // owner of board A (session cookie)
	azEditor                   // editor of A (Bearer API token)
	azViewer                   // viewer of A (session cookie)
	azStranger                 // a user who is no member of A (Bearer session secret)
	azAnonymous                // no credentials, or made-up ones
)

var azClasses = []azClass{azOwner, azEditor, azViewer, azStranger, azAnonymous}

func (c azClass) String() string {
	return [...]string{"owner", "editor", "viewer", "non-member", "anonymous"}[c]
}

// kinds of ids in a request
type azIDs int

const (
	// A's path with A's ids (or the caller's own session or token).
	azOwn azIDs = iota
	// Board B's path with B's ids: a board none of the callers is a member
	// of (or another user's session or token).
	azForeign
	// A's path with B's column, card or member ids in the path or body (or
	// the caller's token id where a session id goes, and the reverse).
	azMixed
	// B's path with A's column, card or member ids.
	azMixedRev
)

var azIDKinds = []azIDs{azOwn, azForeign, azMixed, azMixedRev}

func (k azIDs) String() string {
	return [...]string{"own ids", "another board's ids", "A's board, B's child ids", "B's board, A's child ids"}[k]
}

// access levels of routes: who may do what.
type azAccess int

const (
	azPublic    azAccess = iota // anyone, signed in or not (sign-up, login)
	azSelf                      // any signed-in user, on their own account
	azAnyUser                   // any signed-in user (their boards; a new board)
	azRead                      // any member of the board
	azWrite                     // the board's owners and editors
	azOwnerOnly                 // the board's owners
)

// azRefs are the ids a request is built from.
type azRefs struct {
	board, col, col2, card, archived, member string // of a board
	webhook, delivery                        string // of a board
	comment, checklist, item, attachment     string // on card
	label                                    string // of a board
	session, token                           string // of an account
	username                                 string // a user who is no member of A or B
	fresh                                    string // a username nobody has
	login                                    apitest.Account
}

type azRow struct {
	method, pattern string
	access          azAccess
	// children: the request names ids under the board (in its path or
	// body), so the mixed kinds apply; for self routes, an id in the path.
	children bool
	req      func(r azRefs) (path string, body any)
	// outcome overrides the derived expectation of some cells.
	outcome map[azClass]string
}

func azPos(k, id string) map[string]any { return map[string]any{k: id} }

// azRows is the matrix: one row per route.
var azRows = []azRow{
	{method: "POST", pattern: "/auth/signup", access: azPublic, req: func(r azRefs) (string, any) {
		return "/auth/signup", map[string]string{"username": r.fresh, "password": "a new password"}
	}},
	{method: "POST", pattern: "/auth/login", access: azPublic, req: func(r azRefs) (string, any) {
		return "/auth/login", map[string]string{"username": r.login.Username, "password": r.login.Password}
	}},
	// Anyone may ask who they are: {"user": null} when nobody.
	{method: "GET", pattern: "/auth/session", access: azPublic, req: func(azRefs) (string, any) { return "/auth/session", nil }},
	{method: "GET", pattern: "/auth/me", access: azSelf, req: func(azRefs) (string, any) { return "/auth/me", nil }},
	// An API token does not log out (it is revoked): 422.
	{method: "POST", pattern: "/auth/logout", access: azSelf, outcome: map[azClass]string{azEditor: "422"},
		req: func(azRefs) (string, any) { return "/auth/logout", nil }},
	{method: "POST", pattern: "/auth/password", access: azSelf, req: func(r azRefs) (string, any) {
		return "/auth/password", map[string]string{"current_password": r.login.Password, "new_password": r.login.Password}
	}},
	{method: "GET", pattern: "/auth/sessions", access: azSelf, req: func(azRefs) (string, any) { return "/auth/sessions", nil }},
	{method: "DELETE", pattern: "/auth/sessions/{session}", access: azSelf, children: true, req: func(r azRefs) (string, any) {
		return "/auth/sessions/" + r.session, nil
	}},
	{method: "GET", pattern: "/auth/tokens", access: azSelf, req: func(azRefs) (string, any) { return "/auth/tokens", nil }},
	{method: "POST", pattern: "/auth/tokens", access: azSelf, req: func(azRefs) (string, any) {
		return "/auth/tokens", map[string]string{"name": "matrix"}
	}},
	{method: "DELETE", pattern: "/auth/tokens/{token}", access: azSelf, children: true, req: func(r azRefs) (string, any) {
		return "/auth/tokens/" + r.token, nil
	}},

	{method: "GET", pattern: "/boards", access: azAnyUser, req: func(azRefs) (string, any) { return "/boards", nil }},
	{method: "POST", pattern: "/boards", access: azAnyUser, req: func(azRefs) (string, any) {
		return "/boards", map[string]string{"name": "new"}
	}},

	{method: "POST", pattern: "/boards/import", access: azAnyUser, req: func(azRefs) (string, any) {
		return "/boards/import", map[string]any{"format": board.ExportFormat, "version": board.ExportVersion,
			"board": map[string]string{"name": "imported"}, "columns": []any{map[string]any{"name": "c"}}}
	}},

	{method: "GET", pattern: "/boards/{board}/", access: azRead, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board, nil
	}},
	{method: "PATCH", pattern: "/boards/{board}/", access: azOwnerOnly, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board, map[string]string{"name": "renamed"}
	}},
	{method: "DELETE", pattern: "/boards/{board}/", access: azOwnerOnly, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board, nil
	}},
	{method: "GET", pattern: "/boards/{board}/events", access: azRead, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/events?since=0&limit=10", nil
	}},
	// A card of another board in ?card= is refused as one in a path is.
	{method: "GET", pattern: "/boards/{board}/activity", access: azRead, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/activity?card=" + r.card + "&limit=10", nil
	}},
	{method: "GET", pattern: "/boards/{board}/export", access: azRead, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/export", nil
	}},
	// Limited to one board, search is a read of that board; without
	// board= it reads the caller's own boards (search_test.go).
	{method: "GET", pattern: "/search", access: azRead, req: func(r azRefs) (string, any) {
		return "/search?q=card&board=" + r.board, nil
	}},

	{method: "POST", pattern: "/boards/{board}/columns", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/columns", map[string]any{"name": "new", "position": azPos("after", r.col)}
	}},
	{method: "PATCH", pattern: "/boards/{board}/columns/{column}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/columns/" + r.col, map[string]any{"name": "renamed"}
	}},
	{method: "POST", pattern: "/boards/{board}/columns/{column}/move", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/columns/" + r.col + "/move", map[string]any{"position": azPos("after", r.col2)}
	}},
	{method: "DELETE", pattern: "/boards/{board}/columns/{column}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/columns/" + r.col + "?cards=move&to=" + r.col2, nil
	}},

	{method: "POST", pattern: "/boards/{board}/cards", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards", map[string]any{"column_id": r.col, "title": "new"}
	}},
	{method: "GET", pattern: "/boards/{board}/cards/{card}", access: azRead, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card, nil
	}},
	{method: "PATCH", pattern: "/boards/{board}/cards/{card}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card, map[string]any{"title": "renamed"}
	}},
	{method: "POST", pattern: "/boards/{board}/cards/{card}/move", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/move", map[string]any{"column_id": r.col2}
	}},
	{method: "POST", pattern: "/boards/{board}/cards/{card}/archive", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/archive", nil
	}},
	{method: "POST", pattern: "/boards/{board}/cards/{card}/unarchive", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.archived + "/unarchive", nil
	}},
	{method: "DELETE", pattern: "/boards/{board}/cards/{card}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card, nil
	}},

	{method: "GET", pattern: "/boards/{board}/cards/{card}/comments", access: azRead, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/comments", nil
	}},
	{method: "POST", pattern: "/boards/{board}/cards/{card}/comments", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/comments", map[string]any{"text": "new"}
	}},
	// The owner wrote the comment: only the author edits it, and only the
	// author or an owner deletes it.
	{method: "PATCH", pattern: "/boards/{board}/cards/{card}/comments/{comment}", access: azWrite, children: true,
		outcome: map[azClass]string{azEditor: "403"}, req: func(r azRefs) (string, any) {
			return "/boards/" + r.board + "/cards/" + r.card + "/comments/" + r.comment, map[string]any{"text": "edited"}
		}},
	{method: "DELETE", pattern: "/boards/{board}/cards/{card}/comments/{comment}", access: azWrite, children: true,
		outcome: map[azClass]string{azEditor: "403"}, req: func(r azRefs) (string, any) {
			return "/boards/" + r.board + "/cards/" + r.card + "/comments/" + r.comment, nil
		}},
	{method: "GET", pattern: "/boards/{board}/cards/{card}/checklists", access: azRead, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/checklists", nil
	}},
	{method: "POST", pattern: "/boards/{board}/cards/{card}/checklists", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/checklists", map[string]any{"name": "new"}
	}},
	{method: "PATCH", pattern: "/boards/{board}/cards/{card}/checklists/{checklist}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/checklists/" + r.checklist, map[string]any{"name": "renamed"}
	}},
	{method: "DELETE", pattern: "/boards/{board}/cards/{card}/checklists/{checklist}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/checklists/" + r.checklist, nil
	}},
	{method: "POST", pattern: "/boards/{board}/cards/{card}/checklists/{checklist}/items", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/checklists/" + r.checklist + "/items", map[string]any{"text": "new"}
	}},
	{method: "PATCH", pattern: "/boards/{board}/cards/{card}/checklists/{checklist}/items/{item}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/checklists/" + r.checklist + "/items/" + r.item, map[string]any{"done": true}
	}},
	{method: "POST", pattern: "/boards/{board}/cards/{card}/checklists/{checklist}/items/{item}/move", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/checklists/" + r.checklist + "/items/" + r.item + "/move",
			map[string]any{"position": map[string]string{"to": "top"}}
	}},
	{method: "DELETE", pattern: "/boards/{board}/cards/{card}/checklists/{checklist}/items/{item}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/checklists/" + r.checklist + "/items/" + r.item, nil
	}},

	{method: "GET", pattern: "/boards/{board}/labels", access: azRead, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/labels", nil
	}},
	{method: "POST", pattern: "/boards/{board}/labels", access: azWrite, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/labels", map[string]any{"name": "new", "color": "sky"}
	}},
	{method: "PATCH", pattern: "/boards/{board}/labels/{label}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/labels/" + r.label, map[string]any{"name": "renamed", "color": "pink"}
	}},
	{method: "DELETE", pattern: "/boards/{board}/labels/{label}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/labels/" + r.label, nil
	}},
	{method: "GET", pattern: "/boards/{board}/cards/{card}/attachments", access: azRead, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/attachments", nil
	}},
	{method: "POST", pattern: "/boards/{board}/cards/{card}/attachments", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/attachments?name=new.txt", []byte("a new file")
	}},
	{method: "GET", pattern: "/boards/{board}/cards/{card}/attachments/{attachment}/content", access: azRead, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/attachments/" + r.attachment + "/content", nil
	}},
	{method: "GET", pattern: "/boards/{board}/cards/{card}/attachments/{attachment}/thumbnail", access: azRead, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/attachments/" + r.attachment + "/thumbnail", nil
	}},
	{method: "DELETE", pattern: "/boards/{board}/cards/{card}/attachments/{attachment}", access: azWrite, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/cards/" + r.card + "/attachments/" + r.attachment, nil
	}},

	{method: "GET", pattern: "/boards/{board}/members", access: azRead, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/members", nil
	}},
	{method: "POST", pattern: "/boards/{board}/members", access: azOwnerOnly, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/members", map[string]string{"username": r.username, "role": board.RoleEditor}
	}},
	{method: "PATCH", pattern: "/boards/{board}/members/{user}", access: azOwnerOnly, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/members/" + r.member, map[string]string{"role": board.RoleEditor}
	}},
	{method: "DELETE", pattern: "/boards/{board}/members/{user}", access: azOwnerOnly, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/members/" + r.member, nil
	}},

	{method: "GET", pattern: "/boards/{board}/mute", access: azRead, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/mute", nil
	}},
	{method: "PUT", pattern: "/boards/{board}/mute", access: azRead, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/mute", nil
	}},
	{method: "DELETE", pattern: "/boards/{board}/mute", access: azRead, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/mute", nil
	}},
	{method: "GET", pattern: "/notifications", access: azAnyUser, req: func(azRefs) (string, any) { return "/notifications", nil }},
	{method: "GET", pattern: "/notifications/unread", access: azAnyUser, req: func(azRefs) (string, any) {
		return "/notifications/unread", nil
	}},
	{method: "POST", pattern: "/notifications/read", access: azAnyUser, req: func(azRefs) (string, any) {
		return "/notifications/read", map[string]bool{"all": true}
	}},

	{method: "GET", pattern: "/boards/{board}/webhooks", access: azOwnerOnly, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/webhooks", nil
	}},
	{method: "POST", pattern: "/boards/{board}/webhooks", access: azOwnerOnly, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/webhooks", map[string]any{"url": "https://example.com/new", "kinds": []string{board.KindCardCreated}}
	}},
	{method: "GET", pattern: "/boards/{board}/webhooks/{webhook}", access: azOwnerOnly, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/webhooks/" + r.webhook, nil
	}},
	{method: "PATCH", pattern: "/boards/{board}/webhooks/{webhook}", access: azOwnerOnly, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/webhooks/" + r.webhook, map[string]any{"active": false}
	}},
	{method: "DELETE", pattern: "/boards/{board}/webhooks/{webhook}", access: azOwnerOnly, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/webhooks/" + r.webhook, nil
	}},
	{method: "POST", pattern: "/boards/{board}/webhooks/{webhook}/rotate-secret", access: azOwnerOnly, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/webhooks/" + r.webhook + "/rotate-secret", nil
	}},
	{method: "POST", pattern: "/boards/{board}/webhooks/{webhook}/test", access: azOwnerOnly, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/webhooks/" + r.webhook + "/test", nil
	}},
	{method: "GET", pattern: "/boards/{board}/webhooks/{webhook}/deliveries", access: azOwnerOnly, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/webhooks/" + r.webhook + "/deliveries?limit=10", nil
	}},
	{method: "POST", pattern: "/boards/{board}/webhooks/{webhook}/deliveries/{delivery}/redeliver", access: azOwnerOnly, children: true, req: func(r azRefs) (string, any) {
		return "/boards/" + r.board + "/webhooks/" + r.webhook + "/deliveries/" + r.delivery + "/redeliver", nil
	}},
}

const azNA = "n/a"

// expect is the outcome of a cell: "2xx", a status, or n/a when the kind of
// ids does not apply to the route.
func (row azRow) expect(c azClass, k azIDs) string {
	switch {
	case k == azOwn:
	case row.access == azPublic || row.access == azAnyUser:
		return azNA // no ids
	case row.access == azSelf && (!row.children || k == azMixedRev):
		return azNA
	case row.access != azSelf && k == azMixed && !row.children:
		return azNA
	}
	if row.access == azPublic {
		return "2xx"
	}
	if c == azAnonymous {
		return "401"
	}
	if k == azOwn {
		if o, ok := row.outcome[c]; ok {
			return o
		}
	}
	switch row.access {
	case azSelf:
		if k == azOwn {
			return "2xx"
		}
		return "404" // someone else's session or token, or the wrong kind of id
	case azAnyUser:
		return "2xx"
	}
	// Board routes. A stranger, and anyone on board B, finds nothing.
	if c == azStranger || k == azForeign || k == azMixedRev {
		return "404"
	}
	allowed := row.access == azRead || c == azOwner || (row.access == azWrite && c == azEditor)
	switch {
	case !allowed:
		return "403" // a member whose role may not: whatever the child ids
	case k == azOwn:
		return "2xx"
	default:
		return "404" // B's ids are not on A
	}
}

// azWorld is board A (owner, editor, viewer, and a viewer target that member
// routes act on), with columns col (holding card and archived) and col2.
type azWorld struct {
	board, col, col2, card, archived, member string
	webhook, delivery                        string // a webhook and an entry of its delivery log
	comment, checklist, item, attachment     string // on card, by the owner (the attachment an image)
	label                                    string // of the board, on card
}

type azMatrix struct {
	e                         *authEnv
	users                     map[string]apitest.Account
	setup                     map[string]apitest.Cred // long-lived API tokens, for building worlds
	shared, b                 azWorld
	bSession, bToken          string // of board B's owner: another user's
	fresh                     int
	cells, byOutcome          map[string]int
	unexpectedSuccess, wrongs int
}

func (m *azMatrix) newBoard(owner string, members map[string]string, memberTarget string) azWorld {
	e, c := m.e, m.setup[owner]
	var w azWorld
	var b board.Board
	e.must(c, "POST", "/api/boards", map[string]string{"name": "matrix"}, &b)
	w.board = b.ID
	B := "/api/boards/" + b.ID
	for _, u := range slices.Sorted(maps.Keys(members)) {
		e.must(c, "POST", B+"/members", map[string]string{"username": u, "role": members[u]}, nil)
	}
	w.member = m.users[memberTarget].ID
	var col, col2 board.Column
	e.must(c, "POST", B+"/columns", map[string]string{"name": "col"}, &col)
	e.must(c, "POST", B+"/columns", map[string]string{"name": "col2"}, &col2)
	w.col, w.col2 = col.ID, col2.ID
	var card, arch board.Card
	e.must(c, "POST", B+"/cards", map[string]string{"column_id": col.ID, "title": "card"}, &card)
	e.must(c, "POST", B+"/cards", map[string]string{"column_id": col.ID, "title": "archived"}, &arch)
	e.must(c, "POST", B+"/cards/"+arch.ID+"/archive", nil, nil)
	w.card, w.archived = card.ID, arch.ID
	var hook struct{ ID string }
	e.must(c, "POST", B+"/webhooks", map[string]any{"url": "https://example.com/hook"}, &hook)
	w.webhook = hook.ID
	if err := e.Store.Pool().QueryRow(e.t.Context(), `
		INSERT INTO webhook_deliveries (webhook_id, message_id, seq, kind, trigger, attempt, ok, status_code)
		VALUES ($1, 'msg_matrix', 1, 'board.created', 'event', 1, true, 200) RETURNING id::text`, hook.ID).Scan(&w.delivery); err != nil {
		e.t.Fatal(err)
	}
	var cm board.Comment
	var cl board.Checklist
	var it board.ChecklistItem
	e.must(c, "POST", B+"/cards/"+card.ID+"/comments", map[string]string{"text": "comment"}, &cm)
	e.must(c, "POST", B+"/cards/"+card.ID+"/checklists", map[string]string{"name": "list"}, &cl)
	e.must(c, "POST", B+"/cards/"+card.ID+"/checklists/"+cl.ID+"/items", map[string]string{"text": "item"}, &it)
	w.comment, w.checklist, w.item = cm.ID, cl.ID, it.ID
	var l board.Label
	e.must(c, "POST", B+"/labels", map[string]string{"name": "matrix label"}, &l)
	e.must(c, "PATCH", B+"/cards/"+card.ID, map[string]any{"labels": []string{l.ID}}, nil)
	w.label = l.ID
	var at board.Attachment
	e.must(c, "POST", B+"/cards/"+card.ID+"/attachments?name=pixel.png", tinyPNG(), &at)
	w.attachment = at.ID
	return w
}

func (m *azMatrix) worldA() azWorld {
	return m.newBoard("alice", map[string]string{"eddie": board.RoleEditor, "vivian": board.RoleViewer, "target": board.RoleViewer}, "target")
}

var azUsers = map[azClass]string{azOwner: "alice", azEditor: "eddie", azViewer: "vivian", azStranger: "nomad"}

// caller signs the class's user in afresh (so that logout, password changes
// and ended sessions of one cell do not touch the next) and returns the
// credential, with the ids of a second session and a second token of the
// same user when the row needs them.
func (m *azMatrix) caller(c azClass, row azRow) (cr apitest.Cred, acct apitest.Account, session2, token2 string) {
	e := m.e
	if c == azAnonymous {
		return apitest.Cred{}, m.users["spare"], m.bSession, m.bToken
	}
	acct = m.users[azUsers[c]]
	s := e.login(acct)
	switch c {
	case azOwner, azViewer:
		cr = apitest.Cred{Cookie: s}
	case azEditor:
		cr = apitest.Cred{Bearer: e.Client(apitest.Cred{Cookie: s}).NewToken("matrix caller").Token}
	case azStranger:
		cr = apitest.Cred{Bearer: s}
	}
	if row.children && row.access == azSelf {
		s2 := e.login(acct)
		session2 = e.Client(apitest.Cred{Cookie: s2}).CurrentSession()
		token2 = e.Client(apitest.Cred{Cookie: s2}).NewToken("matrix target").ID
	}
	return cr, acct, session2, token2
}

func (m *azMatrix) refs(w azWorld, k azIDs, login apitest.Account, session2, token2 string) azRefs {
	m.fresh++
	r := azRefs{username: "newbie", fresh: fmt.Sprintf("fresh%d", m.fresh), login: login,
		session: session2, token: token2}
	own, other := w, m.b
	switch k {
	case azForeign:
		own = m.b
		r.session, r.token = m.bSession, m.bToken
	case azMixed:
		r.session, r.token = token2, session2
	case azMixedRev:
		own, other = m.b, w
	}
	r.board = own.board
	r.col, r.col2, r.card, r.archived, r.member = own.col, own.col2, own.card, own.archived, own.member
	r.webhook, r.delivery = own.webhook, own.delivery
	r.comment, r.checklist, r.item, r.attachment = own.comment, own.checklist, own.item, own.attachment
	r.label = own.label
	if k == azMixed || k == azMixedRev {
		r.label = other.label
		r.col, r.col2, r.card, r.archived, r.member = other.col, other.col2, other.card, other.archived, other.member
		r.webhook, r.delivery = other.webhook, other.delivery
		r.comment, r.checklist, r.item, r.attachment = other.comment, other.checklist, other.item, other.attachment
	}
	return r
}

func outcomeOf(status int) string {
	if status/100 == 2 {
		return "2xx"
	}
	return fmt.Sprint(status)
}

var azCode = map[string]string{"401": board.EUnauthenticated, "403": board.EForbidden, "404": board.ENotFound,
	"422": board.EInvalid}

func (m *azMatrix) run(t *testing.T, row azRow, c azClass, k azIDs) {
	want := row.expect(c, k)
	if want == azNA {
		return
	}
	e := m.e
	w := m.shared
	if want == "2xx" && row.method != "GET" && strings.HasPrefix(row.pattern, "/boards/{board}") {
		w = m.worldA() // a success changes its world: give it its own
	}
	cr, acct, s2, t2 := m.caller(c, row)
	creds := []apitest.Cred{cr}
	if c == azAnonymous {
		// No credentials, made-up ones, and a real token's id (not its
		// secret).
		creds = []apitest.Cred{{}, {Cookie: "cbs_made-up"}, {Bearer: "cbt_made-up"}, {Bearer: "made-up"},
			{Bearer: m.bToken}}
	}
	for _, cr := range creds {
		path, body := row.req(m.refs(w, k, acct, s2, t2))
		name := fmt.Sprintf("%s %s as %s (%v) with %v", row.method, row.pattern, c, cr, k)
		before := ""
		if want != "2xx" {
			before = e.Fingerprint()
		}
		r := e.call(cr, row.method, "/api"+path, body)
		got := outcomeOf(r.Status)
		m.cells[fmt.Sprintf("%s %s", row.method, row.pattern)]++
		m.byOutcome[got]++
		if got != want {
			m.wrongs++
			if got == "2xx" {
				m.unexpectedSuccess++
				t.Errorf("UNEXPECTED SUCCESS: %s: %s %s: %v, want %s", name, row.method, path, r, want)
			} else {
				t.Errorf("%s: %s %s: %v, want %s", name, row.method, path, r, want)
			}
			continue
		}
		if want == "2xx" {
			continue
		}
		apitest.CheckProblem(t, r, r.Status, azCode[want])
		if after := e.Fingerprint(); after != before {
			t.Errorf("%s: refused with %d, yet the database changed", name, r.Status)
		}
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, apitest.Options{})

	// Every route has a row, and every row a route.
	rows := map[string]azRow{}
	for _, row := range azRows {
		rows[row.method+" "+row.pattern] = row
	}
	walked := map[string]bool{}
	err := chi.Walk(e.API.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		walked[method+" "+route] = true
		if _, ok := rows[method+" "+route]; !ok {
			t.Errorf("new route without a matrix row: %s %s", method, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range rows {
		if !walked[k] {
			t.Errorf("matrix row for a route that does not exist: %s", k)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	m := &azMatrix{e: e, users: map[string]apitest.Account{}, setup: map[string]apitest.Cred{}, cells: map[string]int{},
		byOutcome: map[string]int{}}
	for _, u := range []string{"alice", "eddie", "vivian", "nomad", "target", "newbie", "zedd", "beatrix", "spare"} {
		m.users[u] = e.Signup(u)
	}
	for _, u := range []string{"alice", "zedd"} {
		m.setup[u] = apitest.Cred{Bearer: e.Client(apitest.Cred{Cookie: e.login(m.users[u])}).NewToken("setup").Token}
	}
	m.b = m.newBoard("zedd", map[string]string{"beatrix": board.RoleEditor}, "beatrix")
	m.shared = m.worldA()
	zs := e.login(m.users["zedd"])
	m.bSession, m.bToken = e.Client(apitest.Cred{Cookie: zs}).CurrentSession(), e.Client(apitest.Cred{Cookie: zs}).NewToken("zed's").ID

	for _, row := range azRows {
		line := fmt.Sprintf("%-7s %-45s", row.method, row.pattern)
		for _, k := range azIDKinds {
			var cells []string
			for _, c := range azClasses {
				cells = append(cells, row.expect(c, k))
			}
			line += " | " + strings.Join(cells, " ")
		}
		t.Log(line)
		for _, c := range azClasses {
			for _, k := range azIDKinds {
				m.run(t, row, c, k)
				if row.pattern == "/auth/password" {
					// A password change revokes every API token of the
					// caller, setup's too: new ones.
					for _, u := range []string{"alice", "zedd"} {
						m.setup[u] = apitest.Cred{Bearer: e.Client(apitest.Cred{Cookie: e.login(m.users[u])}).NewToken("setup").Token}
					}
				}
			}
		}
	}
	total := 0
	for _, n := range m.cells {
		total += n
	}
	t.Logf("(columns: %v; within each, %v)", azIDKinds, azClasses)
	t.Logf("authorization matrix: %d routes, %d requests; outcomes %v; %d unexpected successes, %d other mismatches",
		len(m.cells), total, m.byOutcome, m.unexpectedSuccess, m.wrongs-m.unexpectedSuccess)
	if m.unexpectedSuccess != 0 {
		t.Errorf("%d unexpected successes", m.unexpectedSuccess)
	}
	// The shared board A and board B were refused everything: nothing on
	// them moved but what the world-building did.
	for _, b := range []string{m.shared.board, m.b.board} {
		var seq int64
		e.Store.Pool().QueryRow(t.Context(), `SELECT seq FROM boards WHERE id = $1`, b).Scan(&seq)
		// created, 3 members (A) or 1 (B), 2 columns, 2 cards, 1 archive,
		// a comment, a checklist, an item, an attachment, a label and the card's labels
		if want := map[string]int64{m.shared.board: 15, m.b.board: 13}[b]; seq != want {
			t.Errorf("board %s is at seq %d after the matrix, want %d", b, seq, want)
		}
	}

	t.Run("websocket", func(t *testing.T) { testWSMatrix(t, m) })
}

// testWSMatrix: the WebSocket commands per caller class. Members subscribe
// to A; a stranger gets not_found, like everyone for B, for a card id
// given as a board, and for a board that does not exist; anonymous upgrades
// are refused with 401.
func testWSMatrix(t *testing.T, m *azMatrix) {
	m.e = m.e.with(t)
	e := m.e
	const nowhere = "00000000-0000-4000-8000-000000000000"
	for _, c := range azClasses {
		cr, _, _, _ := m.caller(c, azRow{})
		if c == azAnonymous {
			for _, cr := range []apitest.Cred{{}, {Cookie: "cbs_made-up"}, {Bearer: "cbt_made-up"}, {Bearer: m.bToken}} {
				conn, resp, err := e.dialWS(cr)
				if err == nil {
					conn.Kill()
					t.Errorf("anonymous upgrade with %v accepted", cr)
					continue
				}
				if resp == nil || resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("anonymous upgrade with %v: %v, want 401", cr, resp)
				}
			}
			continue
		}
		conn, _, err := e.dialWS(cr)
		if err != nil {
			t.Fatalf("%s dial: %v", c, err)
		}
		if f := conn.Ask(map[string]any{"type": "ping"}); f.Type != "pong" {
			t.Errorf("%s ping: %+v", c, f)
		}
		// A (own ids).
		f := conn.Ask(map[string]any{"type": "subscribe", "board": m.shared.board})
		switch c {
		case azStranger:
			if f.Type != "error" || f.Code != board.ENotFound {
				t.Errorf("UNEXPECTED: non-member subscribe to A: %+v, want error not_found", f)
			}
			if f := conn.Ask(map[string]any{"type": "unsubscribe", "board": m.shared.board}); f.Type != "error" || f.Code != board.ENotFound {
				t.Errorf("non-member unsubscribe from A: %+v", f)
			}
		default:
			if f.Type != "subscribed" || f.Board != m.shared.board {
				t.Errorf("%s subscribe to A: %+v, want subscribed", c, f)
			}
			if f := conn.Ask(map[string]any{"type": "unsubscribe", "board": m.shared.board}); f.Type != "unsubscribed" {
				t.Errorf("%s unsubscribe from A: %+v", c, f)
			}
		}
		// B, a card id as a board id, a board that does not exist: not
		// found for everyone.
		for _, id := range []string{m.b.board, m.shared.card, m.shared.col, nowhere} {
			if f := conn.Ask(map[string]any{"type": "subscribe", "board": id}); f.Type != "error" || f.Code != board.ENotFound {
				t.Errorf("UNEXPECTED: %s subscribe to %s: %+v, want error not_found", c, id, f)
			}
		}
		if f := conn.Ask(map[string]any{"type": "subscribe", "board": "not-an-id"}); f.Type != "error" || f.Code != board.EInvalid {
			t.Errorf("%s subscribe to a malformed id: %+v", c, f)
		}
		conn.Close()
	}
	// A stranger's connection gets nothing of A when A changes.
	cr, _, _, _ := m.caller(azStranger, azRow{})
	conn, _, err := e.dialWS(cr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Ask(map[string]any{"type": "subscribe", "board": m.shared.board})
	m.e.must(m.setup["alice"], "POST", "/api/boards/"+m.shared.board+"/cards",
		map[string]string{"column_id": m.shared.col, "title": "secret"}, nil)
	if f, ok := conn.Next(300 * time.Millisecond); ok {
		t.Errorf("a non-member received %+v", f)
	}
}
