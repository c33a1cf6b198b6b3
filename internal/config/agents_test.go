package config

import "testing"

func TestRequirePushedRequests(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want bool
		bad  bool
	}{
		{nil, nil, false, false},
		{nil, []string{"--require-pushed-requests"}, true, false},
		{map[string]string{"LATCHKEY_REQUIRE_PUSHED_REQUESTS": "true"}, nil, true, false},
		{map[string]string{"LATCHKEY_REQUIRE_PUSHED_REQUESTS": "true"}, []string{"--require-pushed-requests=false"}, false, false},
		{map[string]string{"LATCHKEY_REQUIRE_PUSHED_REQUESTS": "sometimes"}, nil, false, true},
	} {
		s, err := parse(t, tc.env, tc.args...)
		if (err != nil) != tc.bad || err == nil && s.RequirePushedRequests != tc.want {
			t.Errorf("env %v args %v: %v, %v", tc.env, tc.args, s.RequirePushedRequests, err)
		}
	}
}
