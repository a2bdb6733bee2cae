package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"widgetapi/internal/config"
	"widgetapi/internal/testlog"
)

// These tests call run in the test's own process: it reads only the
// environment, streams and arguments it is given.

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// runIn calls run with the given environment and returns what it printed.
func runIn(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, envMap(env), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func TestRunVersion(t *testing.T) {
	out, errOut, err := runIn(t, nil, "version")
	if err != nil || errOut != "" || !strings.HasPrefix(out, "widgetapi ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %v, stdout %q, stderr %q", err, out, errOut)
	}
}

// Every command's --help ends with the variables that command reads, and
// only those, as the table of settings documents them.
func TestRunHelpOfEachCommandListsItsEnvironment(t *testing.T) {
	db := []string{"APP_ENV", "DATA_DIR", "DATABASE_URL", "DB_MAX_CONNS", "DB_TIMEOUT"}
	for _, tc := range []struct {
		args []string
		vars []string
	}{
		{[]string{"serve", "--help"}, config.Names()},
		{[]string{"migrate", "--help"}, db},
		{[]string{"user", "add", "--help"}, append(slices.Clone(db), "BCRYPT_COST", "LOG_LEVEL", "LOG_FORMAT")},
		{[]string{"user", "passwd", "--help"}, append(slices.Clone(db), "BCRYPT_COST", "LOG_LEVEL", "LOG_FORMAT")},
		{[]string{"user", "list", "--help"}, db},
		{[]string{"user", "show", "--help"}, db},
		{[]string{"user", "set", "--help"}, append(slices.Clone(db), "LOG_LEVEL", "LOG_FORMAT")},
		{[]string{"user", "delete", "--help"}, append(slices.Clone(db), "LOG_LEVEL", "LOG_FORMAT")},
		{[]string{"widget", "import", "--help"}, append(slices.Clone(db), "TZ")},
		{[]string{"widget", "export", "--help"}, append(slices.Clone(db), "TZ")},
		{[]string{"keys", "list", "--help"}, append(slices.Clone(db), "SECRET_KEY", "TOKEN_ALG", "TOKEN_TTL", "TOKEN_LEEWAY", "KEY_PUBLISH_AHEAD")},
		{[]string{"keys", "rotate", "--help"}, append(slices.Clone(db), "SECRET_KEY", "TOKEN_ALG", "TOKEN_TTL", "TOKEN_LEEWAY", "KEY_PUBLISH_AHEAD")},
		{[]string{"backup", "--help"}, []string{"APP_ENV", "DATA_DIR", "DATABASE_URL"}},
		{[]string{"mail", "test", "--help"}, []string{"APP_ENV", "DATA_DIR", "SMTP_URL", "MAIL_FROM", "PUBLIC_URL", "ADDR"}},
		{[]string{"healthcheck", "--help"}, []string{"ADDR"}},
	} {
		out, errOut, err := runIn(t, nil, tc.args...)
		if err != nil || errOut != "" || !strings.HasPrefix(out, "Usage") || !strings.HasSuffix(out, "\n"+config.Help(tc.vars...)) {
			t.Errorf("%v: %v, stderr %q, stdout:\n%s", tc.args, err, errOut, out)
		}
		_, env, _ := strings.Cut(out, "\nEnvironment")
		for _, name := range config.Names() {
			listed := strings.Contains(env, "\n  "+name+" ") || strings.Contains(env, "\n  "+name+"\n")
			if listed != slices.Contains(tc.vars, name) {
				t.Errorf("%v: lists %s: %t, want %t", tc.args, name, listed, !listed)
			}
		}
	}
	out, _, err := runIn(t, nil, "serve", "--help")
	for _, flag := range []string{"-addr", "-env", "-data-dir", "-database-url", "-log-level", "-log-format"} {
		if err != nil || !strings.Contains(out, "  "+flag+" string") {
			t.Errorf("serve --help does not list %s:\n%s", flag, out)
		}
	}
}

// A command reads only the variables its --help lists: an invalid one it
// does not read cannot stop it.
func TestRunCommandsReadOnlyTheirVariables(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "sqlite:///" + filepath.ToSlash(filepath.Join(t.TempDir(), "x.db")),
		"TOKEN_TTL": "soon", "CORS_ORIGINS": "*", "BCRYPT_COST": "99"}
	if out, errOut, err := runIn(t, env, "migrate", "up"); err != nil || !strings.Contains(out, "applied") {
		t.Fatalf("migrate up with an invalid TOKEN_TTL and BCRYPT_COST: %v, %q, %q", err, out, errOut)
	}
	if _, _, err := runIn(t, env, "user", "list"); err != nil {
		t.Fatalf("user list with an invalid BCRYPT_COST: %v", err)
	}
	err := run(context.Background(), []string{"user", "passwd", "a@example.com", "--password-stdin"}, envMap(env),
		strings.NewReader("password1\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "BCRYPT_COST") {
		t.Fatalf("user passwd reads BCRYPT_COST: %v", err)
	}
}

