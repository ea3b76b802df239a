package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/corkboard/corkboard/internal/attachment"
	"github.com/corkboard/corkboard/internal/board"
)

// Files stores and serves the bytes of attachments (attachment.Files).
type Files interface {
	MaxBytes() int64
	Put(ctx context.Context, r io.Reader, size int64) (attachment.Stored, error)
	Discard(ctx context.Context, key string)
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
}

// thumbnailsAtOnce bounds the images decoded at once in this process for
// thumbnails (each up to attachment.MaxThumbPixels pixels).
const thumbnailsAtOnce = 2

// attachmentsPath is where a card's attachments live.
func attachmentsPath(boardID, cardID string) string {
	return "/api/boards/" + boardID + "/cards/" + cardID + "/attachments"
}

// uploadPath matches an upload (POST …/attachments, the API being mounted
// at /api): its body is the file, streamed to the storage, not a JSON
// document read whole.
var uploadPath = regexp.MustCompile(`^/api/boards/[^/]+/cards/[^/]+/attachments/?$`)

func isUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && uploadPath.MatchString(r.URL.Path)
}

func (a *API) filesOr(w http.ResponseWriter, r *http.Request) bool {
	if a.files == nil {
		a.writeError(w, r, board.Errorf(board.ENotFound, "attachments are not configured on this server"))
		return false
	}
	return true
}

func (a *API) listAttachments(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	list, err := a.store.ListAttachments(r.Context(), userFrom(r.Context()), boardID, cardID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"attachments": list, "max_bytes": a.maxFileBytes()})
}

func (a *API) maxFileBytes() int64 {
	if a.files == nil {
		return 0
	}
	return a.files.MaxBytes()
}

// uploadAttachment stores the request body, the file, as an attachment
// named by ?name=. Order of writes: the object (reserved in the ledger
// first), then the row and its event in one transaction; when that fails,
// the object is deleted again. A replay of an Idempotency-Key answers the
// first result without reading the body.
func (a *API) uploadAttachment(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, err := boardAnd(r, "card")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if !a.filesOr(w, r) {
		return
	}
	name := r.URL.Query().Get("name")
	if err := board.CheckAttachmentName(name); err != nil {
		a.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	location := func(v any) string {
		x := v.(board.Attachment)
		return attachmentsPath(x.BoardID, x.CardID) + "/" + x.ID
	}
	if c := board.IdempotentCallFrom(ctx); c != nil && c.Replay != nil {
		a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
			return a.store.CreateAttachment(ctx, m, boardID, cardID, board.Attachment{})
		})
		return
	}
	// Refuse before storing anything: a stranger, a viewer, no such card,
	// a file that says it is too large.
	if err := a.store.CheckCardWritable(ctx, userFrom(ctx), boardID, cardID); err != nil {
		a.writeError(w, r, err)
		return
	}
	if _, err := meta(r); err != nil {
		a.writeError(w, r, err)
		return
	}
	st, err := a.files.Put(ctx, r.Body, r.ContentLength)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	committed := false
	a.mutate(w, r, http.StatusCreated, location, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		x, ev, err := a.store.CreateAttachment(ctx, m, boardID, cardID, board.Attachment{
			ID: st.Key, StorageKey: st.Key, Name: name, ContentType: st.ContentType, Size: st.Size, SHA256: st.SHA256})
		committed = err == nil
		return x, ev, err
	})
	if !committed {
		a.files.Discard(ctx, st.Key)
	}
}

// attachmentIDs reads the {board}, {card} and {attachment} path ids.
func attachmentIDs(r *http.Request) (boardID, cardID, id string, err error) {
	if boardID, cardID, err = boardAnd(r, "card"); err == nil {
		id, err = pathID(r, "attachment")
	}
	return boardID, cardID, id, err
}

func (a *API) deleteAttachment(w http.ResponseWriter, r *http.Request) {
	boardID, cardID, id, err := attachmentIDs(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.mutate(w, r, http.StatusNoContent, nil, func(ctx context.Context, m board.Meta, _ int64) (any, board.Event, error) {
		ev, err := a.store.DeleteAttachment(ctx, m, boardID, cardID, id)
		return nil, ev, err
	})
}

// openAttachment reads the row (membership checked) and opens its object.
func (a *API) openAttachment(w http.ResponseWriter, r *http.Request) (board.Attachment, io.ReadSeekCloser, bool) {
	boardID, cardID, id, err := attachmentIDs(r)
	if err != nil {
		a.writeError(w, r, err)
		return board.Attachment{}, nil, false
	}
	if !a.filesOr(w, r) {
		return board.Attachment{}, nil, false
	}
	x, err := a.store.GetAttachment(r.Context(), userFrom(r.Context()), boardID, cardID, id)
	if err != nil {
		a.writeError(w, r, err)
		return board.Attachment{}, nil, false
	}
	body, _, err := a.files.Open(r.Context(), x.StorageKey)
	if errors.Is(err, attachment.ErrNotFound) {
		// A row whose object is gone: the storage lost it.
		err = fmt.Errorf("attachment %s: %w", x.ID, err)
	}
	if err != nil {
		a.writeError(w, r, err)
		return board.Attachment{}, nil, false
	}
	return x, body, true
}

// fileHeaders are the headers of a file download: the browser runs
// nothing of it, sniffs nothing, and offers it for saving unless it is an
// image type that is safe to show.
func fileHeaders(w http.ResponseWriter, x board.Attachment, inline bool) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=31536000, immutable") // an attachment never changes
	disp := "attachment"
	if inline && x.IsImage() {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": x.Name}))
}

func (a *API) downloadAttachment(w http.ResponseWriter, r *http.Request) {
	x, body, ok := a.openAttachment(w, r)
	if !ok {
		return
	}
	defer body.Close()
	fileHeaders(w, x, true)
	w.Header().Set("Content-Type", x.ContentType)
	w.Header().Set("ETag", strconv.Quote(x.SHA256))
	http.ServeContent(w, r, "", x.CreatedAt, body) // ranges, If-None-Match
}

// thumbnail answers a small version of an image attachment (404 for other
// files and for images too large to decode); a WebP, for which the
// standard library has no decoder, is answered as it is.
func (a *API) thumbnailAttachment(w http.ResponseWriter, r *http.Request) {
	x, body, ok := a.openAttachment(w, r)
	if !ok {
		return
	}
	defer body.Close()
	if !x.IsImage() {
		a.writeError(w, r, board.Errorf(board.ENotFound, "the attachment is not an image: no thumbnail"))
		return
	}
	tag := strconv.Quote(x.SHA256 + "-thumb")
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if x.ContentType == "image/webp" {
		fileHeaders(w, x, true)
		w.Header().Set("ETag", tag)
		w.Header().Set("Content-Type", x.ContentType)
		http.ServeContent(w, r, "", x.CreatedAt, body)
		return
	}
	select {
	case a.thumbs <- struct{}{}:
		defer func() { <-a.thumbs }()
	case <-r.Context().Done():
		return
	case <-time.After(5 * time.Second):
		a.writeError(w, r, &board.Error{Code: board.EUnavailable, Message: "too many thumbnails are being made; try again",
			RetryAfter: time.Second})
		return
	}
	img, ct, err := attachment.Thumbnail(body)
	if errors.Is(err, attachment.ErrNoThumbnail) {
		a.writeError(w, r, &board.Error{Code: board.ENotFound, Message: "no thumbnail for this image", Err: err})
		return
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	fileHeaders(w, x, true)
	w.Header().Set("ETag", tag)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	w.Write(img) //nolint:errcheck // the client may be gone
}
