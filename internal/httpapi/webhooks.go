package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/webhook"
)

// WebhookStore is what the webhook routes need of the database (see
// package store): every method checks that the user owns the board.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, user, boardID string, in webhook.Input, secret string) (webhook.Webhook, error)
	ListWebhooks(ctx context.Context, user, boardID string) ([]webhook.Webhook, error)
	GetWebhook(ctx context.Context, user, boardID, id string) (webhook.Webhook, error)
	UpdateWebhook(ctx context.Context, user, boardID, id string, p webhook.Patch) (webhook.Webhook, error)
	DeleteWebhook(ctx context.Context, user, boardID, id string) error
	RotateWebhookSecret(ctx context.Context, user, boardID, id, secret string, overlap time.Duration) (webhook.Webhook, error)
	WebhookDeliveries(ctx context.Context, user, boardID, id string, before int64, limit int) ([]webhook.Delivery, error)
	RequestWebhookJob(ctx context.Context, user, boardID, id, trigger string, deliveryID int64) (webhook.Job, error)
}

// WebhookNotifier wakes the webhook worker of this instance (webhook.Worker).
type WebhookNotifier interface {
	Notify(boardID string)
}

// SecretOverlap is how long a rotated-out webhook secret goes on signing
// beside the new one, so receivers can switch without missing a delivery.
const SecretOverlap = 24 * time.Hour

// webhookRoutes are a board's webhooks, under /boards/{board}: only owners
// manage them. They are not board events, and an Idempotency-Key does not
// store their successes (a secret must not be kept).
func (a *API) webhookRoutes(r chi.Router) {
	r.Get("/webhooks", a.listWebhooks)
	r.Post("/webhooks", a.createWebhook)
	r.Get("/webhooks/{webhook}", a.getWebhook)
	r.Patch("/webhooks/{webhook}", a.updateWebhook)
	r.Delete("/webhooks/{webhook}", a.deleteWebhook)
	r.Post("/webhooks/{webhook}/rotate-secret", a.rotateWebhookSecret)
	r.Post("/webhooks/{webhook}/test", a.testWebhook)
	r.Get("/webhooks/{webhook}/deliveries", a.listWebhookDeliveries)
	r.Post("/webhooks/{webhook}/deliveries/{delivery}/redeliver", a.redeliverWebhook)
}

// webhooksOf returns the webhook store, or ENotFound when the API has none.
func (a *API) webhooksOf() (WebhookStore, error) {
	if a.webhooks == nil {
		return nil, board.Errorf(board.ENotFound, "webhooks are not available on this server")
	}
	return a.webhooks, nil
}

// webhookCall reads the {board} (and {webhook}, when withID) path ids and
// the store, or writes the problem.
func (a *API) webhookCall(w http.ResponseWriter, r *http.Request, withID bool) (WebhookStore, string, string, bool) {
	ws, err := a.webhooksOf()
	if err != nil {
		a.writeError(w, r, err)
		return nil, "", "", false
	}
	b, err := pathID(r, "board")
	if err != nil {
		a.writeError(w, r, err)
		return nil, "", "", false
	}
	if !withID {
		return ws, b, "", true
	}
	id, err := pathID(r, "webhook")
	if err != nil {
		a.writeError(w, r, err)
		return nil, "", "", false
	}
	return ws, b, id, true
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) {
	ws, b, _, ok := a.webhookCall(w, r, false)
	if !ok {
		return
	}
	list, err := ws.ListWebhooks(r.Context(), userFrom(r.Context()), b)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": list, "kinds": webhook.Kinds})
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) {
	ws, b, _, ok := a.webhookCall(w, r, false)
	if !ok {
		return
	}
	var in webhook.Input
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := webhook.CheckURL(in.URL); err != nil {
		a.writeError(w, r, err)
		return
	}
	kinds, err := webhook.CheckKinds(in.Kinds)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	in.Kinds = kinds
	hook, err := ws.CreateWebhook(r.Context(), userFrom(r.Context()), b, in, webhook.NewSecret())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/boards/"+b+"/webhooks/"+hook.ID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, hook)
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request) {
	ws, b, id, ok := a.webhookCall(w, r, true)
	if !ok {
		return
	}
	hook, err := ws.GetWebhook(r.Context(), userFrom(r.Context()), b, id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, hook)
}

func (a *API) updateWebhook(w http.ResponseWriter, r *http.Request) {
	ws, b, id, ok := a.webhookCall(w, r, true)
	if !ok {
		return
	}
	var p webhook.Patch
	if err := decodeJSON(r, &p); err != nil {
		a.writeError(w, r, err)
		return
	}
	if p.URL != nil {
		if err := webhook.CheckURL(*p.URL); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	if p.Kinds != nil {
		kinds, err := webhook.CheckKinds(*p.Kinds)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		p.Kinds = &kinds
	}
	hook, err := ws.UpdateWebhook(r.Context(), userFrom(r.Context()), b, id, p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if hook.Active {
		a.notifyWebhooks(b)
	}
	writeJSON(w, http.StatusOK, hook)
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	ws, b, id, ok := a.webhookCall(w, r, true)
	if !ok {
		return
	}
	if err := ws.DeleteWebhook(r.Context(), userFrom(r.Context()), b, id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	ws, b, id, ok := a.webhookCall(w, r, true)
	if !ok {
		return
	}
	hook, err := ws.RotateWebhookSecret(r.Context(), userFrom(r.Context()), b, id, webhook.NewSecret(), SecretOverlap)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, hook)
}

func (a *API) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	ws, b, id, ok := a.webhookCall(w, r, true)
	if !ok {
		return
	}
	before, err := queryInt(r, "before", 0, 0, 1<<62)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", 50, 1, webhook.MaxLogPageLimit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	list, err := ws.WebhookDeliveries(r.Context(), userFrom(r.Context()), b, id, before, int(limit))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
}

func (a *API) testWebhook(w http.ResponseWriter, r *http.Request) {
	ws, b, id, ok := a.webhookCall(w, r, true)
	if !ok {
		return
	}
	a.requestJob(w, r, ws, b, id, webhook.TriggerTest, 0)
}

func (a *API) redeliverWebhook(w http.ResponseWriter, r *http.Request) {
	ws, b, id, ok := a.webhookCall(w, r, true)
	if !ok {
		return
	}
	d, err := strconv.ParseInt(urlParam(r, "delivery"), 10, 64)
	if err != nil || d <= 0 {
		a.writeError(w, r, board.FieldError(board.ENotFound, "delivery", "no such delivery"))
		return
	}
	a.requestJob(w, r, ws, b, id, webhook.TriggerRedeliver, d)
}

// requestJob queues a test event or a redelivery and wakes the worker: 202,
// the delivery shows in the log when it is made.
func (a *API) requestJob(w http.ResponseWriter, r *http.Request, ws WebhookStore, b, id, trigger string, delivery int64) {
	job, err := ws.RequestWebhookJob(r.Context(), userFrom(r.Context()), b, id, trigger, delivery)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.notifyWebhooks(b)
	writeJSON(w, http.StatusAccepted, job)
}

func (a *API) notifyWebhooks(boardID string) {
	if a.notifier != nil {
		a.notifier.Notify(boardID)
	}
}
