package main

import (
	"net/http"
	"strings"
	"testing"
)

// The first start prints the admin user's password once; the user is in
// the admin API; a restart on the same database prints none.
func TestFirstStartCreatesAdminUser(t *testing.T) {
	ts := startServer(t, nil)
	if !strings.Contains(ts.stderr.String(), "created a user who can sign in") || !strings.Contains(ts.stderr.String(), "username: admin") {
		t.Fatalf("first start did not print the admin user:\n%s", ts.stderr)
	}
	r := ts.do(t, "GET", "/v1/admin/users/admin", nil, authz(ts.adminToken(t, "users:read")))
	mustStatus(t, r, http.StatusOK)
	if u, _ := r.Object(t)["user"].(map[string]any); u["username"] != "admin" || u["has_password"] != true || u["enabled"] != true || u["bot"] != false {
		t.Errorf("admin user %v", u)
	}
	db := ts.DBPath
	ts.stop()
	again := startServerOn(t, "sqlite:"+db, nil)
	if strings.Contains(again.stderr.String(), "password:") {
		t.Errorf("restart printed a password:\n%s", again.stderr)
	}
}
