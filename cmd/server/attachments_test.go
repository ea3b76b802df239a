package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/devtools/s3test"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/store"
)

// TestAttachmentsOnS3: two instances configured with ATTACHMENTS_S3_* (one
// database, one bucket of a real S3 server) serve each other's files, and
// deleting the card empties the bucket without anyone asking: the commit
// wakes the instance's sweeper.
func TestAttachmentsOnS3(t *testing.T) {
	t.Parallel()
	s3 := s3test.Start(t)
	bucket, s3cfg := s3.Bucket()
	s3cfg.UseSSL = false
	dbURL := pgtest.NewDatabase(t, "attachments", store.Migrate)
	_, natsURL := natsCluster(t, 1)
	var apps []*App
	for range 2 {
		cfg := testConfig(dbURL, natsURL)
		cfg.AttachmentsS3 = s3cfg
		cfg.AttachmentsMaxBytes = board.DefaultMaxAttachmentBytes
		cfg.AttachmentsSweepInterval = time.Hour // only the commit's wake-up sweeps in this test
		apps = append(apps, startApp(t, cfg))
	}
	ann := apps[0].api(t, "ann")
	boardID, colID := ann.newBoard("files")
	card := ann.client().NewCard(boardID, colID, "card")
	data := make([]byte, 2<<20)
	rand.Read(data) //nolint:errcheck // never fails
	r := ann.client().Do("POST", "/api/boards/"+boardID+"/cards/"+card.ID+"/attachments?name=data.bin", data)
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %v", r)
	}
	var att board.Attachment
	if err := json.Unmarshal(r.Body, &att); err != nil {
		t.Fatal(err)
	}
	other := apps[1].api(t, "ann").client()
	got := other.Do("GET", "/api/boards/"+boardID+"/cards/"+card.ID+"/attachments/"+att.ID+"/content", nil)
	if got.Status != http.StatusOK || !bytes.Equal(got.Body, data) {
		t.Fatalf("download from the other instance: %d, %d bytes", got.Status, len(got.Body))
	}
	if keys, err := bucket.Keys(t.Context()); err != nil || len(keys) != 1 {
		t.Fatalf("bucket: %v, %v; want the one file", keys, err)
	}
	if r := other.Do("DELETE", "/api/boards/"+boardID+"/cards/"+card.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete card: %v", r)
	}
	waitFor(t, 30*time.Second, "the deleted card's file to leave the bucket", func() bool {
		keys, err := bucket.Keys(t.Context())
		return err == nil && len(keys) == 0
	})
}
