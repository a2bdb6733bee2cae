package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/internal/testdb"
)

// Export, then import into a fresh database, then export again gives the
// same lines, byte for byte, over more widgets than one batch of either,
// with past and future deadlines, two owners and names of every kind.
func TestWidgetExportImportRoundTrip(t *testing.T) {
	for _, engine := range testdb.Engines(t) {
		t.Run(engine.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC)
			loc, err := time.LoadLocation("America/New_York")
			if err != nil {
				t.Fatal(err)
			}
			admins := []*widgetapi.User{
				{Email: "a@example.com", PasswordHash: []byte("x"), PublicID: uuid.NewString(), Admin: true, RegisteredOn: now},
				{Email: "b@example.com", PasswordHash: []byte("x"), PublicID: uuid.NewString(), Admin: true, RegisteredOn: now},
			}
			src := engine.Open(t)
			for _, u := range admins {
				c := *u
				if err := src.CreateUser(ctx, &c, nil, nil); err != nil {
					t.Fatal(err)
				}
				u.ID = c.ID
			}
			const n = importBatch + 2500
			for start := 0; start < n; start += 5000 {
				var batch []*widgetapi.Widget
				for i := start; i < min(n, start+5000); i++ {
					o := admins[i%2]
					batch = append(batch, &widgetapi.Widget{Name: fmt.Sprintf("w-%05d_%c", (i*7919)%n, 'a'+i%26),
						InfoURL:   fmt.Sprintf("https://b\u00fccher.example/%d?q=\"x\"", i),
						CreatedAt: now.Add(time.Duration(i-n) * time.Minute),
						// From two years ago to three years ahead, end of day in loc.
						Deadline: time.Date(2025, 1, 1+i%1800, 23, 59, 59, 0, loc),
						Owner:    widgetapi.WidgetOwner{ID: o.ID}})
				}
				if _, err := src.CreateWidgets(ctx, batch); err != nil {
					t.Fatal(err)
				}
			}
			var first bytes.Buffer
			if got, err := exportWidgets(ctx, src, &first, now, loc); err != nil || got != n {
				t.Fatalf("export: %d, %v", got, err)
			}
			dst := engine.Open(t)
			for _, u := range admins {
				c := *u
				if err := dst.CreateUser(ctx, &c, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			var report bytes.Buffer
			res, err := importWidgets(ctx, dst, bytes.NewReader(first.Bytes()), importOptions{Now: func() time.Time { return now }, Location: loc}, &report)
			if err != nil || res != (importResult{Lines: n, Imported: n}) || report.Len() != 0 {
				t.Fatalf("import: %+v, %v: %s", res, err, report.String())
			}
			var second bytes.Buffer
			if _, err := exportWidgets(ctx, dst, &second, now, loc); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), second.Bytes()) {
				a, b := strings.Split(first.String(), "\n"), strings.Split(second.String(), "\n")
				for i := range min(len(a), len(b)) {
					if a[i] != b[i] {
						t.Fatalf("line %d differs:\n %s\n %s", i+1, a[i], b[i])
					}
				}
				t.Fatalf("%d lines, then %d", len(a), len(b))
			}
			if !strings.Contains(first.String(), `"deadline_passed":true`) || !strings.Contains(first.String(), `"deadline_passed":false`) {
				t.Fatal("the export should hold both past and future deadlines")
			}
		})
	}
}

