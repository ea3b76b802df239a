package attachment_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/devtools/s3test"
	"github.com/corkboard/corkboard/internal/attachment"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend is one storage with the ledger of a fresh database.
type backend struct {
	name    string
	storage attachment.Storage
	store   *store.Store
	s3      *s3test.Server // nil for PostgreSQL
}

// backends are both real storages: PostgreSQL (the database's own table)
// and S3 (a SeaweedFS started for the test).
func backends(t *testing.T) []backend {
	st := apitest.OpenStore(t)
	s3st := apitest.OpenStore(t)
	srv := s3test.Start(t)
	bucket, _ := srv.Bucket()
	return []backend{
		{name: "postgres", storage: attachment.NewPostgres(st.Pool()), store: st},
		{name: "s3", storage: bucket, store: s3st, s3: srv},
	}
}

func (b backend) files(max int64) *attachment.Files {
	return attachment.New(attachment.Options{Storage: b.storage, Ledger: b.store, MaxBytes: max})
}

func (b backend) keys(t *testing.T) []string {
	t.Helper()
	keys, err := b.storage.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func (b backend) orphans(t *testing.T) int {
	return apitest.Count(t, b.store.Pool(), `SELECT count(*) FROM attachment_orphans`)
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func code(err error) string { return board.ErrorCode(err) }

// TestStorages: on both backends a file comes back byte for byte (SHA-256),
// with its length known or not; a file over the limit, said or read, and a
// cut upload leave no object; a lying client cannot choose the type; the
// sweep deletes what the ledger lists and nothing else.
func TestStorages(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			f := b.files(board.DefaultMaxAttachmentBytes)
			for _, size := range []int{0, 1, 511, 512, 513, 3<<20 + 7, board.DefaultMaxAttachmentBytes} {
				for _, known := range []bool{true, false} {
					data := randomBytes(t, size)
					n := int64(-1)
					if known {
						n = int64(size)
					}
					st, err := f.Put(ctx, bytes.NewReader(data), n)
					if err != nil {
						t.Fatalf("put %d bytes (length known: %v): %v", size, known, err)
					}
					sum := sha256.Sum256(data)
					if st.Size != int64(size) || st.SHA256 != hex.EncodeToString(sum[:]) {
						t.Errorf("stored %d bytes with SHA-256 %s, want %d and %x", st.Size, st.SHA256, size, sum)
					}
					rc, gotSize, err := f.Open(ctx, st.Key)
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(rc)
					rc.Close()
					if err != nil {
						t.Fatal(err)
					}
					if gotSize != int64(size) || sha256.Sum256(got) != sum {
						t.Errorf("read back %d bytes (size %d), not the %d stored", len(got), gotSize, size)
					}
					// The reservation stays until a row commits: discard it.
					f.Discard(ctx, st.Key)
				}
			}
			if k := b.keys(t); len(k) != 0 || b.orphans(t) != 0 {
				t.Fatalf("after discarding every upload: %d objects, %d ledger entries", len(k), b.orphans(t))
			}

			// Over the limit: said, or found while reading.
			small := b.files(1000)
			if _, err := small.Put(ctx, bytes.NewReader(randomBytes(t, 1001)), 1001); code(err) != board.ETooLarge {
				t.Errorf("1001 bytes said: %v, want too_large", err)
			}
			_, err := small.Put(ctx, bytes.NewReader(randomBytes(t, 5000)), -1)
			if code(err) != board.ETooLarge || !bytes.Contains([]byte(board.ErrorMessage(err)), []byte("1000 bytes")) {
				t.Errorf("5000 bytes unsaid: %v, want too_large naming the limit", err)
			}
			if _, err := small.Put(ctx, bytes.NewReader(randomBytes(t, 1000)), -1); err != nil {
				t.Errorf("exactly the limit: %v", err)
			}
			// Cut short: the client said 3 MiB and sent 1.
			cut := io.MultiReader(bytes.NewReader(randomBytes(t, 1<<20)), errReader{io.ErrUnexpectedEOF})
			if _, err := f.Put(ctx, cut, 3<<20); code(err) != board.EMalformed {
				t.Errorf("cut upload: %v, want malformed", err)
			}
			short := bytes.NewReader(randomBytes(t, 1<<20)) // ends early, cleanly
			if _, err := f.Put(ctx, short, 3<<20); code(err) != board.EMalformed {
				t.Errorf("short upload: %v, want malformed", err)
			}
			if k := b.keys(t); len(k) != 1 || b.orphans(t) != 1 {
				t.Errorf("after the refused uploads: %d objects, %d ledger entries; want only the one at the limit", len(k), b.orphans(t))
			}

			// The sweep: an upload whose reservation fell due (its
			// instance died before the row) is deleted, and a listed
			// object of a deleted row too; a live reservation is kept.
			live, err := f.Put(ctx, bytes.NewReader([]byte("live")), 4)
			if err != nil {
				t.Fatal(err)
			}
			apitest.Exec(t, b.store.Pool(), `UPDATE attachment_orphans SET due_at = now() WHERE storage_key <> $1`, live.Key)
			n, err := f.Sweep(ctx)
			if err != nil || n != 1 {
				t.Errorf("sweep: %d, %v; want 1 deleted", n, err)
			}
			if k := b.keys(t); !slices.Equal(k, []string{live.Key}) {
				t.Errorf("after the sweep: objects %v, want only %s", k, live.Key)
			}
		})
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestSniff: the type comes from the bytes.
func TestSniff(t *testing.T) {
	var img bytes.Buffer
	png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 2, 2))) //nolint:errcheck // a buffer
	for _, c := range []struct {
		head []byte
		want string
	}{
		{img.Bytes(), "image/png"},
		{[]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "image/jpeg"},
		{[]byte("GIF89a\x01\x00\x01\x00"), "image/gif"},
		{[]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "image/webp"},
		{[]byte("<html><script>alert(1)</script>"), "text/html; charset=utf-8"},
		{[]byte("<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"), "text/plain; charset=utf-8"},
		{[]byte("%PDF-1.7"), "application/pdf"},
		{[]byte{0, 1, 2, 3}, "application/octet-stream"},
	} {
		if got := attachment.Sniff(c.head); got != c.want {
			t.Errorf("Sniff(%q) = %q, want %q", c.head, got, c.want)
		}
	}
}

