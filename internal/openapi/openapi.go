// Package openapi holds the OpenAPI 3.1 description of Corkboard's REST API
// (openapi.yaml beside this file) and serves it. Tests keep it honest: every
// route of httpapi is described, and the real responses of a scripted
// session validate against it (cmd/server).
package openapi

import (
	_ "embed"
	"net/http"
)

// Spec is the OpenAPI document, YAML.
//
//go:embed openapi.yaml
var Spec []byte

// ServeHTTP serves the document as application/yaml; it needs no identity.
func ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(Spec) //nolint:errcheck // the client may be gone
}
