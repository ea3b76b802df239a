package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// runJob does a job: a test event, or the redelivery of a logged event.
func (w *Worker) runJob(ctx context.Context, st *State, j Job) (*Delivery, error) {
	if j.Trigger == TriggerTest {
		data, _ := json.Marshal(map[string]string{"webhook": st.ID})
		ev := board.Event{BoardID: st.BoardID, Seq: 0, Kind: KindTest, Data: data, Actor: j.Actor, At: time.Now().UTC()}
		return w.sendAs(ctx, &st.Webhook, ev, "msg_test_"+j.ID, TriggerTest, 1)
	}
	events, err := w.store.LogEvents(ctx, st.BoardID, j.Seq-1, 1)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 || events[0].Seq != j.Seq {
		return &Delivery{Seq: j.Seq, Trigger: TriggerRedeliver, Attempt: 1, MessageID: MessageID(st.ID, st.BoardID, j.Seq),
			Error: fmt.Sprintf("event %d is no longer kept", j.Seq), At: time.Now()}, nil
	}
	return w.send(ctx, &st.Webhook, events[0], TriggerRedeliver, 1)
}

func (w *Worker) send(ctx context.Context, wh *Webhook, ev board.Event, trigger string, attempt int) (*Delivery, error) {
	return w.sendAs(ctx, wh, ev, MessageID(wh.ID, wh.BoardID, ev.Seq), trigger, attempt)
}

// sendAs makes one delivery request. It returns an error only when ctx
// ended (the attempt does not count); the receiver's failures are in the
// Delivery.
func (w *Worker) sendAs(ctx context.Context, wh *Webhook, ev board.Event, msgID, trigger string, attempt int) (*Delivery, error) {
	d := &Delivery{WebhookID: wh.ID, MessageID: msgID, Seq: ev.Seq, Kind: ev.Kind, Trigger: trigger, Attempt: attempt}
	body, err := Body(ev)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	d.At = start
	secrets := []string{wh.Secret}
	if wh.PreviousSecret != "" && start.Before(wh.PreviousUntil) {
		secrets = append(secrets, wh.PreviousSecret)
	}
	sig, err := Sign(msgID, start, body, secrets...)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		d.Error = "bad url: " + err.Error()
		return d, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Corkboard-Webhooks/1")
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(start.Unix()))
	req.Header.Set(HeaderSignature, sig)
	resp, err := w.client.Do(req)
	d.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if rctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", w.o.Timeout)
		}
		d.Error = truncate(err.Error(), 500)
		return d, nil
	}
	drain(resp.Body)
	d.StatusCode = resp.StatusCode
	d.OK = resp.StatusCode/100 == 2
	if !d.OK {
		d.Error = "answered " + resp.Status
	}
	return d, nil
}

func (d *Delivery) summary() string {
	if d.Error != "" {
		return d.Error
	}
	return fmt.Sprintf("answered %d", d.StatusCode)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
