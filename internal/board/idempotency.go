package board

import (
	"context"
	"encoding/json"
	"time"
)

// IdempotentCall ties a mutation to a claimed idempotency key; it is plain
// data for the store. Claim identifies the claim (the store sets it when the
// key is claimed): a claim taken over by a retry, when its owner seemed
// gone, is no longer the caller's. The store locks the claim when the
// mutating transaction begins and stores the mutation's result (as JSON) with the key in that
// same transaction, so a key is completed exactly when its mutation
// commits, and a retry that finds the key still locked waits to learn
// whether it did. With Replay set (the result the key holds), the store
// answers that result again without running the mutation.
type IdempotentCall struct {
	Caller string
	Key    string
	Claim  time.Time
	Replay json.RawMessage
}

// StoredCall is what a completed idempotency key answers with: either the
// response of a request that failed, as its caller stored it (opaque to the
// store), or the result (JSON) of the mutation that committed with the key,
// which the caller replays through IdempotentCall.Replay.
type StoredCall struct {
	Response []byte
	Result   json.RawMessage
}

type idempotencyKey struct{}

// WithIdempotentCall returns a context carrying c for the store.
func WithIdempotentCall(ctx context.Context, c *IdempotentCall) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, c)
}

// IdempotentCallFrom returns the call carried by ctx, or nil.
func IdempotentCallFrom(ctx context.Context) *IdempotentCall {
	c, _ := ctx.Value(idempotencyKey{}).(*IdempotentCall)
	return c
}
