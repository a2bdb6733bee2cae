package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"widgetapi/internal/testbin"
	"widgetapi/internal/testsmtp"
)

// `mail test` through an SMTP server prints its answer; the mail is there.
func TestRunMailTestThroughSMTP(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{})
	env := map[string]string{"APP_ENV": "testing", "SMTP_URL": "smtp://" + srv.Addr(), "MAIL_FROM": "ops <ops@example.com>"}
	out, errOut, err := runIn(t, env, "mail", "test", "bob@example.org")
	if err != nil || errOut != "" || !strings.Contains(out, "through smtp "+srv.Addr()+": ") || !strings.Contains(out, "queued") {
		t.Fatalf("mail test: %v, %q, %q", err, out, errOut)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].To[0] != "bob@example.org" || got[0].From != "ops@example.com" ||
		!strings.Contains(string(got[0].Data), "Subject: widgetapi test mail") {
		t.Fatalf("delivered %+v", got)
	}
}

// Without SMTP_URL outside production, `mail test` writes a .eml file.
func TestRunMailTestIntoFiles(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runIn(t, map[string]string{"APP_ENV": "development", "DATA_DIR": dir}, "mail", "test", "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
	if len(files) != 1 || !strings.Contains(out, "written to "+files[0]) {
		t.Fatalf("files %v, stdout %q", files, out)
	}
	data, _ := os.ReadFile(files[0])
	if !strings.Contains(string(data), "To: <bob@example.org>") {
		t.Fatalf("file:\n%s", data)
	}
}

// A failure is one line and a non-zero exit; so is production without a
// server; a bad address is a usage error.
func TestRunMailTestFailures(t *testing.T) {
	port := strconv.Itoa(testbin.FreePort(t))
	_, _, err := runIn(t, map[string]string{"APP_ENV": "testing", "SMTP_URL": "smtp://127.0.0.1:" + port}, "mail", "test", "bob@example.org")
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("a server that is not there: %v", err)
	}
	_, _, err = runIn(t, map[string]string{"APP_ENV": "production"}, "mail", "test", "bob@example.org")
	if err == nil || !strings.Contains(err.Error(), "mail is off") {
		t.Fatalf("production without SMTP_URL: %v", err)
	}
	_, errOut, err := runIn(t, nil, "mail", "test", "not an address")
	if err != errUsage || !strings.Contains(errOut, "is not an address") {
		t.Fatalf("a bad address: %v %q", err, errOut)
	}
}
