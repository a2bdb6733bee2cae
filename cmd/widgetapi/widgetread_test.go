package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// serve's request lines are slog's lines in either format, JSON written
// by the API itself: every field of the line, under its key, with the
// request's values; LOG_LEVEL=warn drops them.
func TestServeLogsEachRequestInItsFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want func(t *testing.T, stderr string)
	}{
		{"json", []string{"LOG_FORMAT=json"}, func(t *testing.T, stderr string) {
			for line := range strings.Lines(stderr) {
				var l map[string]any
				if err := json.Unmarshal([]byte(line), &l); err != nil {
					t.Fatalf("not a JSON line: %q", line)
				}
				if l["request_id"] != "line-check" {
					continue
				}
				d, _ := l["duration"].(float64)
				remote, _ := l["remote"].(string)
				if l["level"] != "INFO" || l["msg"] != "request" || l["method"] != "GET" || l["route"] != "GET /healthz" ||
					l["path"] != "/healthz" || l["status"] != float64(200) || l["bytes"] == float64(0) || d <= 0 ||
					!strings.HasPrefix(remote, "127.0.0.1:") || len(l) != 11 {
					t.Fatalf("request line %v", l)
				}
				return
			}
			t.Fatalf("no request line in:\n%s", stderr)
		}},
		{"text", []string{"LOG_FORMAT=text"}, func(t *testing.T, stderr string) {
			for line := range strings.Lines(stderr) {
				if strings.Contains(line, "request_id=line-check") {
					if !strings.Contains(line, "level=INFO msg=request method=GET route=\"GET /healthz\" path=/healthz status=200 ") {
						t.Fatalf("request line %q", line)
					}
					return
				}
			}
			t.Fatalf("no request line in:\n%s", stderr)
		}},
		{"json at warn", []string{"LOG_FORMAT=json", "LOG_LEVEL=warn"}, func(t *testing.T, stderr string) {
			if strings.Contains(stderr, "line-check") {
				t.Fatalf("a request line at LOG_LEVEL=warn:\n%s", stderr)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, t.TempDir(), baseEnv(append([]string{"APP_ENV=testing"}, tc.env...)...))
			req, err := http.NewRequest("GET", s.URL+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Request-ID", "line-check")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			// Stopping writes the lines still held.
			if code := s.Stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("exit %d", code)
			}
			tc.want(t, s.Stderr.String())
		})
	}
}
