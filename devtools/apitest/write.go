package apitest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Write sends a mutation with an Idempotency-Key, retrying what did not get
// an answer from an instance (connection errors, 502/503 from a balancer,
// 429, 409 while the first attempt is in flight) for up to 20 s. A 2xx JSON
// answer is decoded into out (when not nil). It reports (with t.Errorf)
// any other answer and returns whether the write succeeded. Safe from any
// goroutine.
func (c *Client) Write(method, path, key string, body, out any) bool {
	c.T.Helper()
	data, _ := json.Marshal(body)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := c.Send(method, path, data, "Idempotency-Key", key)
		switch {
		case err == nil && r.Status/100 == 2:
			if out != nil {
				if err := json.Unmarshal(r.Body, out); err != nil {
					c.T.Errorf("%s %s: %v", method, path, err)
				}
			}
			return true
		case err != nil, r.Status == http.StatusBadGateway, r.Status == http.StatusServiceUnavailable,
			r.Status == http.StatusConflict && strings.Contains(string(r.Body), "idempotency_in_progress"),
			r.Status == http.StatusTooManyRequests:
			if time.Now().After(deadline) {
				c.T.Errorf("%s %s: still failing after 20s: %d %v %s", method, path, r.Status, err, r.Body)
				return false
			}
			time.Sleep(20 * time.Millisecond)
		default:
			c.T.Errorf("%s %s: %d %s", method, path, r.Status, r.Body)
			return false
		}
	}
}
