package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"widgetapi/internal/testdb"
)

// cli runs the commands of one test against one fresh database and
// remembers everything they and the servers over that database printed:
// no password given to a command may appear in it.
type cli struct {
	t       *testing.T
	dir     string
	env     []string
	mu      sync.Mutex
	seen    []string
	secrets []string
	servers []*server
}

func newCLI(t *testing.T, env []string) *cli {
	c := &cli{t: t, dir: t.TempDir(), env: env}
	// Registered before any server's, so it runs after they are stopped.
	t.Cleanup(c.checkSecrets)
	return c
}

// eachEngine runs fn on a fresh SQLite database and on a fresh PostgreSQL
// schema. The PostgreSQL run is skipped, or failed under CI=true, when
// WIDGETAPI_TEST_POSTGRES_URL is unset.
func eachEngine(t *testing.T, fn func(t *testing.T, c *cli)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, newCLI(t, baseEnv("APP_ENV=testing", "TOKEN_TTL=1h")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, newCLI(t, baseEnv("APP_ENV=testing", "TOKEN_TTL=1h", "DATABASE_URL="+testdb.FreshSchemaURL(t))))
	})
}

func (c *cli) remember(s ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, s...)
}

func (c *cli) checkSecrets() {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := slices.Clone(c.seen)
	for _, s := range c.servers {
		seen = append(seen, s.Stderr.String())
	}
	for _, secret := range c.secrets {
		for _, s := range seen {
			if strings.Contains(s, secret) {
				c.t.Errorf("the password %q was printed:\n%s", secret, s)
			}
		}
	}
}

// exec runs a command in the test's directory; safe from goroutines.
func (c *cli) exec(stdin string, args ...string) (stdout, stderr string, code int, err error) {
	stdout, stderr, code, err = execCmd(c.dir, stdin, c.env, args...)
	c.remember(stdout, stderr)
	return stdout, stderr, code, err
}

func (c *cli) run(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	stdout, stderr, code, err := c.exec(stdin, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return stdout, stderr, code
}

// ok runs a command that must succeed and returns its stdout and stderr.
func (c *cli) ok(args ...string) (stdout, stderr string) {
	c.t.Helper()
	stdout, stderr, code := c.run("", args...)
	if code != 0 {
		c.t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
	}
	return stdout, stderr
}

// fails runs a command that must exit 1 with one line on stderr that
// contains want, and nothing on stdout.
func (c *cli) fails(want string, args ...string) {
	c.t.Helper()
	stdout, stderr, code := c.run("", args...)
	wantOneLine(c.t, fmt.Sprint(args), stderr, code, want)
	if code != 1 || stdout != "" {
		c.t.Fatalf("%v: exit %d, stdout %q; want exit 1 and nothing on stdout", args, code, stdout)
	}
}

// usageError runs a command that must exit 2 with one line on stderr that
// says why and where its usage is, and nothing on stdout.
func (c *cli) usageError(why string, args ...string) {
	c.t.Helper()
	stdout, stderr, code := c.run("", args...)
	line := strings.TrimSuffix(stderr, "\n")
	if code != 2 || stdout != "" || strings.Contains(line, "\n") || !strings.Contains(line, why) ||
		!strings.HasSuffix(line, "(see 'widgetapi "+args[0]+" "+args[1]+" --help')") {
		c.t.Fatalf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q and where the usage is", args, code, stdout, stderr, why)
	}
}

var publicIDRe = regexp.MustCompile(`\(public_id ([0-9a-f-]{36})\)`)

// add creates a user with user add and returns their public id.
func (c *cli) add(email, password string, admin bool) string {
	c.t.Helper()
	c.mu.Lock()
	c.secrets = append(c.secrets, password)
	c.mu.Unlock()
	args := []string{"user", "add", email, "--password-stdin"}
	if admin {
		args = append(args, "--admin")
	}
	stdout, stderr, code := c.run(password+"\n", args...)
	m := publicIDRe.FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		c.t.Fatalf("user add %s: exit %d, stdout %q, stderr %q", email, code, stdout, stderr)
	}
	return m[1]
}

// show returns the fields that user show prints.
func (c *cli) show(email string) map[string]string {
	c.t.Helper()
	stdout, _ := c.ok("user", "show", email)
	return parseFields(c.t, stdout)
}

// parseFields reads the "name: value" lines of user show and user set.
func parseFields(t *testing.T, out string) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("not a field: %q in %q", line, out)
		}
		fields[k] = strings.TrimSpace(v)
	}
	return fields
}

