package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/corkboard/corkboard/internal/board"
)

type bodyKey struct{}

// readBody reads the whole request body of unsafe methods once, enforcing the
// size limit, the media type and UTF-8, so that handlers and the idempotency
// layer see the same bytes.
func readBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions || isUpload(r) {
			next.ServeHTTP(w, r)
			return
		}
		limit := bodyLimit(r)
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeProblem(w, r, board.Errorf(board.ETooLarge, "the request body is over the limit of %d bytes", limit))
			return
		case err != nil:
			writeProblem(w, r, board.Errorf(board.EMalformed, "could not read the request body"))
			return
		case len(body) > 0 && !jsonMediaType(r.Header.Get("Content-Type")):
			writeProblem(w, r, &board.Error{Code: EUnsupportedMedia, Message: "send the body as application/json"})
			return
		case !utf8.Valid(body):
			writeProblem(w, r, board.Errorf(board.EMalformed, "the request body is not valid UTF-8"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyKey{}, body)))
	})
}

// bodyLimit is the size limit of r's body: board.MaxBodyBytes, or
// board.MaxImportBytes for an import (POST /api/boards/import; the API is
// mounted at /api).
func bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && r.URL.Path == "/api/boards/import" {
		return board.MaxImportBytes
	}
	return board.MaxBodyBytes
}

func jsonMediaType(ct string) bool {
	if ct == "" || ct == "application/json" {
		return true // without the map mime.ParseMediaType makes
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func bodyFrom(r *http.Request) []byte {
	b, _ := r.Context().Value(bodyKey{}).([]byte)
	return b
}

// writeProblem writes a problem for an error that needs no logging (the
// client's), from code that has no *API at hand.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(r, err)
	body, _ := board.MarshalJSON(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	w.Write(body) //nolint:errcheck // the client may be gone
}

// decodeJSON decodes the request body, one JSON object, into v, rejecting
// unknown fields and trailing data. Errors are EMalformed for syntax and
// EInvalid (naming the field) for a field of the wrong type or unknown.
func decodeJSON(r *http.Request, v any) error {
	body := bodyFrom(r)
	if len(bytes.TrimSpace(body)) == 0 {
		return board.Errorf(board.EMalformed, "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return board.Errorf(board.EMalformed, "the body must hold exactly one JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return board.Errorf(board.EMalformed, "the body is not valid JSON: %v", err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return board.Errorf(board.EInvalid, "the body must be a JSON %s", "object")
		}
		return board.FieldError(board.EInvalid, field, "must be a JSON %s", jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return board.FieldError(board.EInvalid, field, "is not a known field")
	}
	return board.Errorf(board.EMalformed, "the body is not valid JSON: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return "number"
}

// decodeValid decodes the request body into v (as decodeJSON) and checks it.
func decodeValid(r *http.Request, v interface{ Validate() error }) error {
	if err := decodeJSON(r, v); err != nil {
		return err
	}
	return v.Validate()
}

// patchFields decodes a PATCH body, a JSON object whose keys must all be in
// allowed, into its raw members. A member present with null is kept as
// "null" so that callers can tell "clear" from "absent".
func patchFields(r *http.Request, allowed ...string) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, board.Errorf(board.EInvalid, "the body must be a JSON object")
	}
	for k := range raw {
		if !contains(allowed, k) {
			return nil, board.FieldError(board.EInvalid, k, "is not a known field")
		}
	}
	return raw, nil
}

// patchValue decodes member name of a PATCH body into a new T: nil when the
// member is absent. null is EInvalid for a field that cannot be cleared.
func patchValue[T any](raw map[string]json.RawMessage, name string) (*T, error) {
	m, ok := raw[name]
	if !ok {
		return nil, nil
	}
	if string(m) == "null" {
		return nil, board.FieldError(board.EInvalid, name, "must not be null")
	}
	v := new(T)
	if err := json.Unmarshal(m, v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, board.FieldError(board.EInvalid, name, "must be a JSON %s", jsonKind(typ.Type.Kind().String()))
		}
		return nil, board.FieldError(board.EInvalid, name, "cannot be read: %v", err)
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ifMatch reads the If-Match header: 0 when absent (no precondition), or the
// version its entity tag names. "*" asks only that the entity exists, which
// every route checks anyway.
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	tag := strings.TrimPrefix(h, "W/")
	if uq, err := strconv.Unquote(tag); err == nil {
		tag = uq
	}
	v, err := strconv.ParseInt(tag, 10, 64)
	if err != nil || v < 1 {
		return 0, board.FieldError(board.EMalformed, "If-Match", "must be one entity tag as sent in ETag, like \"3\"")
	}
	return v, nil
}

func etag(version int64) string { return strconv.Quote(strconv.FormatInt(version, 10)) }

// versionOf returns the version of a representation that has one.
func versionOf(v any) (int64, bool) {
	switch x := v.(type) {
	case board.Board:
		return x.Version, true
	case board.Column:
		return x.Version, true
	case board.Card:
		return x.Version, true
	case board.Snapshot:
		return x.Board.Version, true
	case board.Comment:
		return x.Version, true
	case board.Checklist:
		return x.Version, true
	case board.ChecklistItem:
		return x.Version, true
	case board.Label:
		return x.Version, true
	}
	return 0, false
}

// pathID reads the id in URL parameter name. A malformed id names nothing
// that exists, so it is ENotFound like any other unknown id.
func pathID(r *http.Request, name string) (string, error) {
	id := urlParam(r, name)
	if !board.ValidID(id) {
		return "", board.FieldError(board.ENotFound, name, "no such %s", name)
	}
	return id, nil
}

// boardAnd reads the {board} path id and that of a child ("card",
// "column"). Whether the child is on that board is checked in SQL.
func boardAnd(r *http.Request, child string) (string, string, error) {
	b, err := pathID(r, "board")
	if err != nil {
		return "", "", err
	}
	c, err := pathID(r, child)
	return b, c, err
}

// queryInt reads an optional integer query parameter within [min, max].
func queryInt(r *http.Request, name string, def, min, max int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < min || v > max {
		return 0, board.FieldError(board.EInvalid, name, "must be an integer from %d to %d", min, max)
	}
	return v, nil
}