// --help lists every command of the binary, those of each group one by
// one, each with its one-line summary.
func TestRunHelpListsEveryCommand(t *testing.T) {
	out, errOut, err := runIn(t, nil, "--help")
	if err != nil || errOut != "" {
		t.Fatalf("--help: %v, %q", err, errOut)
	}
	lines := strings.Split(out, "\n")
	listed := func(call, summary string) bool {
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), call) {
				return strings.HasSuffix(l, summary) || i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == summary
			}
		}
		return false
	}
	n := 0
	for _, c := range commands() {
		subs, ok := groups()[c.name]
		if !ok {
			subs = []entry{{name: "", args: c.args, summary: c.summary}}
		}
		for _, sub := range subs {
			call := strings.TrimSpace("widgetapi " + c.name + " " + sub.name)
			if sub.summary == "" || !listed(call, sub.summary) {
				t.Errorf("--help does not list %q with its summary %q:\n%s", call, sub.summary, out)
			}
			n++
		}
	}
	for _, want := range []string{"widgetapi user passwd", "widgetapi user list", "widgetapi user show", "widgetapi user set",
		"widgetapi user delete", "widgetapi widget export", "widgetapi migrate up|down|status", "widgetapi version"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not list %s", want)
		}
	}
	if n < 13 {
		t.Errorf("--help lists %d commands", n)
	}
	for _, l := range lines {
		if len(l) > 80 {
			t.Errorf("--help has a line over 80 columns: %q", l)
		}
	}
}

// A bad flag or argument is one line naming it and pointing to the
// command's --help, never the usage and its table of variables.
func TestRunUsageErrorsAreOneLine(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		want, help string
	}{
		{[]string{"serve", "--bogus"}, "flag provided but not defined: -bogus", "serve"},
		{[]string{"serve", "--addr"}, "flag needs an argument: -addr", "serve"},
		{[]string{"migrate", "--bogus"}, "flag provided but not defined: -bogus", "migrate"},
		{[]string{"migrate"}, "give one of up, down, status", "migrate"},
		{[]string{"migrate", "sideways"}, `unknown action "sideways"`, "migrate"},
		{[]string{"user", "add", "--bogus"}, "flag provided but not defined: -bogus", "user add"},
		{[]string{"user", "list", "--per-page"}, "flag needs an argument: -per-page", "user list"},
		{[]string{"widget", "export", "--bogus"}, "flag provided but not defined: -bogus", "widget export"},
		{[]string{"backup", "--bogus", "x.db"}, "flag provided but not defined: -bogus", "backup"},
		{[]string{"backup"}, "give one PATH", "backup"},
		{[]string{"healthcheck", "--timeout", "soon"}, `invalid value "soon" for flag -timeout`, "healthcheck"},
		{[]string{"healthcheck", "extra"}, `unexpected argument "extra"`, "healthcheck"},
	} {
		out, errOut, err := runIn(t, nil, tc.args...)
		line := strings.TrimSuffix(errOut, "\n")
		if !errors.Is(err, errUsage) || out != "" || strings.Contains(line, "\n") ||
			line != "widgetapi "+tc.help+": "+line[len("widgetapi "+tc.help+": "):] || !strings.Contains(line, tc.want) ||
			!strings.HasSuffix(line, " (see 'widgetapi "+tc.help+" --help')") {
			t.Errorf("%v: %v, stdout %q, stderr %q; want one line with %q", tc.args, err, out, errOut, tc.want)
		}
	}
}

// A command a group does not have is named as unknown, with the commands
// the group has.
func TestRunUnknownSubcommand(t *testing.T) {
	for group, subs := range groups() {
		_, errOut, err := runIn(t, nil, group, "bogus")
		var names []string
		for _, c := range subs {
			names = append(names, c.name)
		}
		want := fmt.Sprintf("widgetapi %s: unknown command \"bogus\"; the commands are %s (see 'widgetapi %s --help')\n",
			group, strings.Join(names, ", "), group)
		if !errors.Is(err, errUsage) || errOut != want {
			t.Errorf("%s bogus: %v, stderr %q, want %q", group, err, errOut, want)
		}
	}
	if _, errOut, err := runIn(t, nil, "user"); !errors.Is(err, errUsage) || !strings.Contains(errOut, "widgetapi user passwd") {
		t.Errorf("user: %v, %q", err, errOut)
	}
}

func TestRunUnknownCommand(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {}} {
		out, errOut, err := runIn(t, nil, args...)
		if !errors.Is(err, errUsage) || exitCode(err) != 2 || out != "" || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%v: %v, stdout %q, stderr %q", args, err, out, errOut)
		}
	}
	if _, errOut, _ := runIn(t, nil, "frobnicate"); !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("stderr %q does not name the command", errOut)
	}
}

