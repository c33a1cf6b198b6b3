package config

import (
	"testing"

	"github.com/latchkey/latchkey/internal/oauth2/par"
)

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

func TestRegistrationLimitFlags(t *testing.T) {
	s, err := parse(t, nil)
	if err != nil || s.RegistrationPerSource != 20 || s.MaxAnonymousClients != 10000 || s.AnonymousClientTTL.Hours() != 720 {
		t.Fatalf("defaults: %+v, %v", s.Agents, err)
	}
	s, err = parse(t, map[string]string{"LATCHKEY_MAX_ANONYMOUS_CLIENTS": "5"}, "--registration-per-source", "0", "--anonymous-client-ttl", "0s")
	if err != nil || s.RegistrationPerSource != 0 || s.MaxAnonymousClients != 5 || s.AnonymousClientTTL != 0 {
		t.Errorf("flags: %+v, %v", s.Agents, err)
	}
	for _, args := range [][]string{{"--registration-per-source", "-1"}, {"--max-anonymous-clients", "-1"}, {"--anonymous-client-ttl", "-1h"}} {
		if _, err := parse(t, nil, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := parse(t, map[string]string{"LATCHKEY_REGISTRATION_PER_SOURCE": "many"}); err == nil {
		t.Error("LATCHKEY_REGISTRATION_PER_SOURCE=many accepted")
	}
}

func TestPARLimitFlags(t *testing.T) {
	s, err := parse(t, nil)
	if err != nil || s.PARPerClient != par.DefaultMaxPerClient || s.PARPerSource != par.DefaultMaxPerSource {
		t.Fatalf("defaults: %d %d, %v", s.PARPerClient, s.PARPerSource, err)
	}
	s, err = parse(t, map[string]string{"LATCHKEY_PAR_MAX_PER_SOURCE": "5"}, "--par-max-per-client", "50")
	if err != nil || s.PARPerClient != 50 || s.PARPerSource != 5 {
		t.Errorf("set: %d %d, %v", s.PARPerClient, s.PARPerSource, err)
	}
	for _, args := range [][]string{{"--par-max-per-client", "0"}, {"--par-max-per-source", "-1"}, {"--par-max-per-client", "many"}} {
		if _, err := parse(t, nil, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
