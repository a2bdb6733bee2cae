package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"widgetapi/internal/testbin"
	"widgetapi/internal/testdb"
)

// binary is the widgetapi binary built once for the process tests.
var binary string

func TestMain(m *testing.M) { testbin.Main(m, &binary, testdb.Main) }

// baseEnv is a minimal environment, so the developer's own variables do not
// leak into the process under test.
func baseEnv(vars ...string) []string { return testbin.Env(vars...) }

// runCmd runs the binary to completion in dir.
func runCmd(t *testing.T, dir, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, code, err := execCmd(dir, stdin, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return stdout, stderr, code
}

// execCmd runs the binary to completion in dir; err is set only when it
// could not be run. Unlike runCmd it is safe to use from goroutines.
func execCmd(dir, stdin string, env []string, args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode(), nil
	}
	return out.String(), errb.String(), 0, err
}

// server is a running `widgetapi serve` process; pending, one launched
// that has not yet said where it listens.
type (
	server  = testbin.Server
	pending = testbin.Pending
)

// startServer starts `widgetapi serve` on a free port and waits until it
// prints where it listens.
func startServer(t testing.TB, dir string, env []string) *server {
	t.Helper()
	return testbin.Start(t, binary, dir, env)
}

// launchServer starts `widgetapi serve` on a free port without waiting.
func launchServer(t testing.TB, dir string, env []string) *pending {
	t.Helper()
	return testbin.Launch(t, binary, dir, env)
}

// postStatus sends a form and returns the status, or -1 when the request
// fails; unlike call it is safe to use from goroutines.
func postStatus(url, token string, form url.Values) int { return sendStatus("POST", url, token, form) }

// send sends a form (nil for none), with token when it is set, and returns
// the response with its body read.
func send(method, url, token string, form url.Values) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// sendStatus sends a form (nil for none) and returns the status, -1 when the
// request could not be made.
func sendStatus(method, url, token string, form url.Values) int {
	res, _, err := send(method, url, token, form)
	if err != nil {
		return -1
	}
	return res.StatusCode
}

// call sends a request to a server and decodes the JSON body.
func call(t *testing.T, method, url, token string, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	res, b, err := send(method, url, token, form)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, url, b)
		}
	}
	return res.StatusCode, m, res.Header
}

func creds(email, password string) url.Values {
	return url.Values{"email": {email}, "password": {password}}
}

// widgetForm is the form that creates a widget.
func widgetForm(name, infoURL, deadline string) url.Values {
	return url.Values{"name": {name}, "info_url": {infoURL}, "deadline": {deadline}}
}

func TestServeAuthSessionAndGracefulStop(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, baseEnv())
	api := s.URL + "/api/v1"

	code, body, hdr := call(t, "POST", api+"/auth/register", "", creds("alice@example.com", "secret-pw1"))
	if code != 201 || body["message"] != "successfully registered" || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("register: %d %v %v", code, body, hdr)
	}
	if body["expires_in"] != float64(900) {
		t.Fatalf("development tokens last 15 minutes; expires_in = %v", body["expires_in"])
	}
	code, body, _ = call(t, "POST", api+"/auth/login", "", creds("Alice@Example.com", "secret-pw1"))
	if code != 200 {
		t.Fatalf("login: %d %v", code, body)
	}
	token := body["access_token"].(string)
	if code, body, _ = call(t, "GET", api+"/auth/user", token, nil); code != 200 || body["email"] != "alice@example.com" {
		t.Fatalf("user: %d %v", code, body)
	}
	if code, body, _ = call(t, "POST", api+"/auth/logout", token, nil); code != 200 {
		t.Fatalf("logout: %d %v", code, body)
	}
	if code, body, _ = call(t, "GET", api+"/auth/user", token, nil); code != 401 || body["message"] != "Token blacklisted. Please log in again." {
		t.Fatalf("after logout: %d %v", code, body)
	}
	s.Terminate()
	// The embedded database and the generated key live in ./data.
	for _, f := range []string{"data/widgetapi-development.db", "data/secret_key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	// A restart keeps the key: the account logs in again and old tokens still verify.
	s2 := startServer(t, dir, baseEnv())
	if code, body, _ = call(t, "POST", s2.URL+"/api/v1/auth/login", "", creds("alice@example.com", "secret-pw1")); code != 200 {
		t.Fatalf("login after restart: %d %v", code, body)
	}
	if code, _, _ = call(t, "GET", s2.URL+"/api/v1/auth/user", token, nil); code != 401 {
		t.Fatalf("revoked token after restart: %d", code)
	}
	if code := s2.Stop(os.Interrupt); code != 0 {
		t.Fatalf("exit code after SIGINT = %d", code)
	}
}

