// Package httpapi is Corkboard's JSON REST API under /api, on chi. Handlers
// parse the request, call the store (mutations through the Committer, which
// publishes what they commit), and either write a problem document or encode
// the result.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/ratelimit"
)

// Store is what the API needs of the database layer (see package store for
// the contracts).
type Store interface {
	CreateBoard(ctx context.Context, m board.Meta, in board.BoardInput) (board.Board, board.Event, error)
	ListBoards(ctx context.Context, user string) ([]board.Board, error)
	Snapshot(ctx context.Context, user, boardID string) (board.Snapshot, error)
	BoardHead(ctx context.Context, user, boardID string) (seq int64, role string, err error)
	UpdateBoard(ctx context.Context, m board.Meta, boardID string, p board.BoardPatch, ifVersion int64) (board.Board, board.Event, error)
	DeleteBoard(ctx context.Context, m board.Meta, boardID string, ifVersion int64) (board.Event, error)
	ExportBoard(ctx context.Context, user, boardID string) (board.Export, error)
	ImportBoard(ctx context.Context, m board.Meta, x board.Export) (board.Board, board.Event, error)
	Events(ctx context.Context, user, boardID string, since int64, limit int) ([]board.Event, int64, error)
	Activity(ctx context.Context, user, boardID string, q board.ActivityQuery) (board.ActivityPage, error)
	Search(ctx context.Context, user string, q board.SearchQuery) (board.SearchPage, error)

	CreateColumn(ctx context.Context, m board.Meta, boardID string, in board.ColumnInput) (board.Column, board.Event, error)
	UpdateColumn(ctx context.Context, m board.Meta, boardID, colID string, p board.ColumnPatch, ifVersion int64) (board.Column, board.Event, error)
	MoveColumn(ctx context.Context, m board.Meta, boardID, colID string, p board.Position, ifVersion int64) (board.Column, board.Event, error)
	DeleteColumn(ctx context.Context, m board.Meta, boardID, colID string, d board.ColumnDelete, ifVersion int64) (board.Event, error)

	GetCard(ctx context.Context, user, boardID, cardID string) (board.Card, error)
	CreateCard(ctx context.Context, m board.Meta, boardID string, in board.CardInput) (board.Card, board.Event, error)
	UpdateCard(ctx context.Context, m board.Meta, boardID, cardID string, p board.CardPatch, ifVersion int64) (board.Card, board.Event, error)
	MoveCard(ctx context.Context, m board.Meta, boardID, cardID string, mv board.CardMove, ifVersion int64) (board.Card, board.Event, error)
	SetArchived(ctx context.Context, m board.Meta, boardID, cardID string, archived bool, ifVersion int64) (board.Card, board.Event, error)
	DeleteCard(ctx context.Context, m board.Meta, boardID, cardID string, ifVersion int64) (board.Event, error)

	ListComments(ctx context.Context, user, boardID, cardID string) ([]board.Comment, error)
	CreateComment(ctx context.Context, m board.Meta, boardID, cardID string, in board.CommentInput) (board.Comment, board.Event, error)
	UpdateComment(ctx context.Context, m board.Meta, boardID, cardID, commentID string, in board.CommentInput, ifVersion int64) (board.Comment, board.Event, error)
	DeleteComment(ctx context.Context, m board.Meta, boardID, cardID, commentID string, ifVersion int64) (board.Event, error)

	ListChecklists(ctx context.Context, user, boardID, cardID string) ([]board.Checklist, error)
	CreateChecklist(ctx context.Context, m board.Meta, boardID, cardID string, in board.ChecklistInput) (board.Checklist, board.Event, error)
	RenameChecklist(ctx context.Context, m board.Meta, boardID, cardID, listID string, in board.ChecklistInput, ifVersion int64) (board.Checklist, board.Event, error)
	DeleteChecklist(ctx context.Context, m board.Meta, boardID, cardID, listID string, ifVersion int64) (board.Event, error)
	CreateItem(ctx context.Context, m board.Meta, boardID, cardID, listID string, in board.ItemInput) (board.ChecklistItem, board.Event, error)
	UpdateItem(ctx context.Context, m board.Meta, boardID, cardID, listID, itemID string, p board.ItemPatch, ifVersion int64) (board.ChecklistItem, board.Event, error)
	MoveItem(ctx context.Context, m board.Meta, boardID, cardID, listID, itemID string, mv board.ItemMove, ifVersion int64) (board.ChecklistItem, board.Event, error)
	DeleteItem(ctx context.Context, m board.Meta, boardID, cardID, listID, itemID string, ifVersion int64) (board.Event, error)

	ListLabels(ctx context.Context, user, boardID string) ([]board.Label, error)
	CreateLabel(ctx context.Context, m board.Meta, boardID string, in board.LabelInput) (board.Label, board.Event, error)
	UpdateLabel(ctx context.Context, m board.Meta, boardID, labelID string, p board.LabelPatch, ifVersion int64) (board.Label, board.Event, error)
	DeleteLabel(ctx context.Context, m board.Meta, boardID, labelID string, ifVersion int64) (board.Event, error)
	CheckCardWritable(ctx context.Context, user, boardID, cardID string) error
	ListAttachments(ctx context.Context, user, boardID, cardID string) ([]board.Attachment, error)
	GetAttachment(ctx context.Context, user, boardID, cardID, id string) (board.Attachment, error)
	CreateAttachment(ctx context.Context, m board.Meta, boardID, cardID string, a board.Attachment) (board.Attachment, board.Event, error)
	DeleteAttachment(ctx context.Context, m board.Meta, boardID, cardID, id string) (board.Event, error)

	ListMembers(ctx context.Context, user, boardID string) ([]board.Member, error)
	AddMember(ctx context.Context, m board.Meta, boardID, username, role string) (board.Member, board.Event, error)
	UpdateMember(ctx context.Context, m board.Meta, boardID, userID, role string) (board.Member, board.Event, error)
	RemoveMember(ctx context.Context, m board.Meta, boardID, userID string) (board.Event, error)

	ClaimIdempotencyKey(ctx context.Context, call *board.IdempotentCall, hash []byte, ttl time.Duration) (*board.StoredCall, error)
	CompleteIdempotencyKey(ctx context.Context, call *board.IdempotentCall, resp []byte) error
	ReleaseIdempotencyKey(ctx context.Context, call *board.IdempotentCall) error
}

