package board

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Attachment is a file on a card. Its bytes are kept by the attachment
// storage; the row holds what the server learned while storing them: the
// size, the SHA-256 (hex) and the content type sniffed from the bytes (the
// client's claim is never used). An attachment does not change once
// uploaded; it is deleted, not edited.
type Attachment struct {
	ID          string    `json:"id"`
	BoardID     string    `json:"board_id"`
	CardID      string    `json:"card_id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	UploaderID  string    `json:"uploader_id"`
	CreatedAt   time.Time `json:"created_at"`
	// StorageKey names the bytes in the storage; it is not shown to
	// clients.
	StorageKey string `json:"-"`
}

// Limits on attachments. Over the count is EConflict (409): the card is
// full. The size of one file is configured (DefaultMaxAttachmentBytes).
const (
	MaxAttachmentsPerCard     = 100
	MaxAttachmentNameLen      = 255 // characters
	DefaultMaxAttachmentBytes = 10 << 20
)

// Event kinds of attachments; their payload is a CardChange.
const (
	KindAttachmentCreated = "attachment.created"
	KindAttachmentDeleted = "attachment.deleted"
)

// coverTypes are the image types a card's cover (and an inline download,
// and a thumbnail) may have: what browsers show as images without running
// anything.
var coverTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// IsImage reports whether the attachment is an image of a type that is safe
// to show inline (PNG, JPEG, GIF, WebP), judged by its sniffed type.
func (a Attachment) IsImage() bool { return coverTypes[a.ContentType] }

// CheckAttachmentName checks a file name: 1 to MaxAttachmentNameLen
// characters of valid UTF-8, no control characters, no path separators
// (a name is shown and offered as the download's name, nothing else).
func CheckAttachmentName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return FieldError(EInvalid, "name", "must not be empty")
	case !utf8.ValidString(name):
		return FieldError(EInvalid, "name", "must be valid UTF-8")
	case utf8.RuneCountInString(name) > MaxAttachmentNameLen:
		return FieldError(ETooLarge, "name", "must be at most %d characters", MaxAttachmentNameLen)
	case strings.ContainsAny(name, `/\`):
		return FieldError(EInvalid, "name", "must not contain / or \\")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return FieldError(EInvalid, "name", "must not contain control characters (U+%04X)", r)
		}
	}
	return nil
}

// TooLargeError is the ETooLarge error of a file over limit bytes.
func TooLargeError(limit int64) error {
	return &Error{Code: ETooLarge, Field: "body",
		Message: fmt.Sprintf("the file is over the limit of %d bytes (%s)", limit, sizeText(limit))}
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
