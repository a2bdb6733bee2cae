package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"widgetapi/internal/testdb"
	"widgetapi/internal/testload"
)

// writeLog records the writes the service acknowledged, so that a test can
// take the set acknowledged before a given moment.
type writeLog struct {
	mu      sync.Mutex
	users   []string
	widgets []string
	// reached is closed once at least want users and want widgets are in.
	want    int
	reached chan struct{}
	once    sync.Once
}

func (l *writeLog) add(user, widget string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if user != "" {
		l.users = append(l.users, user)
	}
	if widget != "" {
		l.widgets = append(l.widgets, widget)
	}
	if len(l.users) >= l.want && len(l.widgets) >= l.want {
		l.once.Do(func() { close(l.reached) })
	}
}

func (l *writeLog) snapshot() (users, widgets []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.users...), append([]string(nil), l.widgets...)
}

// TestBackupUnderLoadRestores backs up the database of a serving process
// under a write load, restores the copy into a fresh data directory as
// docs/operations.md says, and finds there every write acknowledged before
// the backup began.
func TestBackupUnderLoadRestores(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv("APP_ENV=testing", "TOKEN_TTL=1h", "AUTH_RATE_LIMIT=0",
		"SECRET_KEY=backup-test-key-0123456789abcdef0123")
	addAdmin(t, dir, env)
	s := startServer(t, dir, env)
	admin := adminToken(t, s)

	// Three writers register users and create widgets, a reader lists
	// widgets, until stopped.
	acked := &writeLog{want: 150, reached: make(chan struct{})}
	var failures sync.Map
	stopLoad := testload.Repeat(4, func(g, i int) bool {
		if g == 3 { // the reader
			if code := sendStatus("GET", s.URL+"/api/v1/widgets?per_page=50", admin, nil); code != 200 {
				failures.Store("list", code)
			}
			return true
		}
		email := fmt.Sprintf("load-%d-%d@example.com", g, i)
		if code := postStatus(s.URL+"/api/v1/auth/register", "", creds(email, "password1")); code == 201 {
			acked.add(email, "")
		} else {
			failures.Store("register "+email, code)
		}
		name := fmt.Sprintf("load-%d-%d", g, i)
		if code := postStatus(s.URL+"/api/v1/widgets", admin, widgetForm(name, "https://example.com/"+name, "2099-01-01")); code == 201 {
			acked.add("", name)
		} else {
			failures.Store("widget "+name, code)
		}
		return true
	})
	defer stopLoad()

	select {
	case <-acked.reached:
	case <-time.After(60 * time.Second):
		t.Fatal("the load did not get going")
	}
	users, widgets := acked.snapshot()
	backupPath := filepath.Join(t.TempDir(), "widgetapi.db")
	out, errOut, code := runCmd(t, dir, "", env, "backup", backupPath)
	after, afterWidgets := acked.snapshot()
	stopLoad()
	if code != 0 || errOut != "" || strings.Count(out, "\n") != 1 ||
		!strings.Contains(out, backupPath) || !strings.Contains(out, " bytes") {
		t.Fatalf("backup: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	t.Logf("%s(%d users and %d widgets acknowledged before it, %d more during it)",
		out, len(users), len(widgets), len(after)+len(afterWidgets)-len(users)-len(widgets))
	failures.Range(func(k, v any) bool {
		t.Errorf("%v: status %v during the backup (serve must keep serving)", k, v)
		return true
	})

	// Restore as docs/operations.md says: stop the service, put the copy in
	// place in the data directory, without -wal or -shm files beside it,
	// and start the service.
	s.Terminate()
	fresh := t.TempDir()
	target := filepath.Join(fresh, "data", "widgetapi-testing.db")
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, backupPath, target)
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(target + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s2 := startServer(t, fresh, env)
	for _, email := range append(users, "admin@example.com") {
		password := "password1"
		if email == "admin@example.com" {
			password = "admin-pass"
		}
		if code := postStatus(s2.URL+"/api/v1/auth/login", "", creds(email, password)); code != 200 {
			t.Errorf("user %s, acknowledged before the backup, cannot log in after the restore: %d", email, code)
		}
	}
	for _, name := range widgets {
		if code := sendStatus("GET", s2.URL+"/api/v1/widgets/"+name, admin, nil); code != 200 {
			t.Errorf("widget %s, acknowledged before the backup, is missing after the restore: %d", name, code)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantOneLine checks that a failed command said why on exactly one line.
func wantOneLine(t *testing.T, what, stderr string, code int, want string) {
	t.Helper()
	if code == 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
		t.Fatalf("%s: exit %d, stderr %q; want a non-zero exit and one line containing %q", what, code, stderr, want)
	}
}

func TestBackupRefusesPostgres(t *testing.T) {
	env := baseEnv("DATABASE_URL=" + testdb.PostgresURL(t))
	dir := t.TempDir()
	out, errOut, code := runCmd(t, dir, "", env, "backup", "copy.db")
	wantOneLine(t, "backup on PostgreSQL", errOut, code, "pg_dump")
	if out != "" {
		t.Fatalf("stdout %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "copy.db")); !os.IsNotExist(err) {
		t.Fatalf("a refused backup wrote its file: %v", err)
	}
}

func TestBackupKeepsAnExistingFileUnlessForced(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv("APP_ENV=testing")
	if _, errOut, code := runCmd(t, dir, "", env, "migrate", "up"); code != 0 {
		t.Fatal(errOut)
	}
	path := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(path, []byte("yesterday's backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCmd(t, dir, "", env, "backup", path)
	wantOneLine(t, "backup over an existing file", errOut, code, "--force")
	if b, _ := os.ReadFile(path); string(b) != "yesterday's backup" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	out, errOut, code := runCmd(t, dir, "", env, "backup", "--force", path)
	if code != 0 || errOut != "" || !strings.Contains(out, path) {
		t.Fatalf("backup --force: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() < 4096 {
		t.Fatalf("after --force: %v %v", fi, err)
	}
}

func TestBackupOfACorruptDatabaseFails(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv("APP_ENV=testing")
	if _, errOut, code := runCmd(t, dir, "", env, "migrate", "up"); code != 0 {
		t.Fatal(errOut)
	}
	// Widgets, so that the file ends in pages of their rows and indexes,
	// whatever pages the schema takes as migrations come.
	addAdmin(t, dir, env)
	var lines strings.Builder
	for i := range 400 {
		fmt.Fprintf(&lines, `{"name":"corrupt-%03d","info_url":"https://example.com/%d","deadline":"2099-01-01"}`+"\n", i, i)
	}
	if _, errOut, code := runCmd(t, dir, lines.String(), env, "widget", "import", "--owner", "admin@example.com", "-"); code != 0 {
		t.Fatal(errOut)
	}
	live := filepath.Join(dir, "data", "widgetapi-testing.db")
	good, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	// The last two pages overwritten: the header and the schema still say
	// SQLite and name every table, the pages of widgets at the end are
	// garbage.
	corrupt := append([]byte(nil), good...)
	for i := len(corrupt) - 2*4096; i < len(corrupt); i++ {
		corrupt[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name    string
		content []byte
		want    string
	}{
		{"not a database", []byte(strings.Repeat("this is not a database\n", 500)), "not a database"},
		{"corrupt pages", corrupt, "integrity_check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "src.db")
			if err := os.WriteFile(src, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".db")
			out, errOut, code := runCmd(t, dir, "", append(env, "DATABASE_URL=sqlite:///"+src), "backup", path)
			wantOneLine(t, "backup of "+tc.name, errOut, code, tc.want)
			t.Logf("%s: %s", tc.name, strings.TrimSpace(errOut))
			if out != "" {
				t.Fatalf("stdout %q", out)
			}
			if left, _ := filepath.Glob(path + "*"); len(left) > 0 {
				t.Fatalf("a failed backup left %v", left)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(left) > 0 {
				t.Fatalf("a failed backup left %v", left)
			}
		})
	}
}

func TestBackupHelp(t *testing.T) {
	out, _, code := runCmd(t, t.TempDir(), "", baseEnv(), "backup", "--help")
	for _, want := range []string{"Usage: widgetapi backup", "--force", "-data-dir", "DATABASE_URL", "pg_dump", "integrity_check"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("backup --help: exit %d, no %q in:\n%s", code, want, out)
		}
	}
	_, errOut, code := runCmd(t, t.TempDir(), "", baseEnv(), "backup")
	if code != 2 || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("backup without PATH: exit %d, stderr %q", code, errOut)
	}
}
