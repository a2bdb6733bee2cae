package main

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// The widget read on SQLite answers a token reading the same widget again
// from what its connection remembers while nothing is committed; a
// change committed by another process is seen by the very next read:
// a logout, a changed widget, a disabled or deleted user. Every read
// before a change is repeated more often than a process has hot
// connections, so that each of them remembers it.
func TestWidgetReadSeesAnotherProcesssChangeOnTheNextRequest(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	env := baseEnv("APP_ENV=testing", "TOKEN_TTL=1h", "DATA_DIR="+dataDir)
	s := startProcesses(t, 2, env)
	writer, reader := s[0].URL+"/api/v1", s[1].URL+"/api/v1"
	addAdmin(t, t.TempDir(), env)
	admin := adminToken(t, s[0])
	if code, body, _ := call(t, "POST", writer+"/widgets", admin,
		url.Values{"name": {"shared"}, "info_url": {"https://example.com/1"}, "deadline": {"2099-12-31"}}); code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	if code, body, _ := call(t, "POST", writer+"/auth/register", "", creds("bob@example.com", "bob-password")); code != 201 {
		t.Fatalf("register: %d %v", code, body)
	}
	bobLogin := func() string { return login(t, s[0], "bob@example.com", "bob-password") }
	bob := bobLogin()
	_, me, _ := call(t, "GET", writer+"/auth/user", bob, nil)
	bobID, _ := me["public_id"].(string)

	// readOften reads the widget with token on the reader until every hot
	// connection has done so, and wants info_url each time.
	readOften := func(token, infoURL string) {
		t.Helper()
		for range 16 {
			if code, body, _ := call(t, "GET", reader+"/widgets/shared", token, nil); code != 200 || body["info_url"] != infoURL {
				t.Fatalf("read before the change: %d %v", code, body)
			}
		}
	}
	refused := func(what, token string, message string) {
		t.Helper()
		code, body, _ := call(t, "GET", reader+"/widgets/shared", token, nil)
		if code != 401 || body["message"] != message {
			t.Fatalf("%s, then read on the other process: %d %v; want 401 %q", what, code, body, message)
		}
	}

	readOften(bob, "https://example.com/1")
	if code, body, _ := call(t, "POST", writer+"/auth/logout", bob, nil); code != 200 {
		t.Fatalf("logout: %d %v", code, body)
	}
	refused("logged out", bob, "Token blacklisted. Please log in again.")

	bob = bobLogin()
	readOften(bob, "https://example.com/1")
	if code, body, _ := call(t, "PUT", writer+"/widgets/shared", admin,
		url.Values{"info_url": {"https://example.com/2"}, "deadline": {"2099-12-31"}}); code != 200 {
		t.Fatalf("put: %d %v", code, body)
	}
	if code, body, _ := call(t, "GET", reader+"/widgets/shared", bob, nil); code != 200 || body["info_url"] != "https://example.com/2" {
		t.Fatalf("widget put, then read on the other process: %d %v", code, body)
	}

	readOften(bob, "https://example.com/2")
	if code, body := callJSON(t, "PATCH", writer+"/users/"+bobID, admin, map[string]any{"disabled": true}); code != 200 {
		t.Fatalf("disable: %d %v", code, body)
	}
	refused("disabled", bob, msgDisabled)

	if code, body := callJSON(t, "PATCH", writer+"/users/"+bobID, admin, map[string]any{"disabled": false}); code != 200 {
		t.Fatalf("enable: %d %v", code, body)
	}
	bob = bobLogin()
	readOften(bob, "https://example.com/2")
	if code, body, _ := call(t, "DELETE", writer+"/users/"+bobID, admin, nil); code != 204 {
		t.Fatalf("delete: %d %v", code, body)
	}
	code, body, _ := call(t, "GET", reader+"/widgets/shared", bob, nil)
	if code != 401 {
		t.Fatalf("deleted, then read on the other process: %d %v; want 401", code, body)
	}
}
