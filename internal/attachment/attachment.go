// Package attachment keeps the bytes of files attached to cards. A Storage
// holds objects under keys; two real ones ship: Postgres (the default: a
// table in the database every instance already shares) and S3 (any
// S3-compatible object store). Files is what the API uses on top: it sniffs,
// hashes and counts an upload while streaming it to the Storage, enforcing
// the size limit as it reads, and it sweeps the objects that no row names
// any more (see store's attachments: the row commits after the object is
// stored, and a deleted row leaves its object on a durable list).
package attachment

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// Storage holds objects under keys. Implementations are safe for
// concurrent use. An error that means the storage cannot be reached is an
// EUnavailable *board.Error with a RetryAfter.
type Storage interface {
	// Put stores size bytes read from r under key (size is exact; Files
	// knows it before calling). When r fails or ends early, nothing is
	// stored under key and Put returns an error.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open returns the object's bytes and size: ErrNotFound when there is
	// none. The caller closes it.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	// Delete deletes the object; deleting what is not there is not an
	// error.
	Delete(ctx context.Context, key string) error
	// Keys lists every key stored (for checks and tests: it reads them
	// all).
	Keys(ctx context.Context) ([]string, error)
}

// ErrNotFound is the error of Open for a key with no object.
var ErrNotFound = errors.New("attachment: no such object")

// Ledger is the durable list of objects that may have no row (store.Store):
// uploads in flight and objects of deleted attachments.
type Ledger interface {
	ReserveAttachment(ctx context.Context, key string, grace time.Duration) error
	// ExpireOrphan makes the entry of key due now and reports whether
	// there was one: false means the upload's row committed (which ended
	// its reservation), so its object must stay. It waits for a commit
	// of that row still in flight.
	ExpireOrphan(ctx context.Context, key string) (bool, error)
	DueOrphans(ctx context.Context, limit int) ([]string, error)
	ForgetOrphans(ctx context.Context, keys []string) error
}

// Stored is what Files learned storing an upload.
type Stored struct {
	Key         string
	Size        int64
	SHA256      string // hex
	ContentType string // sniffed from the bytes
}

// Options configure Files.
type Options struct {
	Storage Storage
	Ledger  Ledger
	// MaxBytes is the size limit of one file; 0: board.DefaultMaxAttachmentBytes.
	MaxBytes int64
	// Grace is how long an upload may take before its object, if no row
	// names it by then, is swept; 0: an hour.
	Grace  time.Duration
	Logger *slog.Logger
}

// Files stores uploads and sweeps orphaned objects. Safe for concurrent use.
type Files struct {
	o    Options
	log  *slog.Logger
	wake chan struct{}

	sweepMu sync.Mutex // one sweep at a time in this process
}

// New returns Files over o.Storage and o.Ledger.
func New(o Options) *Files {
	if o.MaxBytes <= 0 {
		o.MaxBytes = board.DefaultMaxAttachmentBytes
	}
	if o.Grace <= 0 {
		o.Grace = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Files{o: o, log: o.Logger, wake: make(chan struct{}, 1)}
}

// MaxBytes is the size limit of one file.
func (f *Files) MaxBytes() int64 { return f.o.MaxBytes }

// Storage is the storage the files are in.
func (f *Files) Storage() Storage { return f.o.Storage }

// Put stores the file read from r under a new key, reserved in the ledger
// first: size is r's length when the client said it (Content-Length), else
// -1. It reads at most MaxBytes: a larger size, or more bytes, is
// ETooLarge (413) and leaves nothing stored; so does a read error of r (a
// cut upload, EMalformed). The caller must then either commit a row naming
// the key (which ends the reservation) or call Discard.
func (f *Files) Put(ctx context.Context, r io.Reader, size int64) (Stored, error) {
	if size > f.o.MaxBytes {
		return Stored{}, board.TooLargeError(f.o.MaxBytes)
	}
	key, err := newKey()
	if err != nil {
		return Stored{}, err
	}
	if err := f.o.Ledger.ReserveAttachment(ctx, key, f.o.Grace); err != nil {
		return Stored{}, err
	}
	st, err := f.put(ctx, key, r, size)
	if err != nil {
		f.Discard(ctx, key)
		return Stored{}, err
	}
	return st, nil
}

func (f *Files) put(ctx context.Context, key string, r io.Reader, size int64) (Stored, error) {
	in := &upload{r: r, max: f.o.MaxBytes, hash: sha256.New()}
	// The first 512 bytes (fewer for a smaller file) decide the type.
	head := make([]byte, 512)
	n, err := io.ReadFull(in, head)
	if in.err != nil {
		return Stored{}, in.fault(in.err)
	}
	head = head[:n]
	var body io.Reader
	ex := &exact{r: in, left: size - int64(n)}
	if size < 0 || err != nil {
		// Length unknown (or all read): read it all, within the limit, so
		// that the storage is given an exact size.
		rest, _ := io.ReadAll(in)
		if in.err != nil {
			return Stored{}, in.fault(in.err)
		}
		all := append(head, rest...)
		if size >= 0 && int64(len(all)) != size {
			return Stored{}, in.fault(io.ErrUnexpectedEOF)
		}
		size, body = int64(len(all)), bytes.NewReader(all)
	} else {
		body = io.MultiReader(bytes.NewReader(head), ex)
	}
	err = f.o.Storage.Put(ctx, key, body, size)
	switch {
	case in.err != nil: // the client's failure, whatever the storage made of it
		return Stored{}, in.fault(in.err)
	case ex.short:
		return Stored{}, in.fault(io.ErrUnexpectedEOF)
	case err != nil:
		return Stored{}, err
	}
	return Stored{Key: key, Size: in.n, SHA256: hex.EncodeToString(in.hash.Sum(nil)), ContentType: Sniff(head)}, nil
}

// Discard deletes the object of an upload whose row did not commit, and
// its reservation. A row that did commit after all (its COMMIT's answer
// was lost) keeps its object: the reservation, which that commit ended,
// decides. On failure the entry stays, due, for a sweep. It runs on after
// ctx ends.
func (f *Files) Discard(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	orphan, err := f.o.Ledger.ExpireOrphan(ctx, key)
	if err != nil {
		f.log.Warn("expire the reservation of a failed upload; a sweep will delete its object", "key", key, "err", err)
		return
	}
	if !orphan {
		return
	}
	if err := f.o.Storage.Delete(ctx, key); err != nil {
		f.log.Warn("delete the object of a failed upload; a sweep will", "key", key, "err", err)
		return
	}
	if err := f.o.Ledger.ForgetOrphans(ctx, []string{key}); err != nil {
		f.log.Warn("forget a deleted upload", "key", key, "err", err)
	}
}

// Open opens a stored object.
func (f *Files) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	return f.o.Storage.Open(ctx, key)
}