func TestUserAdd(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv()
	out, errOut, code := runCmd(t, dir, "pw-of-8+\n", env, "user", "add", "admin@example.com", "--admin", "--password-stdin")
	if code != 0 || !strings.Contains(out, "created admin admin@example.com") {
		t.Fatalf("user add: code %d, out %q, err %q", code, out, errOut)
	}
	_, errOut, code = runCmd(t, dir, "pw-of-8+\n", env, "user", "add", "ADMIN@example.com", "--password-stdin")
	if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "ADMIN@example.com is already registered") {
		t.Fatalf("duplicate: code %d, stderr %q", code, errOut)
	}
	_, errOut, code = runCmd(t, dir, "pw-of-8+\n", env, "user", "add", "first last", "--password-stdin")
	if code == 0 || !strings.Contains(errOut, "first last is not a valid email") {
		t.Fatalf("invalid email: code %d, stderr %q", code, errOut)
	}
	// Look-alikes of the admin's address are refused as emails, not taken
	// for the admin (409) nor created beside it.
	for _, lookalike := range []string{"\uff41dmin@example.com", "\u0430dmin@example.com", "admin@example.com\u00a0", " admin@example.com"} {
		_, errOut, code = runCmd(t, dir, "pw-of-8+\n", env, "user", "add", lookalike, "--password-stdin")
		if code == 0 || !strings.Contains(errOut, "user add: email: ") || strings.Contains(errOut, "already registered") {
			t.Fatalf("look-alike %q: code %d, stderr %q", lookalike, code, errOut)
		}
	}
	_, errOut, code = runCmd(t, dir, "short\n", env, "user", "add", "--password-stdin", "bob@example.com")
	if code == 0 || !strings.Contains(errOut, "password") {
		t.Fatalf("short password: code %d, stderr %q", code, errOut)
	}
	_, errOut, code = runCmd(t, dir, "", env, "user", "add", "carol@example.com")
	if code == 0 || !strings.Contains(errOut, "--password-stdin") {
		t.Fatalf("no terminal: code %d, stderr %q", code, errOut)
	}

	// The admin made by the command logs in over HTTP and is an admin.
	s := startServer(t, dir, env)
	code, body, _ := call(t, "POST", s.URL+"/api/v1/auth/login", "", creds("admin@example.com", "pw-of-8+"))
	if code != 200 {
		t.Fatalf("admin login: %d %v", code, body)
	}
	code, body, _ = call(t, "GET", s.URL+"/api/v1/auth/user", body["access_token"].(string), nil)
	if code != 200 || body["admin"] != true {
		t.Fatalf("admin user: %d %v", code, body)
	}
}

func TestMigrateUpDownStatus(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv("DATABASE_URL=sqlite:///db/x.db")
	files := migrationFiles(t, "sqlite")
	n, newest := len(files), filepath.Base(files[len(files)-1])
	out, errOut, code := runCmd(t, dir, "", env, "migrate", "status")
	if code != 0 || strings.Count(out, "pending") != n {
		t.Fatalf("status before: %d %q %q", code, out, errOut)
	}
	if out, _, code = runCmd(t, dir, "", env, "migrate", "up"); code != 0 || strings.Count(out, "applied") != n {
		t.Fatalf("up: %d %q", code, out)
	}
	if out, _, code = runCmd(t, dir, "", env, "migrate", "up"); code != 0 || !strings.Contains(out, "no pending migrations") {
		t.Fatalf("up again: %d %q", code, out)
	}
	if out, _, code = runCmd(t, dir, "", env, "migrate", "down"); code != 0 || !strings.Contains(out, newest) {
		t.Fatalf("down: %d %q, want %s undone", code, out, newest)
	}
	out, _, _ = runCmd(t, dir, "", env, "migrate", "status")
	if strings.Count(out, "applied") != n-1 || strings.Count(out, "pending") != 1 {
		t.Fatalf("status after down: %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "db", "x.db")); err != nil {
		t.Fatalf("DATABASE_URL was not honoured: %v", err)
	}
	if _, _, code = runCmd(t, dir, "", env, "migrate", "sideways"); code != 2 {
		t.Fatalf("unknown action exit code = %d, want 2", code)
	}
}

func TestInvalidConfigurationStopsWithOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"unknown env", []string{"APP_ENV=staging"}, "APP_ENV"},
		{"production without key", []string{"APP_ENV=production"}, "SECRET_KEY: required in production"},
		{"short key", []string{"APP_ENV=production", "SECRET_KEY=too-short"}, "SECRET_KEY"},
		{"bad ttl", []string{"TOKEN_TTL=soon"}, "TOKEN_TTL"},
		{"bad cost", []string{"BCRYPT_COST=99"}, "BCRYPT_COST"},
		{"bad url", []string{"DATABASE_URL=mysql://x"}, "DATABASE_URL"},
		{"bad tz", []string{"TZ=Mars/Olympus"}, "TZ"},
		{"bad log level", []string{"LOG_LEVEL=loud"}, "LOG_LEVEL"},
		{"bad proxies", []string{"TRUSTED_PROXIES=not-a-cidr"}, "TRUSTED_PROXIES"},
		{"pprof on every interface", []string{"PPROF_ADDR=0.0.0.0:6060"}, "PPROF_ADDR"},
		{"pprof without a host", []string{"PPROF_ADDR=:6060"}, "PPROF_ADDR"},
		{"pprof without a port", []string{"PPROF_ADDR=127.0.0.1"}, "PPROF_ADDR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, errOut, code := runCmd(t, dir, "", append(baseEnv(), tc.env...), "serve", "--addr", "127.0.0.1:0")
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("code %d, stderr %q; want one line naming %s", code, errOut, tc.want)
			}
		})
	}
}

