package jsonbody

import (
	"reflect"

	"github.com/go-json-experiment/json"
)

// Optional is a member that may be absent, null or a value: what an RFC
// 7396 merge patch needs, where null means "remove" and absent means
// "leave alone". Pointers cannot tell null from absent.
type Optional[T any] struct {
	Set   bool // the member was present
	Null  bool // it was present and null
	Value T
}

// UnmarshalJSON is called only for members that are present.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value, json.RejectUnknownMembers(true))
}

// expectation names the JSON type a member should have, for error messages.
type expectation interface{ expected() reflect.Type }

func (o *Optional[T]) expected() reflect.Type { return reflect.TypeFor[T]() }
