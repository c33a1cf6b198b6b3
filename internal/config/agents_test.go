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

func TestCIMDFlags(t *testing.T) {
	s, err := parse(t, nil)
	if err != nil || !s.CIMD || s.CIMDAllowLoopback || s.MetadataDocuments() == nil || s.MetadataDocuments().AllowLoopback {
		t.Fatalf("defaults: %+v, %v", s.Agents, err)
	}
	s, err = parse(t, map[string]string{"LATCHKEY_CIMD_BLOCK_HOSTS": "evil.example, *.bad.example,"},
		"--cimd-allow-loopback", "--cimd-allow-hosts", "*.example.com,app.example.org")
	cfg := s.MetadataDocuments()
	if err != nil || !cfg.AllowLoopback || len(cfg.AllowHosts) != 2 || cfg.AllowHosts[1] != "app.example.org" ||
		len(cfg.BlockHosts) != 2 || cfg.BlockHosts[1] != "*.bad.example" {
		t.Errorf("flags: %+v, %v", cfg, err)
	}
	if s, err = parse(t, map[string]string{"LATCHKEY_CIMD": "false"}); err != nil || s.MetadataDocuments() != nil {
		t.Errorf("LATCHKEY_CIMD=false: %+v, %v", s.Agents, err)
	}
	if _, err = parse(t, map[string]string{"LATCHKEY_CIMD": "maybe"}); err == nil {
		t.Error("LATCHKEY_CIMD=maybe accepted")
	}
}