// The commands end to end: import from a file and from stdin, each
// rejected line reported with its number and reason, a summary on stdout,
// a non-zero exit; export to stdout and to a file; --help.
func TestWidgetImportExportCommands(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv("DATA_DIR="+dir, "APP_ENV=testing")
	addAdmin(t, dir, env)
	if _, errOut, code := runCmd(t, dir, "user-pass1\n", env, "user", "add", "user@example.com", "--password-stdin"); code != 0 {
		t.Fatal(errOut)
	}
	lines := strings.Join([]string{
		`{"name":"Past","info_url":"https://example.com/p","deadline":"1/2/2020","owner":{"email":"ADMIN@example.com"}}`,
		`{"name":"iso","info_url":"https://example.com/i","deadline":"garbage","deadline_iso8601":"2030-06-01T23:59:59Z","created_at_iso8601":"2026-01-02T03:04:05Z","owner":{"email":"admin@example.com"}}`,
		``,
		`not json`,
		`{"name":"bad name","info_url":"nope","deadline":"someday","owner":{"email":"admin@example.com"}}`,
		`{"name":"past","info_url":"https://example.com/p2","deadline":"2020-01-03","owner":{"email":"admin@example.com"}}`,
		`{"name":"orphan","info_url":"https://example.com/o","deadline":"2030-01-01"}`,
		`{"name":"notadmin","info_url":"https://example.com/n","deadline":"2030-01-01","owner":{"email":"user@example.com"}}`,
		`{"name":"nobody","info_url":"https://example.com/n","deadline":"2030-01-01","owner":{"email":"nobody@example.com"}}`,
		`{"name":"created","info_url":"https://example.com/c","deadline":"2030-01-01","created_at_iso8601":"yesterday","owner":{"email":"admin@example.com"}}`,
		`{"name":5,"info_url":"https://example.com/c","deadline":"2030-01-01"}`,
		`[1,2]`,
	}, "\n") + "\n"
	file := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, dir, "", env, "widget", "import", file)
	if code != 1 || out != "imported 2 widgets from 11 lines; 9 lines rejected\n" {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	for _, want := range []string{
		"line 4: not a JSON object: malformed JSON\n",
		"line 5: deadline: 'someday' is not a recognized date",
		"; info_url: info_url must be an absolute http or https URL",
		"; name: name must contain only lowercase letters",
		"line 6: name: Widget name: past already exists, must be unique.\n",
		"line 7: owner.email: missing; name an administrator there or with --owner\n",
		"line 8: owner.email: user@example.com is not an administrator\n",
		"line 9: owner.email: no user has the email nobody@example.com\n",
		"line 10: created_at_iso8601: must be an RFC 3339 time",
		"line 11: not a JSON object: name must be a string\n",
		"line 12: not a JSON object: a line must be one JSON object\n",
		"widgetapi: widget import: 9 of 11 lines rejected\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// --owner takes every line, from stdin; a non-administrator is refused.
	stdin := `{"name":"orphan","info_url":"https://example.com/o","deadline":"2030-01-01"}` + "\n"
	if out, errOut, code := runCmd(t, dir, stdin, env, "widget", "import", "--owner", "admin@example.com", "-"); code != 0 || !strings.Contains(out, "imported 1 widgets") {
		t.Fatalf("import --owner: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := runCmd(t, dir, stdin, env, "widget", "import", "-", "--owner", "user@example.com"); code != 1 ||
		errOut != "widgetapi: widget import: --owner: user@example.com is not an administrator\n" {
		t.Fatalf("import --owner of a user: %d %q", code, errOut)
	}
	// A disabled administrator owns nothing imported, named by --owner or
	// by a line.
	if _, errOut, code := runCmd(t, dir, "off-pass1\n", env, "user", "add", "off@example.com", "--admin", "--password-stdin"); code != 0 {
		t.Fatal(errOut)
	}
	if _, errOut, code := runCmd(t, dir, "", env, "user", "set", "off@example.com", "--disabled=true"); code != 0 {
		t.Fatal(errOut)
	}
	if _, errOut, code := runCmd(t, dir, stdin, env, "widget", "import", "-", "--owner", "off@example.com"); code != 1 ||
		errOut != "widgetapi: widget import: --owner: off@example.com is a disabled administrator\n" {
		t.Fatalf("import --owner of a disabled administrator: %d %q", code, errOut)
	}
	offLine := `{"name":"off","info_url":"https://example.com/o","deadline":"2030-01-01","owner":{"email":"off@example.com"}}` + "\n"
	if _, errOut, code := runCmd(t, dir, offLine, env, "widget", "import", "-"); code != 1 ||
		!strings.HasPrefix(errOut, "line 1: owner.email: off@example.com is a disabled administrator\n") {
		t.Fatalf("import of a line owned by a disabled administrator: %d %q", code, errOut)
	}
	if _, errOut, code := runCmd(t, dir, "", env, "widget", "import"); code != 2 ||
		errOut != "widgetapi widget import: give one FILE to read (- for standard input) (see 'widgetapi widget import --help')\n" {
		t.Fatalf("import without FILE: %d %q", code, errOut)
	}
	out, errOut, code = runCmd(t, dir, "", env, "widget", "export")
	if code != 0 || errOut != "exported 3 widgets to standard output\n" {
		t.Fatalf("export: %d %q", code, errOut)
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != 3 || !strings.HasPrefix(got[0], `{"name":"past","info_url":"https://example.com/p","created_at":`) ||
		!strings.Contains(got[0], `"deadline_iso8601":"2020-01-02T23:59:59Z","deadline_passed":true,"time_remaining":"No time remaining"`) ||
		!strings.Contains(got[1], `"created_at_iso8601":"2026-01-02T03:04:05Z"`) || !strings.Contains(got[1], `"deadline_iso8601":"2030-06-01T23:59:59Z"`) ||
		!strings.HasPrefix(got[2], `{"name":"orphan"`) {
		t.Fatalf("export:\n%s", out)
	}
	exported := filepath.Join(dir, "out.jsonl")
	if _, errOut, code := runCmd(t, dir, "", env, "widget", "export", exported); code != 0 || errOut != "exported 3 widgets to "+exported+"\n" {
		t.Fatalf("export FILE: %d %q", code, errOut)
	}
	if fi, err := os.Stat(exported); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", fi.Mode(), err)
	}
	for _, cmd := range [][]string{{"widget", "import", "--help"}, {"widget", "export", "--help"}, {"widget", "--help"}} {
		out, _, code := runCmd(t, dir, "", env, cmd...)
		if code != 0 || !strings.Contains(out, "Usage: widgetapi widget") && !strings.Contains(out, "widgetapi widget import") {
			t.Fatalf("%v: %d %q", cmd, code, out)
		}
	}
	if out, _, _ := runCmd(t, dir, "", env, "help"); !strings.Contains(out, "widget import [--owner EMAIL] FILE") || !strings.Contains(out, "widget export [FILE]") {
		t.Fatalf("usage lacks the widget commands:\n%s", out)
	}
}

// Every line one engine could refuse where the other stores it (a NUL in
// any field, bytes that are not UTF-8, a line past the limit) is rejected
// with its number and reason on every engine alike, and the import goes
// on; so is a line owned by a disabled administrator. The reports of the
// engines are the same, line for line.
func TestWidgetImportRejectsTheSameLinesOnEveryEngine(t *testing.T) {
	str := func(s string) string {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	line := func(name, infoURL, deadline, owner string, extra ...string) string {
		return fmt.Sprintf(`{"name":%s,"info_url":%s,"deadline":%s,"owner":{"email":%s}%s}`,
			str(name), str(infoURL), str(deadline), str(owner), strings.Join(extra, ""))
	}
	// A line of exactly maxImportLine bytes, and one of a byte more.
	padded := func(name string, size int) string {
		l := line(name, "https://example.com/p", "2030-01-01", "admin@example.com", `,"pad":"`, `"`)
		return strings.Replace(l, `"pad":"`, `"pad":"`+strings.Repeat("x", size-len(l)), 1)
	}
	lines := []string{
		line("first", "https://example.com/1", "2030-01-01", "admin@example.com"),
		line("nul-owner", "https://example.com/2", "2030-01-01", "admin@example.com\x00"),
		line("nul-owner-2", "https://example.com/3", "2030-01-01", "ad\x00min@example.com"),
		line("nul\x00name", "https://example.com/4", "2030-01-01", "admin@example.com"),
		line("nul-url", "https://example.com/\x00", "2030-01-01", "admin@example.com"),
		line("nul-deadline", "https://example.com/6", "2030-01-01\x00", "admin@example.com"),
		line("nul-iso", "https://example.com/7", "2030-01-01", "admin@example.com", `,"deadline_iso8601":"2030-06-01T23:59:59Z\u0000"`),
		line("nul-created", "https://example.com/8", "2030-01-01", "admin@example.com", `,"created_at_iso8601":"2026-01-02T03:04:05Z\u0000"`),
		`{"name":"raw-url","info_url":"https://example.com/` + "\xff\xfe" + `","deadline":"2030-01-01","owner":{"email":"admin@example.com"}}`,
		`{"name":"raw-owner","info_url":"https://example.com/10","deadline":"2030-01-01","owner":{"email":"admin` + "\xc3" + `@example.com"}}`,
		`{"name":"raw-nul` + "\x00" + `","info_url":"https://example.com/11","deadline":"2030-01-01","owner":{"email":"admin@example.com"}}`,
		padded("exactly-the-limit", maxImportLine),
		padded("past-the-limit", maxImportLine+1),
		line("disabled-owner", "https://example.com/14", "2030-01-01", "off@example.com"),
		line("user-owner", "https://example.com/15", "2030-01-01", "user@example.com"),
		line("crlf", "https://example.com/16", "2030-01-01", "admin@example.com") + "\r",
		line("last", "https://example.com/17", "2030-01-01", "ADMIN@example.com"),
	}
	input := strings.Join(lines, "\n") + "\n"
	want := strings.Join([]string{
		"line 2: owner.email: email must be written in printable ASCII characters; internationalized addresses are not supported",
		"line 3: owner.email: email must be written in printable ASCII characters; internationalized addresses are not supported",
		"line 4: name: name must contain only lowercase letters, numbers, '-' and '_' (1 to 100 characters), e.g. my-widget_1",
		"line 5: info_url: info_url must be an absolute http or https URL with a host, e.g. https://www.example.com (at most 255 characters)",
		"line 6: deadline: '2030-01-01\uFFFD' is not a recognized date",
		"line 7: deadline_iso8601: '2030-06-01T23:59:59Z\uFFFD' is not a recognized date",
		"line 8: created_at_iso8601: must be an RFC 3339 time such as 2026-11-28T15:13:02Z",
		"line 9: not valid UTF-8",
		"line 10: not valid UTF-8",
		"line 11: not a JSON object: malformed JSON",
		"line 13: longer than 1048576 bytes",
		"line 14: owner.email: off@example.com is a disabled administrator",
		"line 15: owner.email: user@example.com is not an administrator",
	}, "\n")
	reports := map[string]string{}
	for _, engine := range testdb.Engines(t) {
		t.Run(engine.Name, func(t *testing.T) {
			ctx := context.Background()
			st := engine.Open(t)
			for _, u := range []struct {
				email  string
				admin  bool
				enable bool
			}{{"admin@example.com", true, true}, {"off@example.com", true, false}, {"user@example.com", false, true}} {
				nu := &widgetapi.User{Email: u.email, PasswordHash: []byte("x"), PublicID: uuid.NewString(), Admin: u.admin, RegisteredOn: time.Now()}
				if err := st.CreateUser(ctx, nu, nil, nil); err != nil {
					t.Fatal(err)
				}
				if !u.enable {
					disabled := true
					if _, err := st.UpdateUser(ctx, nu.PublicID, widgetapi.UserUpdate{Disabled: &disabled}, time.Now(), nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			opts := importOptions{Now: time.Now, Location: time.UTC}
			var report bytes.Buffer
			res, err := importWidgets(ctx, st, strings.NewReader(input), opts, &report)
			if err != nil {
				t.Fatalf("the import stopped: %v\n%s", err, report.String())
			}
			got := strings.TrimSuffix(report.String(), "\n")
			reports[engine.Name] = got
			if res != (importResult{Lines: len(lines), Imported: 4, Rejected: len(lines) - 4}) {
				t.Errorf("result %+v", res)
			}
			for _, w := range strings.Split(want, "\n") {
				if !strings.Contains(got, w) {
					t.Errorf("the report lacks %q", w)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != res.Rejected {
				t.Errorf("%d lines reported for %d rejected:\n%s", n, res.Rejected, got)
			}
			items, _, err := st.FindWidgets(ctx, widgetapi.Page{Number: 1, Size: 100})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, w := range items {
				names = append(names, w.Name)
			}
			if want := []string{"first", "exactly-the-limit", "crlf", "last"}; !slices.Equal(names, want) {
				t.Errorf("imported %q, want %q", names, want)
			}

			// --owner names a disabled administrator, or an address with a
			// NUL: one line, before anything is read.
			for owner, why := range map[string]string{
				"off@example.com":       "--owner: off@example.com is a disabled administrator",
				"admin@example.com\x00": "--owner: email must be written in printable ASCII characters; internationalized addresses are not supported",
			} {
				opts.Owner = owner
				if _, err := importWidgets(ctx, st, strings.NewReader(input), opts, io.Discard); err == nil || err.Error() != why {
					t.Errorf("--owner %q: %v, want %q", owner, err, why)
				}
			}
		})
	}
	if len(reports) == 2 && reports["sqlite"] != reports["postgres"] {
		t.Errorf("the engines reported differently:\nsqlite:\n%s\npostgres:\n%s", reports["sqlite"], reports["postgres"])
	}
}

// export FILE writes a new file, 0600, and moves it into place: a file
// already there does not keep its mode, a symbolic link there is replaced
// and what it pointed to is left alone, and nothing is left behind.
// Something that is not a file is refused.
func TestWidgetExportReplacesTheFileItNames(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv("DATA_DIR="+dir, "APP_ENV=testing")
	addAdmin(t, dir, env)
	stdin := `{"name":"exported","info_url":"https://example.com/e","deadline":"2030-01-01"}` + "\n"
	if _, errOut, code := runCmd(t, dir, stdin, env, "widget", "import", "--owner", "admin@example.com", "-"); code != 0 {
		t.Fatal(errOut)
	}
	out := t.TempDir()
	export := func(path string) (string, int) {
		_, errOut, code := runCmd(t, dir, "", env, "widget", "export", path)
		return errOut, code
	}
	wantExport := func(path string) {
		t.Helper()
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s is %v, want a regular file, 0600", path, fi.Mode())
		}
		if b, err := os.ReadFile(path); err != nil || !strings.HasPrefix(string(b), `{"name":"exported"`) {
			t.Fatalf("%s holds %q (%v)", path, b, err)
		}
	}

	// A file readable by everyone, with older content.
	existing := filepath.Join(out, "existing.jsonl")
	if err := os.WriteFile(existing, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o644); err != nil {
		t.Fatal(err)
	}
	if errOut, code := export(existing); code != 0 {
		t.Fatalf("export onto a file: %d %s", code, errOut)
	}
	wantExport(existing)

	// A link to a file someone else reads; and a link to nothing.
	target := filepath.Join(out, "target.txt")
	if err := os.WriteFile(target, []byte("not yours\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link, dangling := filepath.Join(out, "link.jsonl"), filepath.Join(out, "dangling.jsonl")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(out, "nowhere", "x"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, dangling} {
		if errOut, code := export(l); code != 0 {
			t.Fatalf("export onto a link: %d %s", code, errOut)
		}
		wantExport(l)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "not yours\n" {
		t.Fatalf("the link's target now holds %q (%v)", b, err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("the link's target: %v %v", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(out, "nowhere")); !os.IsNotExist(err) {
		t.Fatalf("the dangling link was followed: %v", err)
	}

	// A directory, and a link to a device, are not replaced.
	device := filepath.Join(out, "device.jsonl")
	if err := os.Symlink(os.DevNull, device); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(out, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{device, sub} {
		if errOut, code := export(p); code != 1 || errOut != "widgetapi: widget export: "+p+" is not a regular file; to write to standard output, give - or no FILE\n" {
			t.Fatalf("export onto %s: %d %q", p, code, errOut)
		}
	}
	if l, err := os.Readlink(device); err != nil || l != os.DevNull {
		t.Fatalf("the link to a device: %q %v", l, err)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"dangling.jsonl", "device.jsonl", "existing.jsonl", "link.jsonl", "sub", "target.txt"}; !slices.Equal(names, want) {
		t.Fatalf("the directory holds %q, want %q", names, want)
	}
}