// TestThumbnail: an image is scaled to fit 256×256 keeping its shape and
// its colours; a header that declares too many pixels is refused before
// anything is decoded.
func TestThumbnail(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 1000, 500))
	for y := range 500 {
		for x := range 1000 {
			c := color.RGBA{200, 10, 10, 255}
			if x >= 500 {
				c = color.RGBA{10, 10, 200, 255}
			}
			src.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	out, ct, err := attachment.Thumbnail(bytes.NewReader(buf.Bytes()))
	if err != nil || ct != "image/png" {
		t.Fatalf("thumbnail: %v, %s", err, ct)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 128 {
		t.Errorf("thumbnail is %v, want 256×128", b)
	}
	if r, _, bl, _ := img.At(10, 64).RGBA(); r>>8 != 200 || bl>>8 != 10 {
		t.Errorf("left half is %v, want the red of the source", img.At(10, 64))
	}
	if r, _, bl, _ := img.At(250, 64).RGBA(); r>>8 != 10 || bl>>8 != 200 {
		t.Errorf("right half is %v, want the blue of the source", img.At(250, 64))
	}

	// A decompression bomb: a valid PNG header declaring 100000×100000
	// pixels, and little else.
	bomb := pngHeader(100000, 100000)
	start := time.Now()
	if _, _, err := attachment.Thumbnail(bytes.NewReader(bomb)); !errors.Is(err, attachment.ErrNoThumbnail) {
		t.Errorf("bomb: %v, want ErrNoThumbnail", err)
	}
	t.Logf("refused the bomb in %v", time.Since(start))
	if _, _, err := attachment.Thumbnail(bytes.NewReader([]byte("<html>"))); !errors.Is(err, attachment.ErrNoThumbnail) {
		t.Errorf("not an image: %v, want ErrNoThumbnail", err)
	}
}

// pngHeader is the signature and IHDR chunk of a w×h RGBA PNG.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 1, 1))) //nolint:errcheck // a buffer
	p := b.Bytes()[:33]                                   // signature (8) + IHDR (4+4+13+4)
	be := func(i int, v uint32) { p[i], p[i+1], p[i+2], p[i+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v) }
	be(16, w)
	be(20, h)
	crc := crc32.ChecksumIEEE(p[12:29])
	be(29, crc)
	return p
}
