package board

import "time"

// LogConsumer is a registered reader of the global log: something that must
// see every event of every board, in position order, across restarts
// (webhooks, notifications, exports to other systems). Its cursor, Position,
// is the last position it has processed; it lives in PostgreSQL, so any
// instance can continue where another stopped.
//
// The global log orders events across boards: positions start at 1, are
// gap-free and strictly increasing, follow each board's seq order, and become
// readable in order (no event with a lower position appears after a reader
// has seen a higher one). Retention never deletes an event a registered
// consumer has not processed.
type LogConsumer struct {
	Name         string    `json:"name"`
	Position     int64     `json:"position"`
	RegisteredAt time.Time `json:"registered_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}