func (c *cli) serve() *server {
	c.t.Helper()
	s := startServer(c.t, c.dir, c.env)
	c.mu.Lock()
	c.servers = append(c.servers, s)
	c.mu.Unlock()
	return s
}

// login logs in over HTTP and returns the token.
func login(t *testing.T, s *server, email, password string) string {
	t.Helper()
	code, body, _ := call(t, "POST", s.URL+"/api/v1/auth/login", "", creds(email, password))
	tok, _ := body["access_token"].(string)
	if code != 200 || tok == "" {
		t.Fatalf("login %s: %d %v", email, code, body)
	}
	return tok
}

// sendJSON sends body as JSON and decodes the JSON answer; safe from
// goroutines.
func sendJSON(method, url, token string, body any) (int, map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return res.StatusCode, nil, fmt.Errorf("%s %s: body is not JSON: %q", method, url, raw)
		}
	}
	return res.StatusCode, m, nil
}

func callJSON(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	code, m, err := sendJSON(method, url, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, m
}

// wantBody fails unless body is exactly want.
func wantBody(t *testing.T, what string, code int, body map[string]any, wantCode int, want map[string]any) {
	t.Helper()
	if code != wantCode || !jsonEqual(body, want) {
		t.Fatalf("%s: %d %v; want %d %v", what, code, body, wantCode, want)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

const msgDisabled = "Account disabled. Please contact an administrator."

// listed is what user list printed: the header, the rows by column and the
// footer.
type listed struct {
	header []string
	rows   [][]string
	footer string
}

func (l listed) emails() []string {
	out := []string{}
	for _, r := range l.rows {
		out = append(out, r[1])
	}
	return out
}

func parseList(t *testing.T, out string) listed {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("user list printed %q", out)
	}
	l := listed{header: strings.Fields(lines[0]), footer: lines[len(lines)-1]}
	for _, line := range lines[1 : len(lines)-1] {
		f := strings.Fields(line)
		if len(f) != 5 {
			t.Fatalf("row %q of %q", line, out)
		}
		l.rows = append(l.rows, f)
	}
	return l
}

// user list prints every user, the filters of GET /users narrow them, and
// a page is one of the API's pages.
func TestUserList(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		type account struct {
			add             string // as given to user add
			email           string // as stored
			admin, disabled bool
			id              string
		}
		accounts := []*account{
			{add: "alice@example.com", admin: true},
			{add: "Bob@Example.com", email: "bob@example.com"},
			{add: "carol@corp.example"},
			{add: "dave@corp.example", admin: true},
			{add: "erin@example.com", disabled: true},
			{add: "frank_x@example.com"},
			{add: "grace@example.com"},
		}
		before := time.Now().Add(-time.Second)
		for i, a := range accounts {
			if a.email == "" {
				a.email = a.add
			}
			a.id = c.add(a.add, fmt.Sprintf("list-password-%d", i), a.admin)
		}
		after := time.Now()
		c.ok("user", "set", "erin@example.com", "--disabled=true")
		emails := func(keep func(a *account) bool) []string {
			out := []string{}
			for _, a := range accounts {
				if keep(a) {
					out = append(out, a.email)
				}
			}
			return out
		}
		all := emails(func(*account) bool { return true })

		// The whole table: a header and every user, in registration order.
		out, _ := c.ok("user", "list")
		l := parseList(t, out)
		if want := []string{"PUBLIC_ID", "EMAIL", "ADMIN", "DISABLED", "REGISTERED"}; !slices.Equal(l.header, want) {
			t.Fatalf("header %q, want %q", l.header, want)
		}
		if !slices.Equal(l.emails(), all) || l.footer != "page 1 of 1, 7 users" {
			t.Fatalf("user list:\n%s", out)
		}
		for i, r := range l.rows {
			a := accounts[i]
			reg, err := time.Parse(time.RFC3339, r[4])
			if r[0] != a.id || r[2] != fmt.Sprint(a.admin) || r[3] != fmt.Sprint(a.disabled) || err != nil ||
				reg.Before(before) || reg.After(after) {
				t.Fatalf("row %q for %+v (registered between %v and %v)", r, *a, before, after)
			}
		}

		for _, tc := range []struct {
			args   []string
			want   []string
			footer string
		}{
			{[]string{"--email", "CORP"}, []string{"carol@corp.example", "dave@corp.example"}, "page 1 of 1, 2 users"},
			{[]string{"--email", "bob@EXAMPLE"}, []string{"bob@example.com"}, "page 1 of 1, 1 user"},
			// LIKE's wildcards are plain characters.
			{[]string{"--email", "_"}, []string{"frank_x@example.com"}, "page 1 of 1, 1 user"},
			{[]string{"--email", "%"}, []string{}, "page 1 of 1, 0 users"},
			{[]string{"--admin=true"}, emails(func(a *account) bool { return a.admin }), "page 1 of 1, 2 users"},
			{[]string{"--admin"}, emails(func(a *account) bool { return a.admin }), "page 1 of 1, 2 users"},
			{[]string{"--admin=false"}, emails(func(a *account) bool { return !a.admin }), "page 1 of 1, 5 users"},
			{[]string{"--disabled=true"}, []string{"erin@example.com"}, "page 1 of 1, 1 user"},
			{[]string{"--disabled=false"}, emails(func(a *account) bool { return !a.disabled }), "page 1 of 1, 6 users"},
			{[]string{"--email", "example.com", "--admin=false", "--disabled=false"},
				[]string{"bob@example.com", "frank_x@example.com", "grace@example.com"}, "page 1 of 1, 3 users"},
			{[]string{"--per-page", "5"}, all[:5], "page 1 of 2, 7 users"},
			{[]string{"--per-page", "5", "--page", "2"}, all[5:], "page 2 of 2, 7 users"},
			{[]string{"--page=3", "--per-page=5"}, []string{}, "page 3 of 2, 7 users"},
			{[]string{"--disabled=false", "--per-page", "5", "--page", "2"}, []string{"grace@example.com"}, "page 2 of 2, 6 users"},
		} {
			out, _ := c.ok(append([]string{"user", "list"}, tc.args...)...)
			l := parseList(t, out)
			if !slices.Equal(l.emails(), tc.want) || l.footer != tc.footer {
				t.Fatalf("user list %q:\n%s\nwant %q and %q", tc.args, out, tc.want, tc.footer)
			}
		}

		c.fails("user list: per_page: per_page must be one of 5, 10, 25, 50, 100", "user", "list", "--per-page", "7")
		c.fails("user list: page: page must be a positive integer", "user", "list", "--page", "0")
		c.fails("page: page must be a positive integer, e.g. page=1; per_page: per_page must be one of", "user", "list", "--page", "x", "--per-page", "7")
		c.usageError(`invalid boolean value "maybe" for -admin`, "user", "list", "--admin=maybe")
		c.usageError(`invalid boolean value "no" for -disabled`, "user", "list", "--disabled=no")
		// A bool flag does not take the next argument: "false" is left over.
		c.usageError(`unexpected argument "false"`, "user", "list", "--admin", "false")
	})
}

