package board

import "context"

// Response is a rendered HTTP response as an idempotency key stores it: a
// replay of the key returns exactly this.
type Response struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
}

// IdempotentCall ties a mutation to a claimed idempotency key. The store calls
// Render with the mutation's result inside the mutating transaction and saves
// the response with the key in that same transaction, so a key is completed
// exactly when its mutation commits.
type IdempotentCall struct {
	Caller string
	Key    string
	Render func(result any) (Response, error)
}

type idempotencyKey struct{}

// WithIdempotentCall returns a context carrying c for the store to complete.
func WithIdempotentCall(ctx context.Context, c *IdempotentCall) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, c)
}

// IdempotentCallFrom returns the call carried by ctx, or nil.
func IdempotentCallFrom(ctx context.Context) *IdempotentCall {
	c, _ := ctx.Value(idempotencyKey{}).(*IdempotentCall)
	return c
}
