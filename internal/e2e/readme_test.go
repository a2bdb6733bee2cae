package e2e

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"widgetapi/internal/testbin"
	"widgetapi/internal/testdb"
)

// readmeBlocks returns the ```sh blocks of README.md's section under
// heading, in order.
func readmeBlocks(t *testing.T, heading string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var block strings.Builder
	in, inBlock := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## "+heading
		case in && line == "```sh":
			inBlock = true
			block.Reset()
		case inBlock && line == "```":
			inBlock = false
			blocks = append(blocks, block.String())
		case inBlock:
			block.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatalf("README.md has no sh block under %q", heading)
	}
	return blocks
}

// goShim puts on PATH a go command that runs the real one in the
// repository, with a relative -o taken from where it was called, so that a
// README line such as `go build -o widgetapi ./cmd/widgetapi` runs as
// written from a scratch directory and leaves nothing in the repository.
func goShim(t *testing.T) (path string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	shim := `#!/bin/sh
set -e
n=$#; i=0; prev=
while [ $i -lt $n ]; do
  a=$1; shift; i=$((i+1))
  if [ "$prev" = -o ] && [ "${a#/}" = "$a" ]; then a="$PWD/$a"; fi
  set -- "$@" "$a"; prev=$a
done
cd ` + strconv.Quote(repo) + `
exec ` + strconv.Quote(goBin) + ` "$@"
`
	if err := os.WriteFile(filepath.Join(dir, "go"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH")
}

// The build README.md documents makes a static binary: no interpreter, no
// dynamic section. The Containerfile and deploy/build-image build it the
// same way.
func TestREADMEBuildIsStatic(t *testing.T) {
	var builds []string
	for _, b := range readmeBlocks(t, "Create an administrator") {
		for _, line := range strings.Split(b, "\n") {
			if strings.Contains(line, "go build") {
				builds = append(builds, line)
			}
		}
	}
	if len(builds) != 1 || !strings.HasPrefix(builds[0], "CGO_ENABLED=0 go build ") {
		t.Fatalf("README.md's builds: %q; want one, with CGO_ENABLED=0", builds)
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", builds[0])
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+goShim(t), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", builds[0], err, out)
	}
	assertStatic(t, filepath.Join(dir, "widgetapi"))

	for _, file := range []string{"Containerfile", filepath.Join("deploy", "build-image")} {
		b, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		n := strings.Count(string(b), "go build")
		if n == 0 || strings.Count(string(b), "CGO_ENABLED=0 go build") != n {
			t.Errorf("%s: not every go build has CGO_ENABLED=0", file)
		}
	}
}

// assertStatic fails unless the ELF binary at path is statically linked.
func assertStatic(t testing.TB, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %s program header: it is dynamically linked", path, p.Type)
		}
	}
	if f.Section(".interp") != nil || f.Section(".dynamic") != nil {
		t.Errorf("%s has an .interp or .dynamic section: it is dynamically linked", path)
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs %v", path, libs)
	}
}

// A static-binary check that cannot fail would prove nothing: a build with
// cgo, where a C compiler is here, is refused.
func TestAssertStaticRefusesADynamicBinary(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler: go build cannot make a dynamic binary here")
	}
	bin := filepath.Join(t.TempDir(), "dynamic")
	build := exec.Command("go", "build", "-o", bin, "widgetapi/cmd/widgetapi")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rec := &recordingT{T: t}
	assertStatic(rec.tb(), bin)
	if rec.failed == 0 {
		t.Fatal("a binary built with cgo passed as static")
	}
}

// curlCall is one curl of the README's session, as the wrapper logged it.
type curlCall struct {
	status      int
	method, url string
	body        string
	number      int
}

// readmeCall is what one curl of the session must answer: its method, a
// part of its URL, its status and a part of its body.
type readmeCall struct {
	method, url string
	status      int
	body        string
}

// README.md's administrator set-up and curl sessions run as written
// against a fresh serve, and every curl gets the answer the README says.
func TestREADMESessionRunsAsWritten(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var env []string
			if engine == "postgres" {
				env = append(env, "DATABASE_URL="+testdb.FreshSchemaURL(t))
			}
			runREADMESession(t, testbin.Env(env...))
		})
	}
}