// user show prints one account's fields; an unknown or invalid email is
// one line.
func TestUserShow(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		c.add("alice@example.com", "show-password-1", true)
		before := time.Now().Add(-time.Second)
		bob := c.add("bob@example.com", "show-password-2", false)
		after := time.Now()
		c.ok("user", "set", "bob@example.com", "--disabled=true")

		f := c.show("BOB@example.com")
		reg, err := time.Parse(time.RFC3339, f["registered"])
		if len(f) != 6 || f["email"] != "bob@example.com" || f["public_id"] != bob || f["admin"] != "false" ||
			f["disabled"] != "true" || f["mfa"] != "false" || err != nil || reg.Before(before) || reg.After(after) {
			t.Fatalf("user show: %q", f)
		}
		if f := c.show("alice@example.com"); f["admin"] != "true" || f["disabled"] != "false" {
			t.Fatalf("user show alice: %q", f)
		}
		c.fails("user show: nobody@example.com not found in database.", "user", "show", "nobody@example.com")
		c.fails("user show: email: ", "user", "show", "not an email")
		c.usageError("give the EMAIL of the user", "user", "show")
		c.usageError(`unexpected argument "bob@example.com"`, "user", "show", "alice@example.com", "bob@example.com")
	})
}

// user set promotes, demotes, disables and enables, and never leaves the
// service without an enabled administrator.
func TestUserSet(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		c.add("alice@example.com", "set-password-1", true)
		bob := c.add("bob@example.com", "set-password-2", false)
		c.add("dave@example.com", "set-password-3", true)
		want := func(email, admin, disabled string) {
			t.Helper()
			if f := c.show(email); f["admin"] != admin || f["disabled"] != disabled {
				t.Fatalf("%s: %q; want admin %s, disabled %s", email, f, admin, disabled)
			}
		}
		for _, tc := range []struct {
			args            []string
			admin, disabled string
		}{
			{[]string{"bob@example.com", "--admin=true"}, "true", "false"},
			{[]string{"bob@example.com", "--admin=false"}, "false", "false"},
			{[]string{"bob@example.com", "--disabled=true"}, "false", "true"},
			{[]string{"bob@example.com", "--disabled=false"}, "false", "false"},
			{[]string{"--admin", "--disabled", "BOB@example.com"}, "true", "true"},
			{[]string{"--admin=false", "bob@example.com", "--disabled=false"}, "false", "false"},
		} {
			out, _ := c.ok(append([]string{"user", "set"}, tc.args...)...)
			f := parseFields(t, out)
			if f["email"] != "bob@example.com" || f["public_id"] != bob || f["admin"] != tc.admin || f["disabled"] != tc.disabled {
				t.Fatalf("user set %q printed %q", tc.args, f)
			}
			want("bob@example.com", tc.admin, tc.disabled)
		}

		c.fails("user set: give at least one of --admin, --disabled", "user", "set", "bob@example.com")
		c.usageError(`invalid boolean value "maybe" for -admin: want true or false`, "user", "set", "bob@example.com", "--admin=maybe")
		c.usageError(`unexpected argument "maybe"`, "user", "set", "bob@example.com", "--admin", "maybe")
		c.usageError(`unexpected argument "bob@example.com"`, "user", "set", "--admin", "maybe", "bob@example.com")
		c.usageError(`invalid boolean value "yes" for -disabled`, "user", "set", "bob@example.com", "--disabled=yes")
		c.usageError("give the EMAIL of the user", "user", "set", "--admin=true")
		want("bob@example.com", "false", "false")
		c.fails("user set: nobody@example.com not found in database.", "user", "set", "nobody@example.com", "--admin=true")

		// A disabled administrator is no administrator: alice is the last.
		c.ok("user", "set", "dave@example.com", "--disabled=true")
		for _, flags := range [][]string{{"--admin=false"}, {"--disabled=true"}, {"--admin=false", "--disabled=true"}, {"--admin=false", "--disabled=false"}} {
			c.fails("user set: cannot remove the last administrator", append([]string{"user", "set", "alice@example.com"}, flags...)...)
		}
		want("alice@example.com", "true", "false")
		// What keeps alice enabled and an administrator is allowed.
		c.ok("user", "set", "alice@example.com", "--admin=true", "--disabled=false")
		// Demoting a disabled administrator removes no enabled one.
		c.ok("user", "set", "dave@example.com", "--admin=false")
		c.ok("user", "set", "dave@example.com", "--admin=true", "--disabled=false")
		c.ok("user", "set", "alice@example.com", "--disabled=true")
		c.fails("user set: cannot remove the last administrator", "user", "set", "dave@example.com", "--admin=false")
		want("dave@example.com", "true", "false")
		want("alice@example.com", "true", "true")
	})
}

