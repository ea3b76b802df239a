package openapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/openapi"
)

// load parses and validates the document as OpenAPI 3.1.
func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Spec)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi: %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	return doc
}

func TestSpecIsValid(t *testing.T) {
	doc := load(t)
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			} else if prev, ok := ids[op.OperationID]; ok {
				t.Errorf("operationId %s used by %s and %s %s", op.OperationID, prev, method, path)
			}
			ids[op.OperationID] = method + " " + path
			if op.Responses == nil || op.Responses.Len() == 0 {
				t.Errorf("%s %s describes no response", method, path)
			}
		}
	}
}

// servedOutsideAPI are the routes cmd/server serves itself, beside httpapi's
// tree: they are described too.
var servedOutsideAPI = []string{"GET /healthz", "GET /readyz", "GET /api/openapi.yaml", "GET /api/ws"}

// TestEveryRouteDescribed walks httpapi's routes (mounted at /api) and
// checks that each path template and method is in the document, and that
// the document describes no route that does not exist.
func TestEveryRouteDescribed(t *testing.T) {
	doc := load(t)
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}
	routes := map[string]bool{}
	api := httpapi.New(httpapi.Options{})
	err := chi.Walk(api.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = "/api" + strings.TrimSuffix(route, "/")
		routes[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) < 20 {
		t.Fatalf("walked only %d routes: %v", len(routes), routes)
	}
	for _, r := range servedOutsideAPI {
		routes[r] = true
	}
	for r := range routes {
		if !described[r] {
			t.Errorf("route %s is not described in internal/openapi/openapi.yaml", r)
		}
	}
	for d := range described {
		if !routes[d] {
			t.Errorf("openapi.yaml describes %s, which no handler serves", d)
		}
	}
	// The security requirement: everything under /api but signup, login,
	// the session probe, the document and the WebSocket's own check needs a caller.
	public := []string{"POST /api/auth/signup", "POST /api/auth/login", "GET /api/auth/session", "GET /api/openapi.yaml", "GET /healthz", "GET /readyz"}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			open := op.Security != nil && len(*op.Security) == 0
			if open != slices.Contains(public, key) {
				t.Errorf("%s: open to anonymous callers = %v in the document", key, open)
			}
		}
	}
}
