package board

import "context"

type minSeqKey struct{}

// WithMinSeq returns a context asking the reads made with it (a snapshot, a
// page of the log) to reflect at least the board's event seq: a client that
// wrote the event and must see its own write names it. A store that reads
// from a replica answers from the primary when the replica has not replayed
// that far.
func WithMinSeq(ctx context.Context, seq int64) context.Context {
	return context.WithValue(ctx, minSeqKey{}, seq)
}

// MinSeqFrom returns the seq WithMinSeq set, or 0.
func MinSeqFrom(ctx context.Context) int64 {
	n, _ := ctx.Value(minSeqKey{}).(int64)
	return n
}