// What user set changes, a running server applies on the user's very next
// request: a disabled account's token is refused and its password opens no
// session; enabled again, it logs in, and its old sessions stay ended.
func TestUserSetOnARunningServer(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		c.add("alice@example.com", "running-password-1", true)
		c.add("bob@example.com", "running-password-2", false)
		c.add("carol@example.com", "running-password-3", true)
		s := c.serve()
		api := s.URL + "/api/v1"

		bob := login(t, s, "bob@example.com", "running-password-2")
		if code, body, _ := call(t, "GET", api+"/auth/user", bob, nil); code != 200 {
			t.Fatalf("bob before: %d %v", code, body)
		}
		c.ok("user", "set", "bob@example.com", "--disabled=true")
		for _, path := range []string{"/auth/user", "/widgets", "/widgets/no-such-widget", "/auth/sessions"} {
			code, body, hdr := call(t, "GET", api+path, bob, nil)
			wantBody(t, "disabled bob's token on "+path, code, body, 401, map[string]any{"message": msgDisabled})
			if h := hdr.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) || !strings.Contains(h, msgDisabled) {
				t.Fatalf("%s: WWW-Authenticate %q", path, h)
			}
		}
		code, body, _ := call(t, "POST", api+"/auth/login", "", creds("bob@example.com", "running-password-2"))
		wantBody(t, "disabled bob's login", code, body, 403, map[string]any{"status": "fail", "message": "account disabled"})
		code, body, _ = call(t, "POST", api+"/auth/login", "", creds("bob@example.com", "wrong-password"))
		wantBody(t, "disabled bob's wrong password", code, body, 401, map[string]any{"status": "fail", "message": "email or password does not match"})

		c.ok("user", "set", "bob@example.com", "--disabled=false")
		again := login(t, s, "bob@example.com", "running-password-2")
		if code, body, _ := call(t, "GET", api+"/auth/user", again, nil); code != 200 || body["email"] != "bob@example.com" {
			t.Fatalf("bob enabled again: %d %v", code, body)
		}
		code, body, _ = call(t, "GET", api+"/auth/user", bob, nil)
		wantBody(t, "bob's session from before he was disabled", code, body, 401, map[string]any{"message": "Token blacklisted. Please log in again."})

		// Demotion and promotion hold from the next request of the same token.
		carol := login(t, s, "carol@example.com", "running-password-3")
		if code, _, _ := call(t, "GET", api+"/users", carol, nil); code != 200 {
			t.Fatalf("carol as an administrator: %d", code)
		}
		c.ok("user", "set", "carol@example.com", "--admin=false")
		for _, path := range []string{"/users", "/audit"} {
			code, body, _ := call(t, "GET", api+path, carol, nil)
			wantBody(t, "demoted carol on "+path, code, body, 403, map[string]any{"message": "You are not an administrator"})
		}
		if code, body, _ := call(t, "GET", api+"/auth/user", carol, nil); code != 200 || body["admin"] != false {
			t.Fatalf("demoted carol's own account: %d %v", code, body)
		}
		c.ok("user", "set", "carol@example.com", "--admin=true")
		if code, _, _ := call(t, "GET", api+"/users", carol, nil); code != 200 {
			t.Fatalf("carol promoted again: %d", code)
		}
	})
}