func TestRunMigrateStatus(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	env := map[string]string{"DATABASE_URL": "sqlite:///" + filepath.ToSlash(db)}
	n := len(migrationFiles(t, "sqlite"))
	out, errOut, err := runIn(t, env, "migrate", "status")
	if err != nil || strings.Count(out, "pending") != n || !strings.HasPrefix(out, "VERSION") {
		t.Fatalf("status: %v, stdout %q, stderr %q", err, out, errOut)
	}
	if out, _, err = runIn(t, env, "migrate", "up"); err != nil || strings.Count(out, "applied") != n {
		t.Fatalf("up: %v, %q", err, out)
	}
	if out, _, err = runIn(t, env, "migrate", "status"); err != nil || strings.Count(out, "applied") != n || strings.Contains(out, "pending") {
		t.Fatalf("status after up: %v, %q", err, out)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("DATABASE_URL was not honoured: %v", err)
	}
}

// run reads no .env of its own: main layers it under the environment.
func TestRunReadsNoDotEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("APP_ENV=staging\nTOKEN_TTL=42s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	env := map[string]string{"DATABASE_URL": "sqlite:///x.db", "TOKEN_TTL": "77s"}
	if out, errOut, err := runIn(t, env, "migrate", "status"); err != nil {
		t.Fatalf("run read .env: %v, stdout %q, stderr %q", err, out, errOut)
	}
	getenv := withDotEnv(envMap(env), ".env")
	if getenv("APP_ENV") != "staging" || getenv("TOKEN_TTL") != "77s" || getenv("DATABASE_URL") != "sqlite:///x.db" {
		t.Fatalf("withDotEnv: APP_ENV %q, TOKEN_TTL %q", getenv("APP_ENV"), getenv("TOKEN_TTL"))
	}
}

// lineWatch is a writer that sends the first line holding want on found.
type lineWatch struct {
	want  string
	found chan string
	mu    sync.Mutex
	buf   []byte
	sent  bool
}

func newLineWatch(want string) *lineWatch {
	return &lineWatch{want: want, found: make(chan string, 1)}
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if strings.Contains(line, w.want) {
			w.found <- line
			w.sent, w.buf = true, nil
			return len(p), nil
		}
	}
}

// serveInProcess runs serve with env, in this process, on a free port
// until ctx ends, and waits until it listens: it returns the base URL,
// what run returns, and its log.
func serveInProcess(t *testing.T, ctx context.Context, env func(string) string) (base string, done <-chan error, stderr *testlog.Buffer) {
	t.Helper()
	stdout, stderr := newLineWatch(" listening on "), &testlog.Buffer{}
	ran := make(chan error, 1)
	go func() {
		ran <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, env, strings.NewReader(""), stdout, stderr)
	}()
	select {
	case line := <-stdout.found:
		_, base, _ = strings.Cut(line, " listening on ")
	case err := <-ran:
		t.Fatalf("serve returned before listening: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not report its address; stderr:\n%s", stderr.String())
	}
	return base, ran, stderr
}

// serve runs until its context ends, then drains and returns nil.
func TestRunServeStopsWhenItsContextEnds(t *testing.T) {
	dir := t.TempDir()
	env := envMap(map[string]string{"APP_ENV": "testing", "DATA_DIR": dir, "LOG_FORMAT": "json"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done, stderr := serveInProcess(t, ctx, env)

	// The configuration reaches the service: testing tokens last 5 s.
	code, body, _ := call(t, "POST", base+"/api/v1/auth/register", "", url.Values{"email": {"r@example.com"}, "password": {"password1"}})
	if code != http.StatusCreated || body["expires_in"] != float64(5) {
		t.Fatalf("register: %d %v", code, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after its context ended; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not stop after its context ended; stderr:\n%s", stderr.String())
	}
	key, err := os.ReadFile(filepath.Join(dir, "secret_key"))
	if err != nil {
		t.Fatal(err)
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"msg":"starting"`) || !strings.Contains(logs, `"secret_key":"`+filepath.Join(dir, "secret_key")+`"`) ||
		!strings.Contains(logs, `"msg":"stopped"`) || strings.Contains(logs, string(key)) {
		t.Fatalf("log:\n%s", logs)
	}
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, serve exports the spans it still
// holds when it stops, after the HTTP server has shut down.
func TestRunServeExportsItsSpansWhenItStops(t *testing.T) {
	// The batch would otherwise leave by itself after 5 s; now only the
	// flush at shutdown can send it.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "3600000")
	var mu sync.Mutex
	var names []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil || r.URL.Path != "/v1/traces" {
			t.Errorf("export to %s: %v", r.URL.Path, err)
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()

	env := envMap(map[string]string{"APP_ENV": "testing", "DATA_DIR": t.TempDir(), "LOG_FORMAT": "json",
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done, stderr := serveInProcess(t, ctx, env)
	if code, body, _ := call(t, "GET", base+"/healthz", "", nil); code != http.StatusOK {
		t.Fatalf("healthz: %d %v", code, body)
	}
	mu.Lock()
	early := len(names)
	mu.Unlock()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if early != 0 || !slices.Contains(names, "GET /healthz") {
		t.Fatalf("spans before the stop: %d; after: %v\n%s", early, names, stderr.String())
	}
}
