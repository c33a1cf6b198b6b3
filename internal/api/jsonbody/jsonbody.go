// Package jsonbody decodes JSON request bodies strictly, for every API
// dialect: a size limit, an exact Content-Type, exact (case-sensitive)
// member names, no duplicate or unknown members, and errors that name the
// offending field. Plain encoding/json matches names case-insensitively and
// lets the last duplicate win, which invites mass assignment.
package jsonbody

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxBytes is the largest request body accepted.
const MaxBytes = 64 << 10

// Error codes, usable as-is by dialects that carry a code.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeTooLarge             = "payload_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
)

// Error is a rejected body: the HTTP status, a machine code, the field at
// fault ("" when the body as a whole is at fault) and a readable message.
type Error struct {
	Status  int
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Options tune Decode.
type Options struct {
	// ContentTypes accepted; empty means application/json only.
	ContentTypes []string
	// ServerSet names members the server sets; supplying one is an error
	// that says so, rather than a generic "unknown field".
	ServerSet []string
	// IgnoreUnknown skips unknown members instead of rejecting them, for
	// protocols that require it (RFC 7591 §2). Duplicate members and wrong
	// types are still errors.
	IgnoreUnknown bool
}

// Decode reads r's body into dst, a pointer to a struct. It returns nil or
// an *Error.
func Decode(w http.ResponseWriter, r *http.Request, dst any, opts Options) *Error {
	accepted := opts.ContentTypes
	if len(accepted) == 0 {
		accepted = []string{"application/json"}
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !slices.Contains(accepted, strings.ToLower(mt)) {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
			Message: fmt.Sprintf("Content-Type must be %s", strings.Join(accepted, " or "))}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("request body must be at most %d bytes", MaxBytes)}
	}
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "could not read request body"}
	}
	return Unmarshal(body, dst, opts)
}

// Unmarshal is Decode without the HTTP framing; fuzz tests call it.
func Unmarshal(body []byte, dst any, opts Options) *Error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return invalid("", "request body is empty; expected a JSON object")
	}
	if k := jsontext.Value(body).Kind(); k != '{' {
		if !jsontext.Value(body).IsValid() {
			return invalid("", "request body is not valid JSON")
		}
		return invalid("", "request body must be a JSON object")
	}
	err := json.Unmarshal(body, dst, json.RejectUnknownMembers(!opts.IgnoreUnknown))
	if err == nil {
		return nil
	}
	return describe(err, opts)
}

func invalid(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Field: field, Message: msg}
}

func describe(err error, opts Options) *Error {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		field := fieldName(syn.JSONPointer)
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return invalid(field, fmt.Sprintf("field %q appears more than once", readablePath(syn.JSONPointer)))
		}
		return invalid(field, "request body is not valid JSON")
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		field := fieldName(sem.JSONPointer)
		if errors.Is(sem.Err, json.ErrUnknownName) {
			if slices.Contains(opts.ServerSet, field) {
				return invalid(field, fmt.Sprintf("field %q is set by the server and cannot be supplied", field))
			}
			return invalid(field, fmt.Sprintf("unknown field %q (names are case-sensitive)", field))
		}
		if field == "" {
			return invalid("", "request body must be a JSON object")
		}
		return invalid(field, fmt.Sprintf("field %q must be %s", readablePath(sem.JSONPointer), describeType(sem.GoType)))
	}
	return invalid("", "request body is not valid JSON")
}

// fieldName turns a JSON pointer like /redirect_uris/0 into "redirect_uris".
func fieldName(p jsontext.Pointer) string {
	for tok := range p.Tokens() {
		return tok
	}
	return ""
}

// readablePath turns /redirect_uris/0 into redirect_uris[0] and
// /metadata/k into metadata.k.
func readablePath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		switch {
		case b.Len() == 0:
			b.WriteString(tok)
		case isIndex(tok):
			b.WriteString("[" + tok + "]")
		default:
			b.WriteString("." + tok)
		}
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func describeType(t reflect.Type) string {
	if t == nil {
		return "of the documented type"
	}
	if e, ok := reflect.New(t).Interface().(expectation); ok {
		return describeType(e.expected())
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(describeType(t.Elem()), "a ") + "s"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of the documented type"
}