// user delete refuses a user who owns widgets unless they go to an enabled
// administrator, moves them when they do, and never deletes the last
// administrator.
func TestUserDelete(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		alice := c.add("alice@example.com", "delete-password-1", true)
		c.add("bob@example.com", "delete-password-2", true)
		c.add("carol@example.com", "delete-password-3", false)
		c.add("dave@example.com", "delete-password-4", true)
		c.add("erin@example.com", "delete-password-5", false)
		s := c.serve()
		api := s.URL + "/api/v1"
		bob := login(t, s, "bob@example.com", "delete-password-2")
		widgets := []string{"bobs-first", "bobs-second"}
		for _, name := range widgets {
			if code, body, _ := call(t, "POST", api+"/widgets", bob, widgetForm(name, "https://example.com/"+name, "2099-12-31")); code != 201 {
				t.Fatalf("create %s: %d %v", name, code, body)
			}
		}
		c.ok("user", "set", "bob@example.com", "--admin=false") // he keeps his widgets
		c.ok("user", "set", "dave@example.com", "--disabled=true")

		c.fails("user delete: bob@example.com owns 2 widgets", "user", "delete", "bob@example.com")
		c.fails("user delete: transfer_to: ", "user", "delete", "bob@example.com", "--transfer-to", "carol@example.com")
		c.fails("user delete: transfer_to: ", "user", "delete", "bob@example.com", "--transfer-to", "dave@example.com")
		c.fails("user delete: transfer_to: ", "user", "delete", "bob@example.com", "--transfer-to", "bob@example.com")
		c.fails("nobody@example.com not found in database.", "user", "delete", "bob@example.com", "--transfer-to", "nobody@example.com")
		if code, body, _ := call(t, "GET", api+"/auth/user", bob, nil); code != 200 {
			t.Fatalf("the refusals changed bob: %d %v", code, body)
		}

		out, _ := c.ok("user", "delete", "--transfer-to", "ALICE@example.com", "bob@example.com")
		if !strings.HasPrefix(out, "deleted bob@example.com (public_id ") {
			t.Fatalf("user delete printed %q", out)
		}
		admin := login(t, s, "alice@example.com", "delete-password-1")
		for _, name := range widgets {
			code, body, _ := call(t, "GET", api+"/widgets/"+name, admin, nil)
			if want := map[string]any{"email": "alice@example.com", "public_id": alice}; code != 200 || !jsonEqual(body["owner"], want) {
				t.Fatalf("%s after the transfer: %d %v; want owner %v", name, code, body, want)
			}
		}
		for _, path := range []string{"/auth/user", "/widgets/bobs-first"} {
			code, body, _ := call(t, "GET", api+path, bob, nil)
			wantBody(t, "deleted bob's token on "+path, code, body, 401, map[string]any{"message": "Invalid token. Please log in again."})
		}
		if code := postStatus(api+"/auth/login", "", creds("bob@example.com", "delete-password-2")); code != 401 {
			t.Fatalf("deleted bob logs in: %d", code)
		}
		c.fails("user show: bob@example.com not found in database.", "user", "show", "bob@example.com")

		c.fails("user delete: cannot remove the last administrator", "user", "delete", "alice@example.com")
		// --transfer-to must name an heir even when there is nothing to move.
		c.fails("user delete: transfer_to: ", "user", "delete", "carol@example.com", "--transfer-to", "erin@example.com")
		c.fails("user delete: transfer_to: ", "user", "delete", "carol@example.com", "--transfer-to", "dave@example.com")
		c.fails("user delete: transfer_to: ", "user", "delete", "carol@example.com", "--transfer-to", "carol@example.com")
		c.show("carol@example.com")
		c.ok("user", "delete", "carol@example.com", "--transfer-to", "alice@example.com")
		c.ok("user", "delete", "erin@example.com")
		// A disabled administrator is not the last one.
		c.ok("user", "delete", "dave@example.com")
		c.fails("user delete: cannot remove the last administrator", "user", "delete", "alice@example.com")
		c.fails("user delete: nobody@example.com not found in database.", "user", "delete", "nobody@example.com")
		c.usageError("give the EMAIL of the user", "user", "delete")
		c.usageError("give the EMAIL of the user", "user", "delete", "--transfer-to", "alice@example.com")
		out, _ = c.ok("user", "list")
		if l := parseList(t, out); !slices.Equal(l.emails(), []string{"alice@example.com"}) {
			t.Fatalf("left after the deletes:\n%s", out)
		}
	})
}

