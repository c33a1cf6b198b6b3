package oauth2

import (
	"maps"
	"net/url"
	"slices"
	"testing"
)

func TestGrantedScopesDedupAndNoAliasing(t *testing.T) {
	allowed := []string{"a", "b", "c"}
	req := make([]string, 2, 8)
	copy(req, []string{"b", "a"})
	got, err := GrantedScopes(allowed, req, true)
	if err != nil || !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	// Appending to the result must not write into the request's array.
	_ = append(got, "x")
	if req[:3][2] == "x" {
		t.Error("the result's spare capacity aliases the request")
	}
	got, err = GrantedScopes(allowed, []string{"a", "b", "a", "b"}, true)
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("duplicates: got %v, %v", got, err)
	}
	if got, _ := GrantedScopes(allowed, nil, false); !slices.Equal(got, allowed) || &got[0] == &allowed[0] {
		t.Errorf("default: got %v (must be a copy of allowed)", got)
	}
	if _, err := GrantedScopes(allowed, []string{"a", "z"}, true); err == nil {
		t.Error("a scope outside allowed was granted")
	}
}

func TestOmitEmpty(t *testing.T) {
	full := url.Values{"a": {"1"}, "b": {"2"}}
	if got := OmitEmpty(full); !maps.EqualFunc(got, full, slices.Equal) {
		t.Errorf("OmitEmpty(%v) = %v", full, got)
	}
	mixed := url.Values{"a": {"1"}, "b": {""}, "c": {"", "3"}, "d": {}}
	got := OmitEmpty(mixed)
	if want := (url.Values{"a": {"1"}, "c": {"3"}}); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("OmitEmpty = %v, want %v", got, want)
	}
	if len(mixed) != 4 || len(mixed["c"]) != 2 {
		t.Errorf("OmitEmpty changed its argument: %v", mixed)
	}
}
