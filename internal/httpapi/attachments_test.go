package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/s3test"
	"github.com/corkboard/corkboard/internal/attachment"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/store"
)

// tinyPNG is a 1×1 PNG.
func tinyPNG() []byte { return pngOf(1, 1) }

// pngOf is a w×h PNG, red on the left half and blue on the right.
func pngOf(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{220, 20, 20, 255}
			if x >= w/2 && w > 1 {
				c = color.RGBA{20, 20, 220, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func randomFile(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// pgFiles are attachment files in st's database.
func pgFiles(st *store.Store, max int64) *attachment.Files {
	return attachment.New(attachment.Options{Storage: attachment.NewPostgres(st.Pool()), Ledger: st, MaxBytes: max})
}

func withFiles(f httpapi.Files) func(*httpapi.Options) {
	return func(o *httpapi.Options) { o.Files = f }
}

func uploadPath(boardID, cardID, name string) string {
	return "/api/boards/" + boardID + "/cards/" + cardID + "/attachments?name=" + url.QueryEscape(name)
}

// keys lists the objects of a storage.
func keys(t testing.TB, s attachment.Storage) []string {
	t.Helper()
	k, err := s.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAttachmentsAPI: upload, list, download, thumbnail, cover, delete,
// with the rules of every mutation (roles, events, Idempotency-Key) and
// what a download must never do (run, be sniffed, trust the client).
func TestAttachmentsAPI(t *testing.T) {
	t.Parallel()
	st := apitest.OpenStore(t)
	files := pgFiles(st, 256<<10)
	e := serveAPI(t, st, withFiles(files))
	b := e.mkBoard(alice, "files")
	e.addMember(b.ID, bob, board.RoleEditor)
	e.addMember(b.ID, carol, board.RoleViewer)
	col := e.mkColumn(alice, b.ID, "todo")
	card := e.mkCard(alice, b.ID, col.ID, "card")
	card2 := e.mkCard(alice, b.ID, col.ID, "card 2")
	other := e.mkBoard(alice, "other")
	otherCard := e.mkCard(alice, other.ID, e.mkColumn(alice, other.ID, "c").ID, "x")
	A := "/api/boards/" + b.ID + "/cards/" + card.ID + "/attachments"

	// An image, its type claimed wrongly by the client.
	img := pngOf(1000, 500)
	r := e.do("POST", uploadPath(b.ID, card.ID, "photo.png"), bob, img, "Content-Type", "text/html")
	pic := apitest.Must[board.Attachment](t, r, http.StatusCreated)
	sum := sha256.Sum256(img)
	if pic.ContentType != "image/png" || pic.Size != int64(len(img)) || pic.SHA256 != fmt.Sprintf("%x", sum) ||
		pic.Name != "photo.png" || pic.UploaderID != bob || r.Header.Get("Location") != A+"/"+pic.ID {
		t.Errorf("uploaded %+v, %v", pic, r.Header)
	}
	if ev := e.lastEvent(b.ID); ev.Kind != board.KindAttachmentCreated || !strings.Contains(string(ev.Data), pic.ID) ||
		strings.Contains(string(ev.Data), "storage_key") {
		t.Errorf("last event %s %s", ev.Kind, ev.Data)
	}
	// A page that claims to be an image, with a name that is a script.
	evil := []byte("<html><body><script>alert(document.cookie)</script></body></html>")
	xssName := `"><img src=x onerror=alert(1)>.png`
	page := apitest.Must[board.Attachment](t, e.do("POST", uploadPath(b.ID, card.ID, xssName), bob, evil,
		"Content-Type", "image/png"), http.StatusCreated)
	if page.ContentType != "text/html; charset=utf-8" || page.Name != xssName {
		t.Errorf("a page uploaded as an image: %+v", page)
	}
	if c := e.card(b.ID, card.ID); c.AttachmentCount != 2 || c.Cover != nil || c.Version != 1 {
		t.Errorf("card after two uploads: count %d cover %v version %d", c.AttachmentCount, c.Cover, c.Version)
	}

	// Listing and downloading: viewers too.
	list := apitest.Must[struct {
		Attachments []board.Attachment
		MaxBytes    int64 `json:"max_bytes"`
	}](t, e.do("GET", A, carol, nil), http.StatusOK)
	if len(list.Attachments) != 2 || list.Attachments[0].ID != pic.ID || list.MaxBytes != 256<<10 {
		t.Errorf("list %+v", list)
	}
	r = e.do("GET", A+"/"+pic.ID+"/content", carol, nil)
	if r.Status != http.StatusOK || sha256.Sum256(r.Body) != sum || r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("download of the image: %d %v", r.Status, r.Header)
	}
	checkFileHeaders(t, r, "inline", "photo.png")
	r = e.do("GET", A+"/"+page.ID+"/content", carol, nil)
	if !bytes.Equal(r.Body, evil) || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("download of the page: %v", r)
	}
	checkFileHeaders(t, r, "attachment", xssName)
	if r := e.do("GET", A+"/"+pic.ID+"/content", carol, nil, "Range", "bytes=0-7"); r.Status != http.StatusPartialContent ||
		!bytes.Equal(r.Body, img[:8]) {
		t.Errorf("range: %v", r)
	}

	// Thumbnails: of the image, not of the page.
	r = e.do("GET", A+"/"+pic.ID+"/thumbnail", carol, nil)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("thumbnail: %v", r)
	}
	checkFileHeaders(t, r, "inline", "photo.png")
	thumb, err := png.Decode(bytes.NewReader(r.Body))
	if err != nil || thumb.Bounds().Dx() != 256 || thumb.Bounds().Dy() != 128 {
		t.Errorf("thumbnail %v, %v; want 256×128", err, thumb.Bounds())
	}
	if r := e.do("GET", A+"/"+pic.ID+"/thumbnail", carol, nil, "If-None-Match", r.Header.Get("ETag")); r.Status != http.StatusNotModified {
		t.Errorf("thumbnail again with its ETag: %v", r)
	}
	apitest.CheckProblem(t, e.do("GET", A+"/"+page.ID+"/thumbnail", carol, nil), http.StatusNotFound, board.ENotFound)

	// Refusals change nothing.
	f := e.freeze(b.ID, other.ID)
	objects := len(keys(t, files.Storage()))
	apitest.CheckProblem(t, e.do("POST", uploadPath(b.ID, card.ID, "v.txt"), carol, []byte("viewer")), http.StatusForbidden, board.EForbidden)
	apitest.CheckProblem(t, e.do("POST", uploadPath(b.ID, card.ID, "big.bin"), bob, randomFile(t, 256<<10+1)),
		http.StatusRequestEntityTooLarge, board.ETooLarge)
	for _, name := range []string{"", "a/b", `a\b`, "tab\there", strings.Repeat("n", 256), "\xff"} {
		r := e.do("POST", "/api/boards/"+b.ID+"/cards/"+card.ID+"/attachments?name="+url.QueryEscape(name), bob, []byte("x"))
		if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("name %q: %v, want 422 (or 413)", name, r)
		}
	}
	for _, path := range []string{
		"/api/boards/" + b.ID + "/cards/" + card2.ID + "/attachments/" + pic.ID,
		"/api/boards/" + other.ID + "/cards/" + otherCard.ID + "/attachments/" + pic.ID,
		"/api/boards/" + b.ID + "/cards/" + otherCard.ID + "/attachments/" + pic.ID,
		A + "/not-an-id",
	} {
		apitest.CheckProblem(t, e.do("GET", path+"/content", alice, nil), http.StatusNotFound, board.ENotFound)
		apitest.CheckProblem(t, e.do("GET", path+"/thumbnail", alice, nil), http.StatusNotFound, board.ENotFound)
		apitest.CheckProblem(t, e.do("DELETE", path, alice, nil), http.StatusNotFound, board.ENotFound)
	}
	apitest.CheckProblem(t, e.do("POST", uploadPath(b.ID, otherCard.ID, "x"), bob, []byte("x")), http.StatusNotFound, board.ENotFound)
	// A cover must be an image of that card.
	C := "/api/boards/" + b.ID + "/cards/"
	apitest.CheckProblem(t, e.do("PATCH", C+card.ID, bob, map[string]any{"cover": page.ID}), http.StatusUnprocessableEntity, board.EInvalid)
	apitest.CheckProblem(t, e.do("PATCH", C+card2.ID, bob, map[string]any{"cover": pic.ID}), http.StatusUnprocessableEntity, board.EInvalid)
	apitest.CheckProblem(t, e.do("PATCH", C+card.ID, bob, map[string]any{"cover": "nope"}), http.StatusUnprocessableEntity, board.EInvalid)
	f.Check(t, "refused attachment requests")
	if n := len(keys(t, files.Storage())); n != objects || e.count(`SELECT count(*) FROM attachment_orphans`) != 0 {
		t.Errorf("refused uploads left %d objects (was %d) and %d ledger entries", n, objects, e.count(`SELECT count(*) FROM attachment_orphans`))
	}

	// An upload of unsaid length (chunked) over the limit.
	req := e.request("POST", e.HTTP.URL+uploadPath(b.ID, card.ID, "chunked.bin"), bob, nil)
	req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(randomFile(t, 300<<10))))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !bytes.Contains(body, []byte("262144 bytes")) {
		t.Errorf("chunked over the limit: %d %s", resp.StatusCode, body)
	}

	// Idempotency-Key: the retry answers the first upload.
	first := apitest.Must[board.Attachment](t, e.do("POST", uploadPath(b.ID, card2.ID, "once.txt"), bob, []byte("once"),
		"Idempotency-Key", "up-1"), http.StatusCreated)
	r = e.do("POST", uploadPath(b.ID, card2.ID, "once.txt"), bob, []byte("once"), "Idempotency-Key", "up-1")
	if again := apitest.Must[board.Attachment](t, r, http.StatusCreated); again.ID != first.ID || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay %+v %v", again, r.Header)
	}
	apitest.CheckProblem(t, e.do("POST", uploadPath(b.ID, card2.ID, "once.txt"), bob, []byte("twice"), "Idempotency-Key", "up-1"),
		http.StatusUnprocessableEntity, board.EIdempotencyReused)
	if n := e.count(`SELECT count(*) FROM attachments WHERE card_id = $1`, card2.ID); n != 1 {
		t.Errorf("%d attachments after a replayed upload, want 1", n)
	}

	// The cover: set, shown on the card, gone with its attachment.
	r = e.do("PATCH", C+card.ID, bob, map[string]any{"cover": pic.ID}, "X-Op-Id", "cover-1")
	if c := apitest.Must[board.Card](t, r, http.StatusOK); c.Cover == nil || *c.Cover != pic.ID || c.AttachmentCount != 2 {
		t.Errorf("cover set: %+v", c)
	}
	if ev := e.lastEvent(b.ID); ev.Kind != board.KindCardUpdated || ev.OpID != "cover-1" {
		t.Errorf("last event %s %s", ev.Kind, ev.OpID)
	}
	apitest.CheckProblem(t, e.do("DELETE", A+"/"+pic.ID, carol, nil), http.StatusForbidden, board.EForbidden)
	if r := e.do("DELETE", A+"/"+pic.ID, bob, nil, "X-Op-Id", "del-1"); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %v", r)
	}
	ev := e.lastEvent(b.ID)
	var change board.CardChange
	if err := json.Unmarshal(ev.Data, &change); err != nil || ev.Kind != board.KindAttachmentDeleted || change.Deleted != pic.ID ||
		change.Card.Cover != nil || change.Card.AttachmentCount != 1 || ev.OpID != "del-1" {
		t.Errorf("delete event %s %s", ev.Kind, ev.Data)
	}
	if c := e.card(b.ID, card.ID); c.Cover != nil || c.AttachmentCount != 1 {
		t.Errorf("card after its cover was deleted: %+v", c)
	}
	apitest.CheckProblem(t, e.do("GET", A+"/"+pic.ID+"/content", alice, nil), http.StatusNotFound, board.ENotFound)
	// Its object waits on the list for the sweep (which the server runs
	// after each such commit and periodically).
	if n := e.count(`SELECT count(*) FROM attachment_orphans`); n != 1 {
		t.Errorf("%d objects listed for deletion, want 1", n)
	}
	if _, err := files.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(keys(t, files.Storage()), pic.ID) {
		t.Error("the deleted attachment's object is still stored")
	}

	// Deleting the card, then the board, deletes their objects.
	e.do("DELETE", C+card.ID, alice, nil)
	e.do("DELETE", "/api/boards/"+b.ID, alice, nil)
	if _, err := files.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if k := keys(t, files.Storage()); len(k) != 0 || e.count(`SELECT count(*) FROM attachments`) != 0 ||
		e.count(`SELECT count(*) FROM attachment_orphans`) != 0 {
		t.Errorf("after deleting the card and the board: objects %v, %d rows, %d listed", k,
			e.count(`SELECT count(*) FROM attachments`), e.count(`SELECT count(*) FROM attachment_orphans`))
	}
}