// Each user command's --help prints its usage on stdout, exits 0 and
// opens no database.
func TestUserCommandsHelp(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		cmd   string
		flags []string
	}{
		{"add", []string{"-admin", "-password-stdin"}},
		{"passwd", []string{"-password-stdin"}},
		{"list", []string{"-email", "-admin", "-disabled", "-page", "-per-page"}},
		{"show", nil},
		{"set", []string{"-admin", "-disabled"}},
		{"delete", []string{"-transfer-to"}},
	} {
		variants := [][]string{{tc.cmd, "--help"}, {tc.cmd, "-h"}}
		if tc.cmd != "list" {
			variants = append(variants, []string{tc.cmd, "someone@example.com", "--help"})
		}
		for _, args := range variants {
			out, errOut, code := runCmd(t, dir, "", baseEnv(), append([]string{"user"}, args...)...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: widgetapi user "+tc.cmd) || !strings.Contains(out, "DATABASE_URL") {
				t.Fatalf("user %q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
			for _, f := range tc.flags {
				if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
					t.Fatalf("user %q: the help does not list %s:\n%s", args, f, out)
				}
			}
		}
	}
	out, errOut, code := runCmd(t, dir, "", baseEnv(), "user", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("user --help: %d %q", code, errOut)
	}
	for _, cmd := range []string{"add", "passwd", "list", "show", "set", "delete"} {
		if !strings.Contains(out, "widgetapi user "+cmd+" ") {
			t.Fatalf("user --help does not list %s:\n%s", cmd, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("--help opened the database: %v", err)
	}
}

// auditLine returns the one "audit" line a command wrote to stderr; every
// line there must be JSON.
func auditLine(t *testing.T, stderr string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stderr line %q is not JSON", line)
		}
		if m["msg"] == "audit" {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("stderr has %d audit lines, want 1:\n%s", len(found), stderr)
	}
	return found[0]
}

// events reads the audit log over HTTP with an administrator's token.
func (c *cli) events(s *server, token, query string) (total int, items []map[string]any) {
	c.t.Helper()
	res, raw, err := send("GET", s.URL+"/api/v1/audit?per_page=100&"+query, token, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.remember(string(raw))
	var body struct {
		Total int              `json:"total_items"`
		Items []map[string]any `json:"items"`
	}
	if res.StatusCode != 200 || json.Unmarshal(raw, &body) != nil || res.Header.Get("Total-Count") != fmt.Sprint(body.Total) {
		c.t.Fatalf("GET /audit?%s: %d %s", query, res.StatusCode, raw)
	}
	return body.Total, body.Items
}

// The events of user commands are recorded as the command line's, with no
// actor, and each is one JSON line on the command's stderr; a refused
// command records nothing.
func TestUserCommandsAreAuditedAsTheCommandLine(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		alice := c.add("alice@example.com", "audit-password-1", true)
		bob := c.add("bob@example.com", "audit-password-2", false)
		s := c.serve()
		admin := login(t, s, "alice@example.com", "audit-password-1")
		none := func(action string) {
			t.Helper()
			if n, items := c.events(s, admin, "action="+action); n != 0 {
				t.Fatalf("%s events after refused commands: %v", action, items)
			}
		}

		c.fails("cannot remove the last administrator", "user", "set", "alice@example.com", "--disabled=true")
		c.fails("cannot remove the last administrator", "user", "delete", "alice@example.com")
		c.fails("give at least one of", "user", "set", "bob@example.com")
		none("user.updated")
		none("user.deleted")

		_, stderr := c.ok("user", "set", "bob@example.com", "--admin=true")
		line := auditLine(t, stderr)
		wantDetail := map[string]any{"admin": map[string]any{"old": false, "new": true}}
		if _, hasActor := line["actor"]; hasActor || line["action"] != "user.updated" || line["source"] != "cli" ||
			line["target"] != bob || !jsonEqual(line["detail"], wantDetail) {
			t.Fatalf("user set's audit line: %v", line)
		}
		n, items := c.events(s, admin, "action=user.updated")
		if ev := items[0]; n != 1 || ev["source"] != "cli" || ev["actor"] != nil || ev["target"] != bob ||
			!jsonEqual(ev["detail"], wantDetail) || ev["id"] != line["id"] {
			t.Fatalf("user.updated events: %d %v; the line was %v", n, items, line)
		}

		// With bob an administrator too, alice could go; this refusal is another.
		c.fails("nobody@example.com not found", "user", "delete", "alice@example.com", "--transfer-to", "nobody@example.com")
		_, stderr = c.ok("user", "delete", "bob@example.com")
		line = auditLine(t, stderr)
		wantDetail = map[string]any{"email": "bob@example.com", "widgets_moved": 0}
		if _, hasActor := line["actor"]; hasActor || line["action"] != "user.deleted" || line["source"] != "cli" ||
			line["target"] != bob || !jsonEqual(line["detail"], wantDetail) {
			t.Fatalf("user delete's audit line: %v", line)
		}
		n, items = c.events(s, admin, "action=user.deleted")
		if ev := items[0]; n != 1 || ev["source"] != "cli" || ev["actor"] != nil || ev["target"] != bob || !jsonEqual(ev["detail"], wantDetail) {
			t.Fatalf("user.deleted events: %d %v", n, items)
		}
		c.fails("cannot remove the last administrator", "user", "delete", "alice@example.com")
		if n, _ := c.events(s, admin, "action=user.deleted"); n != 1 {
			t.Fatalf("%d user.deleted events after a refused delete", n)
		}
		if n, _ := c.events(s, admin, "action=user.updated"); n != 1 {
			t.Fatalf("%d user.updated events after refused updates", n)
		}

		c.mu.Lock()
		c.secrets = append(c.secrets, "audit-password-3")
		c.mu.Unlock()
		if _, stderr, code := c.run("audit-password-3\n", "user", "passwd", "alice@example.com", "--password-stdin"); code != 0 {
			t.Fatalf("user passwd: %d %q", code, stderr)
		} else if line := auditLine(t, stderr); line["action"] != "auth.password_changed" || line["source"] != "cli" {
			t.Fatalf("user passwd's audit line: %v", line)
		}
		admin = login(t, s, "alice@example.com", "audit-password-3")

		// Every event of a command is the command line's and has no actor;
		// the API's have theirs.
		_, all := c.events(s, admin, "")
		cli, api := map[string]int{}, 0
		for _, ev := range all {
			switch ev["source"] {
			case "cli":
				if ev["actor"] != nil {
					t.Fatalf("a command's event has an actor: %v", ev)
				}
				cli[ev["action"].(string)]++
			case "api":
				if actor, _ := ev["actor"].(map[string]any); ev["action"] == "auth.login" && (actor["email"] != "alice@example.com" || actor["public_id"] != alice) {
					t.Fatalf("a login's actor: %v", ev)
				}
				api++
			default:
				t.Fatalf("event source %v", ev)
			}
		}
		want := map[string]int{"user.created": 2, "user.updated": 1, "user.deleted": 1, "auth.password_changed": 1}
		if !jsonEqual(cli, want) || api == 0 {
			t.Fatalf("the commands' events %v, want %v; %d of the API", cli, want, api)
		}
	})
}