// PPROF_ADDR serves profiles on its own listener, and only there.
func TestPprofOnItsOwnAddress(t *testing.T) {
	p := launchServer(t, t.TempDir(), append(baseEnv(), "PPROF_ADDR=127.0.0.1:0"))
	var api, profiles string
	timeout := time.After(60 * time.Second)
	for profiles == "" {
		select {
		case line, ok := <-p.Lines:
			if !ok {
				t.Fatalf("serve exited; stderr:\n%s", p.Server.Stderr.String())
			}
			if _, after, found := strings.Cut(line, " listening on "); found {
				api = strings.TrimSpace(after)
			}
			if _, after, found := strings.Cut(line, "profiles:"); found {
				profiles = strings.TrimSpace(after)
			}
		case <-timeout:
			t.Fatalf("serve did not report its addresses; stderr:\n%s", p.Server.Stderr.String())
		}
	}
	go func() {
		for range p.Lines {
		}
	}()
	if api == "" || !strings.HasSuffix(profiles, "/debug/pprof/") || strings.HasPrefix(profiles, api) {
		t.Fatalf("api %q, profiles %q: want two addresses", api, profiles)
	}
	res, err := http.Get(profiles + "heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("profiles: %d %.200s", res.StatusCode, body)
	}
	if code, _, _ := call(t, "GET", api+"/debug/pprof/heap", "", nil); code != http.StatusNotFound {
		t.Fatalf("the API's address serves profiles: %d", code)
	}
	p.Server.Terminate()
}

func TestProductionKeyFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, baseEnv("APP_ENV=production", "SECRET_KEY="+strings.Repeat("k", 32), "BCRYPT_COST=4"))
	code, body, _ := call(t, "POST", s.URL+"/api/v1/auth/register", "", creds("p@example.com", "password1"))
	if code != 201 || body["expires_in"] != float64(3600) {
		t.Fatalf("production register: %d %v", code, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "secret_key")); err == nil {
		t.Fatal("production must not generate a key file")
	}
}

func TestDotEnvIsReadAndEnvironmentWins(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("APP_ENV=testing\nTOKEN_TTL=42s\nDATA_DIR=from-dotenv\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, dir, baseEnv("TOKEN_TTL=77s"))
	code, body, _ := call(t, "POST", s.URL+"/api/v1/auth/register", "", creds("d@example.com", "password1"))
	if code != 201 || body["expires_in"] != float64(77) {
		t.Fatalf("register: %d %v (want the environment's TOKEN_TTL=77s to win over .env)", code, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-dotenv", "widgetapi-testing.db")); err != nil {
		t.Fatalf(".env's APP_ENV and DATA_DIR were not used: %v", err)
	}
}

func TestHelpAndVersion(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"serve", "--help"}, {"migrate", "--help"}, {"user", "add", "--help"}, {"--help"}} {
		out, errOut, code := runCmd(t, dir, "", baseEnv(), args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: code %d out %q err %q", args, code, out, errOut)
		}
		if args[0] != "--help" && !strings.Contains(out, "DATABASE_URL") {
			t.Errorf("%v: help does not list the environment: %q", args, out)
		}
	}
	out, _, code := runCmd(t, dir, "", baseEnv(), "version")
	if code != 0 || !strings.HasPrefix(out, "widgetapi ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %d %q", code, out)
	}
	if _, _, code := runCmd(t, dir, "", baseEnv(), "frobnicate"); code != 2 {
		t.Fatalf("unknown command exit code = %d, want 2", code)
	}
}