func runREADMESession(t *testing.T, env []string) {
	dir := t.TempDir()
	path := goShim(t)
	runBlocks := func(name string, blocks []string, withServer string) (calls []curlCall, stdout string) {
		t.Helper()
		logDir := t.TempDir()
		// Every curl is logged: its status, method and URL to a file,
		// its output (what the README's reader sees) to another.
		script := `set -eo pipefail
curl() {
  local n=$(( $(cat "$LOG/n" 2>/dev/null || echo 0) + 1 ))
  echo $n > "$LOG/n"
  command curl -w "%{stderr}@@ $n %{http_code} %{method} %{url_effective}\n" "$@" 2>>"$LOG/calls" | tee "$LOG/$n.out"
}
`
		for _, b := range blocks {
			if withServer != "" {
				if n := strings.Count(b, "http://127.0.0.1:5000"); n > 1 {
					t.Fatalf("%s: %d addresses of the server, want at most one", name, n)
				}
				b = strings.ReplaceAll(b, "http://127.0.0.1:5000", withServer)
			}
			script += b
		}
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(slices.Clone(env), "PATH="+path, "LOG="+logDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		log, _ := os.ReadFile(filepath.Join(logDir, "calls"))
		re := regexp.MustCompile(`(?m)^@@ (\d+) (\d{3}) (\S+) (\S+)$`)
		for _, m := range re.FindAllStringSubmatch(string(log), -1) {
			n, _ := strconv.Atoi(m[1])
			status, _ := strconv.Atoi(m[2])
			body, _ := os.ReadFile(filepath.Join(logDir, m[1]+".out"))
			calls = append(calls, curlCall{status: status, method: m[3], url: m[4], body: string(body), number: n})
		}
		return calls, string(out)
	}

	if _, out := runBlocks("Create an administrator", readmeBlocks(t, "Create an administrator"), ""); !strings.Contains(out, "created admin admin@example.com") {
		t.Fatalf("the administrator was not created:\n%s", out)
	}
	s := startServer(t, dir, env)
	session := readmeBlocks(t, "A session with curl")
	accounts := readmeBlocks(t, "Administering accounts")
	if len(session) != 1 || len(accounts) != 2 {
		t.Fatalf("README.md: %d blocks in the curl session, %d in administering accounts; want 1 and 2", len(session), len(accounts))
	}
	// The accounts section continues the session: its curls need the
	// session's variables.
	calls, out := runBlocks("the curl session", []string{session[0], accounts[0]}, s.URL)
	want := []readmeCall{
		{"POST", "/auth/register", 201, `"message":"successfully registered"`},
		{"POST", "/auth/login", 200, `"access_token"`},
		{"GET", "/auth/user", 200, `"email":"alice@example.com"`},
		{"POST", "/auth/login", 200, `"access_token"`},
		{"POST", "/widgets", 201, "/api/v1/widgets/my-widget\r\n"},
		{"POST", "/widgets", 201, "New widget added: my-widget-1."},
		{"POST", "/widgets", 201, "New widget added: my-widget-2."},
		{"POST", "/widgets", 201, "New widget added: my-widget-3."},
		{"POST", "/widgets", 201, "New widget added: my-widget-4."},
		{"POST", "/widgets", 201, "New widget added: my-widget-5."},
		{"GET", "/widgets?page=1&per_page=10", 200, `"total_items":6`},
		{"GET", "/widgets/my-widget", 200, `"name":"my-widget"`},
		{"GET", "/widgets?name_prefix=my-", 200, `"next_cursor":"`},
		{"GET", "/widgets?cursor=", 200, `"items":[{"name":"my-widget-1"`},
		{"POST", "/widgets", 403, `"message"`},
		{"PUT", "/widgets/my-widget", 200, `"status":"success"`},
		{"GET", "/widgets/my-widget", 200, "Etag: \""},
		{"GET", "/widgets/my-widget", 304, "HTTP/1.1 304"},
		{"PATCH", "/widgets/my-widget", 200, "'my-widget' was successfully updated"},
		{"PATCH", "/widgets/my-widget", 412, "my-widget has changed since it was read."},
		{"DELETE", "/widgets/my-widget", 204, "HTTP/1.1 204"},
		{"POST", "/auth/login", 200, `"access_token"`},
		{"GET", "/auth/sessions", 200, `"user_agent":"phone/1.0"`},
		{"POST", "/auth/password", 200, `"access_token"`},
		{"GET", "/auth/user", 401, `"message":"Token blacklisted. Please log in again."`},
		{"POST", "/auth/logout?scope=global", 200, `"status":"success"`},
		{"GET", "/auth/user", 401, `{"message": "Token blacklisted. Please log in again."}`},
		// Administering accounts.
		{"GET", "/users?email=alice&admin=false", 200, `"email":"alice@example.com"`},
		{"GET", "/users?email=alice@example.com", 200, `"public_id":"`},
		{"PATCH", "/users/", 200, `"admin":true`},
		{"PATCH", "/users/", 200, `"disabled":true`},
		// The audit log of alice by public id has her logins too.
		{"GET", "/audit?target=", 200, `"action":"auth.login"`},
		{"GET", "/audit?action=auth.login_failed&per_page=25", 200, `"items":[]`},
		{"GET", "/auth/user", 200, `"email":"admin@example.com"`},
		{"DELETE", "/users/", 204, "HTTP/1.1 204"},
	}
	checkCalls(t, "the session", calls, want, out)
	// alice's events by public id: her logins (by email) and the
	// administrator's changes to her (by id).
	audit := calls[31].body
	for _, action := range []string{"auth.register", "auth.login", "auth.password_changed", "auth.logout", "user.updated"} {
		if !strings.Contains(audit, `"action":"`+action+`"`) {
			t.Errorf("audit?target=PID has no %s:\n%s", action, audit)
		}
	}

	// The second factor, continuing the session (its API and token()).
	mfa := readmeBlocks(t, "A second factor")
	if len(mfa) != 1 {
		t.Fatalf("README.md: %d blocks in the second factor, want 1", len(mfa))
	}
	var prelude strings.Builder
	for _, line := range strings.Split(session[0], "\n") {
		if strings.HasPrefix(line, "API=") || strings.HasPrefix(line, "token()") {
			prelude.WriteString(line + "\n")
		}
	}
	calls, out = runBlocks("the second factor", []string{prelude.String(), mfa[0]}, s.URL)
	wantMFA := []readmeCall{
		{"POST", "/auth/register", 201, `"access_token"`},
		{"POST", "/auth/mfa/totp", 200, `"otpauth_url":"otpauth://totp/widgetapi:carol@example.com?secret=`},
		{"POST", "/auth/mfa/totp/confirm", 200, `"recovery_codes":[`},
		{"POST", "/auth/login", 401, `"mfa_required":true`},
		{"POST", "/auth/login/mfa", 200, `"access_token"`},
		{"GET", "/auth/user", 200, `"mfa":true`},
		{"GET", "/auth/sessions", 200, `"amr":["pwd","otp"]`},
	}
	checkCalls(t, "the second factor", calls, wantMFA, out)
	// The mail section, as a reader runs it after the session: the
	// tokens come out of the .eml files the service writes.
	mailBlocks := readmeBlocks(t, "Verifying an address and resetting a password by mail")
	if len(mailBlocks) != 1 {
		t.Fatalf("README.md: %d blocks in the mail section, want 1", len(mailBlocks))
	}
	calls, out = runBlocks("the mail session", mailBlocks, s.URL)
	sent := `"message":"if that address is registered, a reset link has been sent"`
	checkCalls(t, "the mail session", calls, []readmeCall{
		{"POST", "/auth/register", 201, `"message":"successfully registered"`},
		{"GET", "/auth/user", 200, `"email_verified":false`},
		{"POST", "/auth/email/verify", 200, `{"status":"success","message":"email verified"}`},
		{"GET", "/auth/user", 200, `"email_verified":true`},
		{"POST", "/auth/email/verify/resend", 409, `{"status":"fail","message":"email already verified"}`},
		{"POST", "/auth/password/forgot", 202, sent},
		{"POST", "/auth/password/forgot", 202, sent},
		{"POST", "/auth/password/reset", 200, `"message":"password reset","access_token"`},
		{"POST", "/auth/email", 202, `{"status":"success","message":"confirmation email sent"}`},
		{"POST", "/auth/email/confirm", 200, `{"status":"success","message":"email changed"}`},
		{"GET", "/auth/user", 200, `"email":"robert@example.com"`},
	}, out)
	if last := calls[len(calls)-1].body; !strings.Contains(last, `"email_verified":true`) {
		t.Errorf("robert@example.com is not verified: %s", last)
	}
	if !regexp.MustCompile(`(?m)^\d{8}T\d{6}\.\d{9}Z-\d+\.eml$`).MatchString(out) {
		t.Errorf("ls data/mail listed no mail file named as the README says:\n%s", out)
	}

	// The operator's commands, with the binary the README built.
	_, out = runBlocks("the operator's commands", accounts[1:], "")
	for _, want := range []string{"created user bob@example.com", "admin:      true", "disabled:   true",
		"deleted bob@example.com", "page 1 of 1, 2 users"} {
		if !strings.Contains(out, want) {
			t.Errorf("the operator's commands did not print %q:\n%s", want, out)
		}
	}
	if code := s.Stop(os.Interrupt); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, s.Stderr.String())
	}
}

