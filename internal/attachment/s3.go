package attachment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/corkboard/corkboard/internal/board"
)

// S3Config locates a bucket of an S3-compatible object store.
type S3Config struct {
	Endpoint  string // host:port
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string // empty: the store's default
	UseSSL    bool
	// Timeout bounds each request to the store; 0: 30s.
	Timeout time.Duration
}

// S3 keeps objects in a bucket of an S3-compatible store, through minio-go.
// Puts stream with the exact size given (one PUT up to 16 MiB, multipart
// above). A request that cannot reach the store fails fast (one retry) as
// EUnavailable.
type S3 struct {
	c      *minio.Client
	bucket string
}

var _ Storage = (*S3)(nil)

// NewS3 returns the storage in c's bucket. It does not contact the store
// (see EnsureBucket).
func NewS3(c S3Config) (*S3, error) {
	if c.Endpoint == "" || c.Bucket == "" {
		return nil, errors.New("s3 storage: the endpoint and the bucket must be set")
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = c.Timeout
	mc, err := minio.New(c.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:     c.UseSSL,
		Region:     c.Region,
		Transport:  tr,
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 storage: %w", err)
	}
	return &S3{c: mc, bucket: c.Bucket}, nil
}

// EnsureBucket creates the bucket unless it exists.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return s3Error("check bucket "+s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		if resp := minio.ToErrorResponse(err); resp.Code == "BucketAlreadyOwnedByYou" || resp.Code == "BucketAlreadyExists" {
			return nil
		}
		return s3Error("make bucket "+s.bucket, err)
	}
	return nil
}

// Put uploads the object.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	_, err := s.c.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return s3Error("store object "+key, err)
	}
	return nil
}

// Open opens the object; it is read (and seeked) lazily.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, s3Error("read object "+key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, 0, ErrNotFound
		}
		return nil, 0, s3Error("read object "+key, err)
	}
	return obj, info.Size, nil
}

// Delete deletes the object.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil
		}
		return s3Error("delete object "+key, err)
	}
	return nil
}

// Keys lists the objects of the bucket.
func (s *S3) Keys(ctx context.Context) ([]string, error) {
	var keys []string
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return nil, s3Error("list objects", o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys, nil
}

// s3Error wraps err; one that is no answer of the store (unreachable,
// timed out) or a 5xx answer is EUnavailable.
func s3Error(what string, err error) error {
	resp := minio.ToErrorResponse(err)
	if errors.Is(err, context.Canceled) || (resp.StatusCode > 0 && resp.StatusCode < 500) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return &board.Error{Code: board.EUnavailable, Message: "the attachment storage is unreachable; try again",
		RetryAfter: 5 * time.Second, Err: fmt.Errorf("%s: %w", what, err)}
}