// A PostgreSQL password, however it is written in DATABASE_URL, appears
// nowhere in what serve prints: not in the starting line, not in the error
// when the server cannot be reached.
func TestServeNeverPrintsTheDatabasePassword(t *testing.T) {
	for _, u := range []string{
		"postgres://alice:pw-s3cr3t@127.0.0.1:1/app?sslmode=disable",
		"postgres://127.0.0.1:1/app?sslmode=disable&password=pw-s3cr3t",
		"postgresql://127.0.0.1:1/app?user=alice&password=pw-s3cr3t&sslmode=disable",
	} {
		stdout, stderr, code := runCmd(t, t.TempDir(), "", baseEnv("DATABASE_URL="+u, "DB_TIMEOUT=1s", "LOG_FORMAT=json"),
			"serve", "--addr", "127.0.0.1:0")
		if code == 0 {
			t.Fatalf("serve on an unreachable database exited 0")
		}
		if !strings.Contains(stderr, `"msg":"starting"`) || !strings.Contains(stderr, "127.0.0.1:1/app") {
			t.Fatalf("no starting line naming the database:\n%s", stderr)
		}
		if strings.Contains(stdout+stderr, "s3cr3t") {
			t.Fatalf("DATABASE_URL=%s: the password was printed:\n%s%s", u, stdout, stderr)
		}
	}
	// An unescaped '@' in the password would make its tail the host, and
	// pgx would print that host in every connection error: refused at start.
	_, stderr, code := runCmd(t, t.TempDir(), "", baseEnv("DATABASE_URL=postgres://alice:pw@s3cr3t@127.0.0.1:1/app"), "serve")
	if code == 0 || strings.Contains(stderr, "s3cr3t") || !strings.Contains(stderr, "DATABASE_URL: ") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("unescaped @: code %d, stderr %q", code, stderr)
	}
}

// migrationFiles lists the SQL migrations of an engine, as the binary
// embeds them.
func migrationFiles(t *testing.T, engine string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", engine, "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations for %s: %v", engine, err)
	}
	return files
}

// user passwd sets a password with registration's rules and ends every
// session of the user, as a serving process sees at once.
func TestUserPasswd(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv("APP_ENV=testing", "TOKEN_TTL=1h")
	if _, errOut, code := runCmd(t, dir, "first-password\n", env, "user", "add", "alice@example.com", "--password-stdin"); code != 0 {
		t.Fatal(errOut)
	}
	s := startServer(t, dir, env)
	var tokens []string
	for range 2 {
		_, body, _ := call(t, "POST", s.URL+"/api/v1/auth/login", "", creds("alice@example.com", "first-password"))
		tokens = append(tokens, body["access_token"].(string))
	}
	out, errOut, code := runCmd(t, dir, "second-password\n", env, "user", "passwd", "ALICE@example.com", "--password-stdin")
	if code != 0 || !strings.Contains(out, "password set for alice@example.com") {
		t.Fatalf("passwd: %d %q %q", code, out, errOut)
	}
	for i, tok := range tokens {
		if code, body, _ := call(t, "GET", s.URL+"/api/v1/auth/user", tok, nil); code != 401 || body["message"] != "Token blacklisted. Please log in again." {
			t.Fatalf("session %d after passwd: %d %v", i, code, body)
		}
	}
	if code := postStatus(s.URL+"/api/v1/auth/login", "", creds("alice@example.com", "first-password")); code != 401 {
		t.Fatalf("the old password: %d", code)
	}
	if code := postStatus(s.URL+"/api/v1/auth/login", "", creds("alice@example.com", "second-password")); code != 200 {
		t.Fatalf("the new password: %d", code)
	}
	for _, tc := range []struct{ stdin, email, want string }{
		{"third-password\n", "nobody@example.com", "nobody@example.com not found"},
		{"short\n", "alice@example.com", "password: password must be at least 8 characters"},
		{"", "alice@example.com", "no password on standard input"},
	} {
		_, errOut, code := runCmd(t, dir, tc.stdin, env, "user", "passwd", tc.email, "--password-stdin")
		wantOneLine(t, "passwd "+tc.email, errOut, code, tc.want)
	}
	if out, _, code := runCmd(t, dir, "", env, "user", "passwd", "--help"); code != 0 || !strings.Contains(out, "ends every session") || !strings.Contains(out, "--password-stdin") {
		t.Fatalf("passwd --help: %d %q", code, out)
	}
}