// checkCalls fails t unless calls are want, one for one; out is the
// script's output, shown when their numbers differ.
func checkCalls(t *testing.T, what string, calls []curlCall, want []readmeCall, out string) {
	t.Helper()
	if len(calls) != len(want) {
		for _, c := range calls {
			t.Logf("%d %s %s -> %d", c.number, c.method, c.url, c.status)
		}
		t.Fatalf("%s made %d curl calls, want %d; output:\n%s", what, len(calls), len(want), out)
	}
	for i, w := range want {
		c := calls[i]
		if c.method != w.method || !strings.Contains(c.url, "/api/v1"+w.url) || c.status != w.status || !strings.Contains(compactJSON(c.body), compactJSON(w.body)) {
			t.Errorf("%s, call %d: %s %s -> %d\n%.600s\nwant %s %s -> %d with %s", what, i+1, c.method, c.url, c.status, c.body, w.method, w.url, w.status, w.body)
		}
	}
}

// compactJSON drops the spaces after JSON's colons and commas, so that a
// body the README shows with them matches the server's compact one.
func compactJSON(s string) string {
	return strings.NewReplacer(`": "`, `":"`, `", "`, `","`).Replace(s)
}

// recordingT notes failures instead of failing, to test a check itself.
type recordingT struct {
	*testing.T
	failed int
}

func (r *recordingT) tb() testing.TB { return r }
func (r *recordingT) Errorf(string, ...any) {
	r.failed++
}
func (r *recordingT) Fatalf(format string, args ...any) {
	r.T.Fatalf(format, args...)
}
