package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"widgetapi/internal/testdb"
)

// waitFor polls cond until it holds, failing after limit. It awaits a state
// of another process, which offers nothing to block on.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func metricsContain(url, want string) bool {
	res, err := http.Get(url + "/metrics")
	if err != nil {
		return false
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return strings.Contains(string(b), want)
}

// slowLogin starts a login that takes about a second of bcrypt work and
// returns a channel with its status.
func slowLogin(s *server) chan int {
	done := make(chan int, 1)
	go func() { done <- postStatus(s.URL+"/api/v1/auth/login", "", creds("slow@example.com", "slow-password")) }()
	return done
}

func TestSigtermDrainsInFlightRequestsAndClosesTheDatabase(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, baseEnv("APP_ENV=testing", "BCRYPT_COST=14"))
	if code, body, _ := call(t, "POST", s.URL+"/api/v1/auth/register", "", creds("slow@example.com", "slow-password")); code != 201 {
		t.Fatalf("register: %d %v", code, body)
	}
	done := slowLogin(s)
	// The login and the metrics request itself are in flight.
	waitFor(t, 30*time.Second, "the login to be in flight", func() bool {
		return metricsContain(s.URL, "widgetapi_http_requests_in_flight 2")
	})
	if err := s.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != http.StatusOK {
		t.Fatalf("in-flight login during shutdown: %d", code)
	}
	if code := s.Stop(syscall.Signal(0)); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, s.Stderr.String())
	}
	// Closing the last connection checkpoints and removes the WAL file.
	if _, err := os.Stat(filepath.Join(dir, "data", "widgetapi-testing.db-wal")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WAL file still present after shutdown (database not closed): %v", err)
	}
	if !strings.Contains(s.Stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop logged:\n%s", s.Stderr.String())
	}
}

func TestShutdownTimeoutBoundsTheDrain(t *testing.T) {
	s := startServer(t, t.TempDir(), baseEnv("APP_ENV=testing", "BCRYPT_COST=14", "SHUTDOWN_TIMEOUT=50ms"))
	if code, _, _ := call(t, "POST", s.URL+"/api/v1/auth/register", "", creds("slow@example.com", "slow-password")); code != 201 {
		t.Fatal("register failed")
	}
	done := slowLogin(s)
	waitFor(t, 30*time.Second, "the login to be in flight", func() bool {
		return metricsContain(s.URL, "widgetapi_http_requests_in_flight 2")
	})
	if err := s.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.Stop(syscall.Signal(0)); code != 1 || !strings.Contains(s.Stderr.String(), "SHUTDOWN_TIMEOUT=50ms") {
		t.Fatalf("exit code %d; stderr:\n%s", code, s.Stderr.String())
	}
	<-done
}

func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv("APP_ENV=testing", "TOKEN_TTL=1h")
	addAdmin(t, dir, env)
	s := startServer(t, dir, env)
	admin := adminToken(t, s)
	const n = 25
	for i := range n {
		if code := postStatus(s.URL+"/api/v1/auth/register", "", creds("user"+string(rune('a'+i))+"@example.com", "password1")); code != 201 {
			t.Fatalf("register %d: %d", i, code)
		}
		if code := postStatus(s.URL+"/api/v1/widgets", admin, widgetForm("w-"+string(rune('a'+i)), "https://example.com", "2099-01-01")); code != 201 {
			t.Fatalf("create widget %d: %d", i, code)
		}
	}
	if code, _, _ := call(t, "POST", s.URL+"/api/v1/auth/logout", admin, nil); code != 200 {
		t.Fatal("logout failed")
	}
	if code := s.Stop(syscall.SIGKILL); code != -1 {
		t.Fatalf("SIGKILL exit code %d", code)
	}

	s2 := startServer(t, dir, env)
	for i := range n {
		if code := postStatus(s2.URL+"/api/v1/auth/login", "", creds("user"+string(rune('a'+i))+"@example.com", "password1")); code != 200 {
			t.Fatalf("user %d lost after kill -9: login %d", i, code)
		}
	}
	if code, _, _ := call(t, "GET", s2.URL+"/api/v1/auth/user", admin, nil); code != 401 {
		t.Fatalf("logout lost after kill -9: %d", code)
	}
	code, body, _ := call(t, "GET", s2.URL+"/api/v1/widgets?per_page=5", adminToken(t, s2), nil)
	if code != 200 || body["total_items"] != float64(n) {
		t.Fatalf("widgets after kill -9: %d %v", code, body["total_items"])
	}
}

// proxy is a TCP proxy the test can cut and restore, standing between the
// service and PostgreSQL.
type proxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close(); up.Close() }()
		}
	}()
}