// Committer runs one store mutation and owns what follows its commit:
// publishing the event, revoking live access the change ends, waking
// whoever follows the log (commit.Committer). The API never publishes or
// revokes itself.
type Committer interface {
	Run(ctx context.Context, m func(context.Context) (any, board.Event, error)) (any, error)
}

// Options configure the API.
type Options struct {
	Store          Store
	Accounts       Accounts
	Committer      Committer     // nil: mutations run with no effects after their commit
	Logger         *slog.Logger  // nil: slog.Default()
	IdempotencyTTL time.Duration // how long an Idempotency-Key is remembered; 0: 24h
	// Identify, when set, replaces session and token authentication (for
	// tests of the API's other behaviour).
	Identify       func(*http.Request) (board.Principal, error)
	TrustedProxies []netip.Prefix // whose X-Forwarded-For/-Proto are believed
	// Requests per caller (user, or IP when anonymous): Burst at once, then
	// Rate per second. Zero: 100 and 50.
	RateBurst int
	Rate      float64
	// Invitations of usernames that do not exist, per inviting user (so
	// that inviting cannot enumerate usernames): Invites.Burst at once,
	// then one every Invites.Every. Zero: 20, then one a minute. They are
	// kept in Budgets (nil: in this process only).
	Invites ratelimit.Limit
	Budgets Budgets
	// HeavyReads is how many snapshots, event pages, activity pages, exports and searches one user
	// may have running at once on this instance; 0: DefaultHeavyReads.
	HeavyReads int
	// SnapshotCacheBytes bounds the encoded snapshots kept to answer
	// repeated reads of an unchanged board; 0: DefaultSnapshotCacheBytes;
	// negative: no cache (every snapshot is read from the database).
	SnapshotCacheBytes int64

	// Files keeps the bytes of attachments; nil: the attachment routes
	// that need bytes answer 404.
	Files Files

	// Webhooks manages webhooks; nil: Store, if it has the methods (else
	// the webhook routes answer 404). WebhookNotifier, if set, is woken
	// when a test event or a redelivery is asked for.
	Webhooks        WebhookStore
	WebhookNotifier WebhookNotifier

	// Notifications keeps users' notifications and board mutes; nil:
	// Store, if it has the methods (else those routes answer 404).
	// UserSink, if set, receives the user messages the routes cause (a
	// notification marked read, for the user's other pages).
	Notifications NotificationStore
	UserSink      board.UserSink
}

// API serves /api.
type API struct {
	store    Store
	accounts Accounts
	commit   Committer
	log      *slog.Logger
	idemTTL  time.Duration
	identify func(*http.Request) (board.Principal, error)
	proxies  []netip.Prefix
	limiter  *ratelimit.Throttle
	invites  ratelimit.Limit
	budgets  Budgets
	webhooks WebhookStore
	notifier WebhookNotifier
	files    Files
	thumbs   chan struct{} // thumbnails being made

	notifications NotificationStore
	userSink      board.UserSink

	heavyReads *heavyReads
	snapshots  *snapshotCache // nil: off
}