// Two operators demoting or disabling the only two administrators at the
// same moment, each with their own process: one succeeds, the other is
// refused, and one enabled administrator is always left.
func TestUserSetRacingCommandsKeepAnAdministrator(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		emails := [2]string{"alice@example.com", "bob@example.com"}
		c.add(emails[0], "racing-password-1", true)
		c.add(emails[1], "racing-password-2", true)
		changes := [][2]string{{"--admin=false", "--admin=false"}, {"--disabled=true", "--disabled=true"}, {"--admin=false", "--disabled=true"}}
		const rounds = 12
		for round := range rounds {
			change := changes[round%len(changes)]
			var stderr [2]string
			var errs [2]error
			codes := race(t, 2, func(i int) int {
				var code int
				_, stderr[i], code, errs[i] = c.exec("", "user", "set", emails[i], change[i])
				return code
			})
			if errs[0] != nil || errs[1] != nil {
				t.Fatal(errs)
			}
			if codes[0] != 1 || codes[1] != 1 {
				t.Fatalf("round %d, %q: exit codes %v, stderr %q", round, change, codes, stderr)
			}
			lost := 0
			if strings.Contains(stderr[1], "cannot remove the last administrator") {
				lost = 1
			}
			wantOneLine(t, fmt.Sprintf("round %d, the refused command", round), stderr[lost], 1, "user set: cannot remove the last administrator")
			out, _ := c.ok("user", "list", "--admin=true", "--disabled=false")
			if l := parseList(t, out); !slices.Equal(l.emails(), []string{emails[lost]}) {
				t.Fatalf("round %d, %q: enabled administrators:\n%s", round, change, out)
			}
			c.ok("user", "set", emails[1-lost], "--admin=true", "--disabled=false")
		}
	})
}