// cut stops accepting and drops every open connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// restore accepts connections again on the same address.
func (p *proxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("restore proxy on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func TestPostgresOutageGives503AndRecovers(t *testing.T) {
	dbURL, err := url.Parse(testdb.FreshSchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, dbURL.Host)
	dbURL.Host = px.addr
	// The server trusts local connections; the password is there to prove
	// it never reaches the log.
	dbURL.User = url.UserPassword(dbURL.User.Username(), "db-password-never-logged")
	env := baseEnv("APP_ENV=testing", "TOKEN_TTL=1h", "DATABASE_URL="+dbURL.String(), "DB_TIMEOUT=2s",
		"SECRET_KEY=outage-test-key-0123456789abcdef0123")
	s := startServer(t, t.TempDir(), env)
	_, body, _ := call(t, "POST", s.URL+"/api/v1/auth/register", "", creds("o@example.com", "password1"))
	token := body["access_token"].(string)

	px.cut()
	client := &http.Client{Timeout: 15 * time.Second}
	get := func(path string) (int, string) {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s during outage: %v (the service must answer, not hang)", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for range 3 {
		code, body := get("/api/v1/auth/user")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, `"message"`) || strings.Contains(body, "pgx") || strings.Contains(body, "dial") {
			t.Fatalf("request during outage: %d %s\n%s", code, body, s.Stderr.String())
		}
	}
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz during outage: %d", code)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("healthz during outage: %d (the process must keep running)", code)
	}

	px.restore()
	waitFor(t, 30*time.Second, "recovery after the database returned", func() bool {
		code, _ := get("/api/v1/auth/user")
		return code == http.StatusOK
	})
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("readyz after recovery: %d", code)
	}
	for _, secret := range []string{"db-password-never-logged", "outage-test-key-0123456789abcdef0123", token} {
		if strings.Contains(s.Stderr.String(), secret) {
			t.Errorf("the log holds a secret: %.24s…", secret)
		}
	}
}

func TestSlowAndOversizedHeadersAreCutOff(t *testing.T) {
	s := startServer(t, t.TempDir(), baseEnv("APP_ENV=testing"))
	addr := strings.TrimPrefix(s.URL, "http://")

	// Headers over the 64 KiB limit: a JSON 431; past the HTTP server's
	// own read limit (256 KiB), its plain 431.
	for _, size := range []int{100 << 10, 300 << 10} {
		req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
		req.Header.Set("X-Padding", strings.Repeat("p", size))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("%d KiB of headers: %d", size>>10, res.StatusCode)
		}
		if json := strings.HasPrefix(res.Header.Get("Content-Type"), "application/json"); json != (size < 256<<10) {
			t.Fatalf("%d KiB of headers: Content-Type %q, body %.100q", size>>10, res.Header.Get("Content-Type"), body)
		}
	}

	// A client that starts a request and never finishes its headers is
	// disconnected after the read-header timeout (5 s), not held forever.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server held a slow client's connection for %v", time.Since(start))
	}
	t.Logf("slow client disconnected after %v", time.Since(start).Round(time.Millisecond))
}

// Processes started together on one empty SQLite DATA_DIR all come up, with
// one schema and one signing key between them: migrations and the creation
// of the database take a lock, and the generated key is never read
// half-written. Once, about one start in eight failed ("table users already
// exists", "database is locked", a "short" secret_key). The files are the
// owner's alone even in a DATA_DIR made beforehand with mode 0755.
func TestProcessesStartingTogetherShareOneEmptyDataDir(t *testing.T) {
	for round := range 12 {
		dataDir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dataDir, 0o755); err != nil {
			t.Fatal(err)
		}
		env := baseEnv("APP_ENV=testing", "TOKEN_TTL=1h", "DATA_DIR="+dataDir)
		s := startProcesses(t, 3, env)
		// An account made through one works on the others: one database,
		// one key.
		email := fmt.Sprintf("round%d@example.com", round)
		_, body, _ := call(t, "POST", s[0].URL+"/api/v1/auth/register", "", creds(email, "password1"))
		token, _ := body["access_token"].(string)
		for i := range s {
			if code, body, _ := call(t, "GET", s[i].URL+"/api/v1/auth/user", token, nil); code != 200 || body["email"] != email {
				t.Fatalf("round %d, server %d: %d %v", round, i, code, body)
			}
		}
		for _, p := range s {
			if code := p.Stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("round %d: exit %d\n%s", round, code, p.Stderr.String())
			}
		}
		entries, err := os.ReadDir(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("round %d: %s has mode %o", round, e.Name(), fi.Mode().Perm())
			}
		}
	}
}