// New returns the API.
func New(o Options) *API {
	a := &API{store: o.Store, accounts: o.Accounts, commit: o.Committer, log: o.Logger,
		idemTTL: o.IdempotencyTTL, identify: o.Identify, proxies: o.TrustedProxies,
		webhooks: o.Webhooks, notifier: o.WebhookNotifier, files: o.Files, notifications: o.Notifications, userSink: o.UserSink,
		thumbs: make(chan struct{}, thumbnailsAtOnce)}
	if a.webhooks == nil {
		a.webhooks, _ = o.Store.(WebhookStore)
	}
	if a.notifications == nil {
		a.notifications, _ = o.Store.(NotificationStore)
	}
	if o.RateBurst == 0 {
		o.RateBurst = 100
	}
	if o.Rate == 0 {
		o.Rate = 50
	}
	a.limiter = &ratelimit.Throttle{Burst: o.RateBurst, Every: time.Duration(float64(time.Second) / o.Rate)}
	if o.Invites == (ratelimit.Limit{}) {
		o.Invites = ratelimit.Limit{Burst: 20, Every: time.Minute}
	}
	a.invites, a.budgets = o.Invites, o.Budgets
	if a.budgets == nil {
		a.budgets = memoryBudgets{&ratelimit.Throttle{Burst: o.Invites.Burst, Every: o.Invites.Every}}
	}
	if o.HeavyReads == 0 {
		o.HeavyReads = DefaultHeavyReads
	}
	a.heavyReads = &heavyReads{max: o.HeavyReads, users: map[string]*userReads{}}
	switch {
	case o.SnapshotCacheBytes == 0:
		a.snapshots = newSnapshotCache(DefaultSnapshotCacheBytes)
	case o.SnapshotCacheBytes > 0:
		a.snapshots = newSnapshotCache(o.SnapshotCacheBytes)
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.idemTTL == 0 {
		a.idemTTL = 24 * time.Hour
	}
	return a
}

// Routes is the whole API tree, to mount at /api.
func (a *API) Routes() chi.Router {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, board.Errorf(board.ENotFound, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, &board.Error{Code: EMethodNotAllowed, Message: r.Method + " is not allowed here"})
	})
	r.Use(readBody)
	r.Group(func(r chi.Router) {
		r.Use(a.limitAnonymous)
		r.Post("/auth/signup", a.signup)
		r.Post("/auth/login", a.login)
	})
	r.Get("/auth/session", a.session) // limits by caller itself
	r.Group(func(r chi.Router) {
		r.Use(a.authenticate, a.limitUser, a.idempotent)
		a.accountRoutes(r)
		a.boardRoutes(r)
		a.notificationRoutes(r)
	})
	return r
}

// accountRoutes are the caller's own account, sessions and tokens. With an
// Idempotency-Key, their refusals replay but a success is not stored (a
// token's secret must not be kept), so a retry runs again.
func (a *API) accountRoutes(r chi.Router) {
	r.Get("/auth/me", a.me)
	r.Post("/auth/logout", a.logout)
	r.Post("/auth/password", a.changePassword)
	r.Get("/auth/sessions", a.listSessions)
	r.Delete("/auth/sessions/{session}", a.endSession)
	r.Get("/auth/tokens", a.listTokens)
	r.Post("/auth/tokens", a.createToken)
	r.Delete("/auth/tokens/{token}", a.revokeToken)
}