// userID returns the public id of the user with email, as user show prints it.
func (c *cli) userID(email string) string {
	c.t.Helper()
	return c.show(email)["public_id"]
}

// A user deleted while their own requests are under way, on another
// process: each request either happened before the delete, and its widget
// went to the heir with the others, or is answered as the next request of
// someone who no longer exists. None is a 500.
func TestDeletingAUserRacingTheirOwnRequests(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		s := [2]*server{c.serve(), c.serve()}
		ann := c.add("ann@example.com", "racing-password-0", true)
		admin := login(t, s[0], "ann@example.com", "racing-password-0")
		const rounds, perRound = 40, 12
		created, answers := 0, map[string]int{}
		for round := range rounds {
			email := fmt.Sprintf("bob%d@example.com", round)
			bob := c.add(email, "racing-password-1", true)
			token := login(t, s[1], email, "racing-password-1")
			// Request 0 deletes bob through process 0; the others are his,
			// logins and widget creates, through process 1.
			kind := func(i int) string {
				switch {
				case i == 0:
					return "delete"
				case i%2 == 0:
					return "login"
				}
				return "widget"
			}
			var got [perRound]answer
			race(t, perRound, func(i int) int {
				var res *http.Response
				var body []byte
				switch kind(i) {
				case "delete":
					res, body, got[i].err = send("DELETE", s[0].URL+"/api/v1/users/"+bob+"?transfer_to="+ann, admin, nil)
				case "login":
					res, body, got[i].err = send("POST", s[1].URL+"/api/v1/auth/login", "", creds(email, "racing-password-1"))
				default:
					res, body, got[i].err = send("POST", s[1].URL+"/api/v1/widgets", token,
						widgetForm(fmt.Sprintf("w-%d-%d", round, i), "https://example.com", "2099-12-31"))
				}
				if got[i].err == nil {
					got[i].code = res.StatusCode
					if len(body) > 0 {
						got[i].err = json.Unmarshal(body, &got[i].body)
					}
				}
				return got[i].code
			})
			for i, a := range got {
				kind := kind(i)
				if a.err != nil {
					t.Fatalf("round %d, %s: %v", round, kind, a.err)
				}
				answers[fmt.Sprint(kind, " ", a.code)]++
				ok := false
				switch kind {
				case "delete":
					ok = a.code == 204
				case "widget":
					ok = a.code == 201 || a.code == 401 && jsonEqual(a.body, map[string]any{"message": "Invalid token. Please log in again."})
					if a.code == 201 {
						created++
					}
				case "login":
					ok = a.code == 200 || a.code == 401 && jsonEqual(a.body, map[string]any{"status": "fail", "message": "email or password does not match"})
				}
				if !ok {
					t.Fatalf("round %d, %s: %d %v", round, kind, a.code, a.body)
				}
			}
		}
		t.Logf("answers: %v", answers)
		// Every widget acknowledged is there, and ann's.
		listed := 0
		for page := 1; listed < created; page++ {
			code, body, _ := call(t, "GET", fmt.Sprintf("%s/api/v1/widgets?per_page=100&page=%d", s[0].URL, page), admin, nil)
			items, _ := body["items"].([]any)
			if code != 200 || body["total_items"] != float64(created) || len(items) == 0 {
				t.Fatalf("widgets, page %d: %d %v; want the %d created", page, code, body["total_items"], created)
			}
			for _, it := range items {
				if owner := it.(map[string]any)["owner"].(map[string]any); owner["public_id"] != ann {
					t.Fatalf("widget %v: owner %v, want ann", it.(map[string]any)["name"], owner)
				}
			}
			listed += len(items)
		}
	})
}
