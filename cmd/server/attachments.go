package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/corkboard/corkboard/internal/attachment"
	"github.com/corkboard/corkboard/internal/store"
)

// openFiles is the attachment storage of cfg: an S3 bucket when
// ATTACHMENTS_S3_ENDPOINT is set, else the database. An unreachable object
// store does not stop the start (uploads and downloads answer 503 until it
// is back); the bucket is made when it can be.
func openFiles(ctx context.Context, cfg Config, st *store.Store, log *slog.Logger) (*attachment.Files, error) {
	var storage attachment.Storage = attachment.NewPostgres(st.Pool())
	if cfg.AttachmentsS3.Endpoint != "" {
		s3, err := attachment.NewS3(cfg.AttachmentsS3)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s3.EnsureBucket(ctx); err != nil {
			log.Warn("attachment bucket not checked; uploads fail until the object store answers",
				"endpoint", cfg.AttachmentsS3.Endpoint, "bucket", cfg.AttachmentsS3.Bucket, "err", err)
		}
		storage = s3
		log.Info("attachments in S3", "endpoint", cfg.AttachmentsS3.Endpoint, "bucket", cfg.AttachmentsS3.Bucket)
	}
	return attachment.New(attachment.Options{Storage: storage, Ledger: st, MaxBytes: cfg.AttachmentsMaxBytes, Logger: log}), nil
}
