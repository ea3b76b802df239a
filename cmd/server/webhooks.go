package main

import (
	"log/slog"

	"github.com/corkboard/corkboard/internal/store"
	"github.com/corkboard/corkboard/internal/webhook"
)

// newWebhookWorker is this instance's webhook worker, as configured.
func newWebhookWorker(cfg Config, st *store.Store, log *slog.Logger) *webhook.Worker {
	return webhook.New(webhook.Options{
		Store:        st,
		Guard:        &webhook.Guard{AllowPrivateNetworks: cfg.WebhookAllowPrivateNetworks},
		Logger:       log.With("component", "webhooks"),
		PollInterval: cfg.WebhookPollInterval,
		Timeout:      cfg.WebhookTimeout,
		RetryFor:     cfg.WebhookRetryFor,
		LogRetention: cfg.WebhookLogRetention,
		Concurrency:  cfg.WebhookConcurrency,
	})
}
