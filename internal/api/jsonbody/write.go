package jsonbody

import (
	"encoding/json"
	"net/http"
)

// Write sends v as a JSON response of contentType (application/json when
// empty) with Cache-Control: no-store: every API response here may carry
// a secret or reflect state that must not be served from a cache.
func Write(w http.ResponseWriter, status int, contentType string, v any) {
	if contentType == "" {
		contentType = "application/json"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
