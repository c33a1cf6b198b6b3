// Package openapi serves Latchkey's OpenAPI 3.1 document, which describes
// every route in internal/server/routes.go exactly as the handlers behave.
// The tests in this package drive real traffic through an assembled server
// and validate every request/response pair against the document, so the two
// cannot drift apart unnoticed.
package openapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

//go:embed openapi.json
var document []byte

// Document returns the OpenAPI document (JSON). The caller must not modify
// the returned slice.
func Document() []byte { return document }

// Handler serves the document at GET /openapi.json.
func Handler(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(document)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(document)
}
