package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	if _, errOut, code := runCmd(t, dir, "admin-pass\n", env, "user", "add", "admin@example.com", "--admin", "--password-stdin"); code != 0 {
		t.Fatal(errOut)
	}
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
