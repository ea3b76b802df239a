package attachment_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/corkboard/corkboard/devtools/apitest"
	"github.com/corkboard/corkboard/devtools/s3test"
	"github.com/corkboard/corkboard/internal/attachment"
	"github.com/corkboard/corkboard/internal/board"
)

// BenchmarkTransfer10MiB: upload (Files.Put: sniffing, hashing, the
// limit, the ledger's reservation, the storage) and download (Open and
// read to the end) of a 10 MiB file, on each backend, over loopback.
// b.SetBytes makes go test report the throughput (MB/s).
func BenchmarkTransfer10MiB(b *testing.B) {
	st := apitest.OpenStore(b)
	srv := s3test.Start(b)
	bucket, _ := srv.Bucket()
	data := make([]byte, board.DefaultMaxAttachmentBytes)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, be := range []struct {
		name    string
		storage attachment.Storage
	}{{"postgres", attachment.NewPostgres(st.Pool())}, {"s3", bucket}} {
		f := attachment.New(attachment.Options{Storage: be.storage, Ledger: st})
		var keys []string
		b.Run(be.name+"/upload", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				s, err := f.Put(b.Context(), bytes.NewReader(data), int64(len(data)))
				if err != nil {
					b.Fatal(err)
				}
				keys = append(keys, s.Key)
			}
		})
		b.Run(be.name+"/download", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				rc, _, err := f.Open(b.Context(), keys[0])
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(len(data)) {
					b.Fatalf("read %d bytes: %v", n, err)
				}
				rc.Close()
			}
		})
		for _, k := range keys {
			f.Discard(b.Context(), k)
		}
	}
}

// FuzzThumbnail: whatever the bytes, Thumbnail returns an image or
// ErrNoThumbnail-wrapped error, within bounded memory (the header check),
// and never panics.
func FuzzThumbnail(f *testing.F) {
	var img bytes.Buffer
	img.Write(pngHeader(3, 2))
	f.Add(img.Bytes())
	f.Add(pngHeader(100000, 100000))
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	f.Add([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"))
	f.Add([]byte("<html>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, ct, err := attachment.Thumbnail(bytes.NewReader(data))
		if err == nil && (len(out) == 0 || (ct != "image/png" && ct != "image/jpeg")) {
			t.Fatalf("thumbnail of %d bytes, type %q", len(out), ct)
		}
	})
}
