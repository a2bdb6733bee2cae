// Package testmailpit runs Mailpit (github.com/axllent/mailpit, a Go
// program: an SMTP server with an HTTP API to read what arrived) for the
// tests that need a mail server outside their own process. The binary is
// the one WIDGETAPI_TEST_MAILPIT names; .ci/run installs it.
package testmailpit

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"widgetapi/internal/testbin"
)

// Var names the variable that holds the path of the mailpit binary.
const Var = "WIDGETAPI_TEST_MAILPIT"

// Mailpit is a Mailpit process on free ports of 127.0.0.1, its messages in
// a database of its own that outlives a Stop, so that a Restart keeps
// what arrived before.
type Mailpit struct {
	t                  testing.TB
	bin, db            string
	SMTPPort, HTTPPort int
	cmd                *exec.Cmd
	done               chan error
}

// Start starts Mailpit, stopped when the test ends. Without
// WIDGETAPI_TEST_MAILPIT it skips the test, or fails it under CI=true.
func Start(t testing.TB) *Mailpit {
	t.Helper()
	bin := os.Getenv(Var)
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI=true: the mail process tests cannot be skipped in CI", Var)
		}
		t.Skipf("mail process tests skipped: set %s to the path of mailpit (go install github.com/axllent/mailpit@v1.33.1)", Var)
	}
	m := &Mailpit{t: t, bin: bin, db: filepath.Join(t.TempDir(), "mailpit.db"),
		SMTPPort: testbin.FreePort(t), HTTPPort: testbin.FreePort(t)}
	m.start()
	t.Cleanup(func() {
		if m.cmd != nil {
			_ = m.cmd.Process.Kill()
			<-m.done
		}
	})
	return m
}

// SMTPURL is the SMTP_URL of the server.
func (m *Mailpit) SMTPURL() string { return "smtp://127.0.0.1:" + strconv.Itoa(m.SMTPPort) }

func (m *Mailpit) api() string { return "http://127.0.0.1:" + strconv.Itoa(m.HTTPPort) + "/api/v1" }

func (m *Mailpit) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "--smtp", "127.0.0.1:"+strconv.Itoa(m.SMTPPort), "--listen", "127.0.0.1:"+strconv.Itoa(m.HTTPPort),
		"--database", m.db, "--max", "0", "--quiet")
	m.cmd.Stdout, m.cmd.Stderr = os.Stderr, os.Stderr
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mailpit: %v", err)
	}
	m.done = make(chan error, 1)
	go func() { m.done <- m.cmd.Wait() }()
	// Ready when both its ports answer.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(m.SMTPPort), time.Second)
		if err == nil {
			c.Close()
			if _, err = m.total(); err == nil {
				return
			}
		}
		select {
		case err := <-m.done:
			m.cmd = nil
			m.t.Fatalf("mailpit exited before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mailpit not ready in 30 s: %v", err)
		}
	}
}

// Stop stops the server (SIGTERM) and waits until it has exited.
func (m *Mailpit) Stop() {
	m.t.Helper()
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		m.t.Fatal("mailpit did not stop")
	}
	m.cmd = nil
}

// Restart starts the server again on the same ports and database.
func (m *Mailpit) Restart() { m.t.Helper(); m.start() }

func (m *Mailpit) get(path string, into any) error {
	resp, err := http.Get(m.api() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

func (m *Mailpit) total() (int, error) {
	var page struct {
		Total int `json:"total"`
	}
	err := m.get("/messages?limit=1", &page)
	return page.Total, err
}

// Message is what the tests read of a message that arrived.
type Message struct {
	// ID is Mailpit's own, for Text.
	ID        string
	MessageID string
	To        []struct{ Address string }
	Subject   string
}

// Messages returns every message that arrived.
func (m *Mailpit) Messages() []Message {
	m.t.Helper()
	var all []Message
	for start := 0; ; start += 500 {
		var page struct {
			Total    int       `json:"total"`
			Messages []Message `json:"messages"`
		}
		if err := m.get("/messages?limit=500&start="+strconv.Itoa(start), &page); err != nil {
			m.t.Fatal(err)
		}
		all = append(all, page.Messages...)
		if len(page.Messages) == 0 || len(all) >= page.Total {
			return all
		}
	}
}

// Wait polls until at least n messages have arrived and returns them all;
// it fails the test after timeout.
func (m *Mailpit) Wait(n int, timeout time.Duration) []Message {
	m.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := m.total()
		if err == nil && got >= n {
			return m.Messages()
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mailpit holds %d messages (%v) after %s, want %d", got, err, timeout, n)
		}
		time.Sleep(100 * time.Millisecond) // Mailpit tells of no arrival: poll it
	}
}

// Text returns the plain-text part of the message with Mailpit's id, as
// Mailpit decodes it (no transfer encoding left).
func (m *Mailpit) Text(id string) string {
	m.t.Helper()
	var msg struct{ Text string }
	if err := m.get("/message/"+id, &msg); err != nil {
		m.t.Fatal(err)
	}
	return msg.Text
}