// Sweep deletes every object the ledger says is due (objects of deleted
// attachments, uploads that never committed), then their entries. An
// object that cannot be deleted now stays listed for the next sweep. Any
// number of instances may sweep at once: deleting twice is harmless.
func (f *Files) Sweep(ctx context.Context) (int, error) {
	f.sweepMu.Lock()
	defer f.sweepMu.Unlock()
	deleted := 0
	for {
		keys, err := f.o.Ledger.DueOrphans(ctx, 100)
		if err != nil || len(keys) == 0 {
			return deleted, err
		}
		done := keys[:0]
		var failed error
		for _, k := range keys {
			if err := f.o.Storage.Delete(ctx, k); err != nil {
				failed = fmt.Errorf("delete object %s: %w", k, err)
				break
			}
			done = append(done, k)
		}
		if len(done) > 0 {
			if err := f.o.Ledger.ForgetOrphans(ctx, done); err != nil {
				return deleted, err
			}
			deleted += len(done)
		}
		if failed != nil {
			return deleted, failed
		}
	}
}

// Wake asks Run to sweep soon (after a commit that deleted attachments).
// It never blocks.
func (f *Files) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// WakeOn is a commit hook: it wakes the sweeper after events that may have
// deleted attachments.
func (f *Files) WakeOn(ev board.Event) {
	switch ev.Kind {
	case board.KindAttachmentDeleted, board.KindCardDeleted, board.KindColumnDeleted, board.KindBoardDeleted:
		f.Wake()
	}
}

// Run sweeps when woken and every interval (0: a minute), catching what a
// crashed instance left and reservations falling due, until ctx ends.
func (f *Files) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.wake:
		}
		if n, err := f.Sweep(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("sweep attachment objects", "deleted", n, "err", err)
		}
	}
}

// Sniff is the content type of a file that starts with head (its first
// 512 bytes): http.DetectContentType, which knows the image types that
// matter, with its parameters kept (text/plain; charset=utf-8).
func Sniff(head []byte) string { return http.DetectContentType(head) }

// newKey returns a random UUID (version 4), the key and id of an upload.
func newKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new attachment key: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// upload reads the client's bytes, counting and hashing them, and fails
// past max. err keeps the first failure, whatever the storage made of it.
type upload struct {
	r    io.Reader
	max  int64
	n    int64
	hash hash.Hash
	err  error
}

var errTooLarge = errors.New("over the size limit")

func (u *upload) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if left := u.max + 1 - u.n; int64(len(p)) > left {
		p = p[:left] // one byte past the limit is enough to know
	}
	n, err := u.r.Read(p)
	u.n += int64(n)
	if u.n > u.max {
		u.err = errTooLarge
		return 0, u.err
	}
	u.hash.Write(p[:n]) //nolint:errcheck // a hash never fails
	if err != nil && !errors.Is(err, io.EOF) {
		u.err = err
	}
	return n, err
}

// fault is the client-facing error of a failed read.
func (u *upload) fault(err error) error {
	if errors.Is(err, errTooLarge) {
		return board.TooLargeError(u.max)
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return board.TooLargeError(u.max)
	}
	return &board.Error{Code: board.EMalformed, Message: "the upload was cut short", Err: err}
}

// exact passes on exactly left bytes of r: fewer (r ends early) is
// io.ErrUnexpectedEOF, so that the storage never stores a short object.
type exact struct {
	r     io.Reader
	left  int64
	short bool
}

func (e *exact) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if e.left > 0 {
			e.short = true
			return n, io.ErrUnexpectedEOF
		}
		return n, io.EOF
	}
	return n, err
}