// checkFileHeaders checks what makes a download safe: nothing runs,
// nothing is sniffed, the name is offered as it was given.
func checkFileHeaders(t *testing.T, r apitest.Response, disposition, name string) {
	t.Helper()
	h := r.Header
	if h.Get("Content-Security-Policy") != "default-src 'none'; sandbox" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download headers: %v", h)
	}
	d, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || d != disposition || params["filename"] != name {
		t.Errorf("Content-Disposition %q: %s %v %v, want %s with filename %q", h.Get("Content-Disposition"), d, params, err, disposition, name)
	}
}

// TestAttachmentReplay: replaying the log of a board with attachments and
// a cover reproduces its snapshot.
func TestAttachmentReplay(t *testing.T) {
	t.Parallel()
	st := apitest.OpenStore(t)
	e := serveAPI(t, st, withFiles(pgFiles(st, 0)))
	b := e.mkBoard(alice, "replay")
	col := e.mkColumn(alice, b.ID, "c")
	card := e.mkCard(alice, b.ID, col.ID, "card")
	var ids []string
	for i := range 3 {
		ids = append(ids, apitest.Must[board.Attachment](t, e.do("POST", uploadPath(b.ID, card.ID, fmt.Sprint(i, ".png")), alice, tinyPNG()),
			http.StatusCreated).ID)
	}
	e.do("PATCH", "/api/boards/"+b.ID+"/cards/"+card.ID, alice, map[string]any{"cover": ids[1]})
	e.do("DELETE", "/api/boards/"+b.ID+"/cards/"+card.ID+"/attachments/"+ids[0], alice, nil)
	e.do("POST", "/api/boards/"+b.ID+"/cards/"+card.ID+"/comments", alice, map[string]any{"text": "hi"})
	page := apitest.Must[struct{ Events []board.Event }](t, e.do("GET", "/api/boards/"+b.ID+"/events?since=0", alice, nil), http.StatusOK)
	var s board.Snapshot
	for _, ev := range page.Events {
		if err := s.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	snap := e.snapshot(alice, b.ID)
	s.Board.Role = snap.Board.Role
	got, _ := json.Marshal(s)
	want, _ := json.Marshal(snap)
	if string(got) != string(want) {
		t.Errorf("replayed:\n%s\nsnapshot:\n%s", got, want)
	}
	if c := snap.Cards[0]; c.AttachmentCount != 2 || c.Cover == nil || *c.Cover != ids[1] || c.CommentCount != 1 {
		t.Errorf("card in the snapshot: %+v", c)
	}
}

// signalFiles tells when each upload's storing ended (and so, when it
// failed, its cleaning up).
type signalFiles struct {
	*attachment.Files
	puts chan error
}

func (s signalFiles) Put(ctx context.Context, r io.Reader, size int64) (attachment.Stored, error) {
	st, err := s.Files.Put(ctx, r, size)
	s.puts <- err
	return st, err
}

// cutUpload sends an upload that says n bytes, sends half and hangs up.
func cutUpload(t *testing.T, base, path, user string, n int) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nX-User: %s\r\nContent-Length: %d\r\n\r\n", path, u.Host, user, n)
	w.Write(randomFile(t, n/2)) //nolint:errcheck // checked by Flush
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// TestAttachmentsS3: the S3 storage behind the API, three instances (one
// database, one bucket) serving each other's files; a cut upload and an
// unreachable store leave nothing half-written; deleting a card empties
// the bucket of its files.
func TestAttachmentsS3(t *testing.T) {
	t.Parallel()
	s3 := s3test.Start(t)
	bucket, _ := s3.Bucket()
	st := apitest.OpenStore(t)
	var inst []*env
	var files []signalFiles
	for range 3 {
		f := signalFiles{attachment.New(attachment.Options{Storage: bucket, Ledger: st}), make(chan error, 10)}
		files = append(files, f)
		inst = append(inst, serveAPI(t, st, withFiles(f)))
	}
	e := inst[0]
	b := e.mkBoard(alice, "s3")
	e.addMember(b.ID, bob, board.RoleEditor)
	col := e.mkColumn(alice, b.ID, "c")
	card := e.mkCard(alice, b.ID, col.ID, "card")
	keep := e.mkCard(alice, b.ID, col.ID, "keep")
	A := "/api/boards/" + b.ID + "/cards/" + card.ID + "/attachments/"

	// Each instance takes one file (the largest at the 10 MiB limit); every
	// instance serves every file, byte for byte.
	sizes := []int{board.DefaultMaxAttachmentBytes, 3<<20 + 1, 17}
	var ups []board.Attachment
	var sums [][32]byte
	for i, in := range inst {
		data := randomFile(t, sizes[i])
		ups = append(ups, apitest.Must[board.Attachment](t, in.do("POST", uploadPath(b.ID, card.ID, fmt.Sprint("f", i)), bob, data), http.StatusCreated))
		<-files[i].puts
		sums = append(sums, sha256.Sum256(data))
	}
	for i, up := range ups {
		for j, in := range inst {
			r := in.do("GET", A+up.ID+"/content", alice, nil)
			if r.Status != http.StatusOK || sha256.Sum256(r.Body) != sums[i] {
				t.Errorf("file %d from instance %d: %d, %d bytes, SHA-256 differs", i, j, r.Status, len(r.Body))
			}
		}
	}
	kept := apitest.Must[board.Attachment](t, e.do("POST", uploadPath(b.ID, keep.ID, "kept.png"), bob, tinyPNG()), http.StatusCreated)
	<-files[0].puts
	apitest.CheckProblem(t, e.do("POST", uploadPath(b.ID, card.ID, "big"), bob, randomFile(t, board.DefaultMaxAttachmentBytes+1)),
		http.StatusRequestEntityTooLarge, board.ETooLarge)
	<-files[0].puts
	if n := len(keys(t, bucket)); n != 4 {
		t.Fatalf("%d objects in the bucket, want 4", n)
	}

	// A cut upload: no row, no object, nothing listed.
	f := e.freeze(b.ID)
	cutUpload(t, inst[1].HTTP.URL, uploadPath(b.ID, card.ID, "cut.bin"), bob, 4<<20)
	if err := <-files[1].puts; board.ErrorCode(err) != board.EMalformed {
		t.Errorf("cut upload: %v, want malformed", err)
	}
	f.Check(t, "cut upload")
	if n, listed := len(keys(t, bucket)), e.count(`SELECT count(*) FROM attachment_orphans`); n != 4 || listed != 0 {
		t.Errorf("after a cut upload: %d objects (want 4), %d listed (want 0)", n, listed)
	}

	// Deleting the card on instance 1: its three objects go (the sweep of
	// instance 2 deletes them), the other card's stays.
	inst[1].do("DELETE", "/api/boards/"+b.ID+"/cards/"+card.ID, alice, nil)
	if n, err := files[2].Sweep(t.Context()); err != nil || n != 3 {
		t.Errorf("sweep: %d, %v; want 3 deleted", n, err)
	}
	if k := keys(t, bucket); !slices.Equal(k, []string{kept.ID}) {
		t.Errorf("objects after deleting the card: %v, want only %s", k, kept.ID)
	}

	// The store goes away: 503 with Retry-After, and nothing written.
	s3.Stop()
	f = e.freeze(b.ID)
	r, err := inst[2].send("POST", uploadPath(b.ID, keep.ID, "down.txt"), bob, []byte("while S3 is down"))
	if err != nil {
		t.Fatal(err)
	}
	<-files[2].puts
	apitest.CheckProblem(t, r, http.StatusServiceUnavailable, board.EUnavailable)
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	r, err = inst[0].send("GET", "/api/boards/"+b.ID+"/cards/"+keep.ID+"/attachments/"+kept.ID+"/content", alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	apitest.CheckProblem(t, r, http.StatusServiceUnavailable, board.EUnavailable)
	f.Check(t, "upload while S3 is down")
	if n := e.count(`SELECT count(*) FROM attachments`); n != 1 {
		t.Errorf("%d attachment rows, want 1", n)
	}
	// Its reservation is left due: the first sweep after the store returns
	// finds nothing to delete and forgets it.
	if n := e.count(`SELECT count(*) FROM attachment_orphans WHERE due_at <= now()`); n > 1 {
		t.Errorf("%d entries listed, want at most the failed upload's", n)
	}
}

// TestConcurrentUploads: 16 uploads at once to one card through two
// instances, with a comment and a cover change among them: every one is
// one event, the log stays contiguous, the count is exact and replaying
// the log gives the snapshot.
func TestConcurrentUploads(t *testing.T) {
	t.Parallel()
	st := apitest.OpenStore(t)
	files := pgFiles(st, 0)
	inst := []*env{serveAPI(t, st, withFiles(files)), serveAPI(t, st, withFiles(files))}
	e := inst[0]
	b := e.mkBoard(alice, "busy")
	e.addMember(b.ID, bob, board.RoleEditor)
	col := e.mkColumn(alice, b.ID, "c")
	card := e.mkCard(alice, b.ID, col.ID, "card")
	first := apitest.Must[board.Attachment](t, e.do("POST", uploadPath(b.ID, card.ID, "first.png"), alice, tinyPNG()), http.StatusCreated)
	before := e.seq(b.ID)
	const n = 16
	errs := make(chan error, n+2)
	for i := range n {
		go func() {
			user := []string{alice, bob}[i%2]
			r, err := inst[i%2].send("POST", uploadPath(b.ID, card.ID, fmt.Sprintf("f%02d.bin", i)), user, randomFile(t, 50_000+i))
			if err == nil && r.Status != http.StatusCreated {
				err = fmt.Errorf("upload %d: %v", i, r)
			}
			errs <- err
		}()
	}
	go func() {
		r, err := inst[1].send("PATCH", "/api/boards/"+b.ID+"/cards/"+card.ID, bob, map[string]any{"cover": first.ID})
		if err == nil && r.Status != http.StatusOK {
			err = fmt.Errorf("cover: %v", r)
		}
		errs <- err
	}()
	go func() {
		r, err := inst[0].send("POST", "/api/boards/"+b.ID+"/cards/"+card.ID+"/comments", alice, map[string]any{"text": "busy"})
		if err == nil && r.Status != http.StatusCreated {
			err = fmt.Errorf("comment: %v", r)
		}
		errs <- err
	}()
	for range n + 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := e.seq(b.ID); got != before+n+2 {
		t.Errorf("seq %d, want %d: one event per change", got, before+n+2)
	}
	page := apitest.Must[struct{ Events []board.Event }](t, e.do("GET", "/api/boards/"+b.ID+"/events?since=0&limit=1000", alice, nil), http.StatusOK)
	var s board.Snapshot
	for i, ev := range page.Events {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
		if err := s.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	snap := e.snapshot(alice, b.ID)
	// (bob was added in SQL, without an event: compare the cards.)
	got, _ := json.Marshal(s.Cards)
	want, _ := json.Marshal(snap.Cards)
	if string(got) != string(want) {
		t.Errorf("replayed cards:\n%s\nsnapshot's:\n%s", got, want)
	}
	if c := snap.Cards[0]; c.AttachmentCount != n+1 || c.Cover == nil || *c.Cover != first.ID || c.CommentCount != 1 {
		t.Errorf("card %+v", c)
	}
	if k := keys(t, files.Storage()); len(k) != n+1 {
		t.Errorf("%d objects, want %d", len(k), n+1)
	}
}

// TestUploadRefusedAfterStoring: a file stored whose row is then refused
// (the card is full by then) is deleted again, with its ledger entry.
func TestUploadRefusedAfterStoring(t *testing.T) {
	t.Parallel()
	st := apitest.OpenStore(t)
	files := pgFiles(st, 0)
	e := serveAPI(t, st, withFiles(files))
	b := e.mkBoard(alice, "full")
	card := e.mkCard(alice, b.ID, e.mkColumn(alice, b.ID, "c").ID, "card")
	apitest.Exec(t, st.Pool(), `UPDATE cards SET attachment_count = $1 WHERE id = $2`, board.MaxAttachmentsPerCard, card.ID)
	f := e.freeze(b.ID)
	apitest.CheckProblem(t, e.do("POST", uploadPath(b.ID, card.ID, "one-too-many.txt"), alice, []byte("hello")), http.StatusConflict, board.EConflict)
	f.Check(t, "an upload to a full card")
	if k, n := keys(t, files.Storage()), e.count(`SELECT count(*) FROM attachment_orphans`); len(k) != 0 || n != 0 {
		t.Errorf("after a refused row: objects %v, %d listed", k, n)
	}
}