// boardRoutes are the boards and what is on them: every mutation is one
// transaction with an event, and Idempotency-Key makes it safe to retry.
func (a *API) boardRoutes(r chi.Router) {
	r.Get("/boards", a.listBoards)
	r.Post("/boards", a.createBoard)
	r.Post("/boards/import", a.importBoard)
	r.Get("/search", a.heavy(a.search))
	r.Route("/boards/{board}", func(r chi.Router) {
		r.Get("/", a.heavy(a.getSnapshot))
		r.Patch("/", a.updateBoard)
		r.Delete("/", a.deleteBoard)
		r.Get("/events", a.heavy(a.listEvents))
		r.Get("/activity", a.heavy(a.listActivity))
		r.Get("/export", a.heavy(a.exportBoard))

		r.Post("/columns", a.createColumn)
		r.Patch("/columns/{column}", a.updateColumn)
		r.Post("/columns/{column}/move", a.moveColumn)
		r.Delete("/columns/{column}", a.deleteColumn)

		r.Post("/cards", a.createCard)
		r.Get("/cards/{card}", a.getCard)
		r.Patch("/cards/{card}", a.updateCard)
		r.Post("/cards/{card}/move", a.moveCard)
		r.Post("/cards/{card}/archive", a.archiveCard)
		r.Post("/cards/{card}/unarchive", a.unarchiveCard)
		r.Delete("/cards/{card}", a.deleteCard)

		r.Get("/cards/{card}/comments", a.listComments)
		r.Post("/cards/{card}/comments", a.createComment)
		r.Patch("/cards/{card}/comments/{comment}", a.updateComment)
		r.Delete("/cards/{card}/comments/{comment}", a.deleteComment)

		r.Get("/cards/{card}/checklists", a.listChecklists)
		r.Post("/cards/{card}/checklists", a.createChecklist)
		r.Patch("/cards/{card}/checklists/{checklist}", a.renameChecklist)
		r.Delete("/cards/{card}/checklists/{checklist}", a.deleteChecklist)
		r.Post("/cards/{card}/checklists/{checklist}/items", a.createItem)
		r.Patch("/cards/{card}/checklists/{checklist}/items/{item}", a.updateItem)
		r.Post("/cards/{card}/checklists/{checklist}/items/{item}/move", a.moveItem)
		r.Delete("/cards/{card}/checklists/{checklist}/items/{item}", a.deleteItem)

		r.Get("/labels", a.listLabels)
		r.Post("/labels", a.createLabel)
		r.Patch("/labels/{label}", a.updateLabel)
		r.Delete("/labels/{label}", a.deleteLabel)
		r.Get("/cards/{card}/attachments", a.listAttachments)
		r.Post("/cards/{card}/attachments", a.uploadAttachment)
		r.Get("/cards/{card}/attachments/{attachment}/content", a.downloadAttachment)
		r.Get("/cards/{card}/attachments/{attachment}/thumbnail", a.thumbnailAttachment)
		r.Delete("/cards/{card}/attachments/{attachment}", a.deleteAttachment)

		r.Get("/members", a.listMembers)
		r.Post("/members", a.addMember)
		r.Patch("/members/{user}", a.updateMember)
		r.Delete("/members/{user}", a.removeMember)

		a.webhookRoutes(r)

		r.Get("/mute", a.getMute)
		r.Put("/mute", a.setMute(true))
		r.Delete("/mute", a.setMute(false))
	})
}

func urlParam(r *http.Request, name string) string { return chi.URLParam(r, name) }

// printableASCII reports whether s is 1 to max printable ASCII characters
// (0x21-0x7e: no space), as X-Op-Id and Idempotency-Key must be. (A regular
// expression cost about a microsecond a request.)
func printableASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// meta describes the caller of a mutation: the user and the client's X-Op-Id
// (printable ASCII, at most 64 characters), which the event carries back.
func meta(r *http.Request) (board.Meta, error) {
	op := r.Header.Get("X-Op-Id")
	if op != "" && !printableASCII(op, 64) {
		return board.Meta{}, board.FieldError(board.EInvalid, "X-Op-Id", "must be 1-64 printable ASCII characters")
	}
	return board.Meta{Actor: userFrom(r.Context()), OpID: op}, nil
}

// mutation runs one store call for a handler.
type mutation func(ctx context.Context, m board.Meta, ifVersion int64) (result any, ev board.Event, err error)

// mutate runs call, the store mutation of a handler, through the Committer
// and answers with status and the result (204 when status is 204), rendered
// by renderResult. With an Idempotency-Key, the store keeps the result with
// the key in the mutation's own transaction; a replay of the key comes back
// through here with the store answering that result instead of running the
// mutation, so it renders to exactly the first response.
func (a *API) mutate(w http.ResponseWriter, r *http.Request, status int, location func(any) string, call mutation) {
	m, err := meta(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ifVersion, err := ifMatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	if c := idempotentFrom(ctx); c != nil {
		c.mutation = true
	}
	var seq int64 // of the committed event: the Board-Seq header, for ?min_seq=
	run := func(ctx context.Context) (any, board.Event, error) {
		result, ev, err := call(ctx, m, ifVersion)
		seq = ev.Seq
		return result, ev, err
	}
	var result any
	if a.commit != nil {
		result, err = a.commit.Run(ctx, run)
	} else {
		result, _, err = run(ctx)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	resp, err := renderResult(status, location, result)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if seq > 0 {
		resp.Header["Board-Seq"] = strconv.FormatInt(seq, 10)
	}
	writeResponse(w, resp)
}

// Response is a rendered HTTP response, as an Idempotency-Key keeps the
// answer of a request that failed: a replay of the key writes exactly this.
type Response struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
}

func renderResult(status int, location func(any) string, result any) (Response, error) {
	resp := Response{Status: status, Header: map[string]string{}}
	if v, ok := versionOf(result); ok {
		resp.Header["ETag"] = etag(v)
	}
	if location != nil {
		resp.Header["Location"] = location(result)
	}
	if status == http.StatusNoContent {
		return resp, nil
	}
	body, err := jsonBytes(result)
	if err != nil {
		return Response{}, err
	}
	resp.Header["Content-Type"] = "application/json"
	resp.Body = body
	return resp, nil
}

func writeResponse(w http.ResponseWriter, resp Response) {
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body) //nolint:errcheck // the client may be gone
}
