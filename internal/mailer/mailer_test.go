package mailer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/config"
	"widgetapi/internal/testbin"
	"widgetapi/internal/testsmtp"
)

var from = &mail.Address{Name: "widgetapi", Address: "no-reply@example.com"}

func testMail(id int64) *widgetapi.Mail {
	return &widgetapi.Mail{ID: id, Kind: widgetapi.MailPasswordReset, To: "zoë@example.org",
		Subject: "Réinitialiser le mot de passe", Text: "Ouvrez https://api.example.com/account/reset-password?token=abc\n",
		HTML:     `<p>Ouvrez <a href="https://api.example.com/account/reset-password?token=abc">ce lien</a></p>`,
		QueuedAt: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
}

func transport(srv *testsmtp.Server, s config.SMTP) *SMTP {
	s.Host, s.Port = srv.Host, srv.Port
	return &SMTP{Server: s, From: from, Timeout: 5 * time.Second, TLS: srv.TLSConfig}
}

// checkMessage parses data as the message of m and checks its headers and
// both parts.
func checkMessage(t *testing.T, data []byte, m *widgetapi.Mail) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(h.Get("Subject"))
	to, _ := h.AddressList("To")
	fromGot, _ := h.AddressList("From")
	date, _ := h.Date()
	if subject != m.Subject || len(to) != 1 || to[0].Address != m.To || len(fromGot) != 1 || fromGot[0].Address != from.Address ||
		!date.Equal(m.QueuedAt) || h.Get("Message-Id") != "<"+MessageID(m, from)+">" {
		t.Fatalf("headers: %v", h)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q", h.Get("Content-Type"))
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	want := []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}}
	for _, w := range want {
		p, err := r.NextPart() // decodes quoted-printable
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body, _ := io.ReadAll(p)
		if ct != w.typ || !strings.EqualFold(cp["charset"], "utf-8") || strings.TrimRight(string(body), "\r\n") != strings.TrimRight(w.body, "\n") {
			t.Fatalf("part %s: %q %q", w.typ, p.Header, body)
		}
	}
	if _, err := r.NextPart(); err != io.EOF {
		t.Fatalf("a third part: %v", err)
	}
}

func TestSMTPDeliversBothParts(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{})
	m := testMail(42)
	answer, err := transport(srv, config.SMTP{}).Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "queued") {
		t.Errorf("answer %q", answer)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].From != from.Address || len(got[0].To) != 1 || got[0].To[0] != m.To || got[0].TLS {
		t.Fatalf("delivered %+v", got)
	}
	checkMessage(t, got[0].Data, m)
	if id := MessageID(m, from); id != "outbox-42-1796551200@example.com" {
		t.Errorf("Message-ID %q", id)
	}
}

func TestSMTPStartTLSAndAuth(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{TLS: true, Username: "mailer", Password: "s3cret"})
	tr := transport(srv, config.SMTP{Username: "mailer", Password: "s3cret", RequireSTARTTLS: true})
	if _, err := tr.Send(context.Background(), testMail(1)); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || !got[0].TLS || !got[0].Auth {
		t.Fatalf("delivered %+v", got)
	}
	// A wrong password is a passing failure: an operator mends SMTP_URL
	// and the queue goes out.
	tr = transport(srv, config.SMTP{Username: "mailer", Password: "wrong"})
	if _, err := tr.Send(context.Background(), testMail(2)); err == nil || IsPermanent(err) {
		t.Fatalf("wrong password: %v (permanent %v)", err, IsPermanent(err))
	}
	// A certificate the client does not trust is refused, never sent past.
	tr = transport(srv, config.SMTP{Username: "mailer", Password: "s3cret"})
	tr.TLS = nil
	if _, err := tr.Send(context.Background(), testMail(3)); err == nil || IsPermanent(err) {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{ImplicitTLS: true, Username: "mailer", Password: "s3cret"})
	tr := transport(srv, config.SMTP{ImplicitTLS: true, Username: "mailer", Password: "s3cret"})
	if _, err := tr.Send(context.Background(), testMail(1)); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || !got[0].TLS || !got[0].Auth {
		t.Fatalf("delivered %+v", got)
	}
}

// A server that stops answering is a passing failure, after the timeout.
func TestSMTPTimeout(t *testing.T) {
	stuck := make(chan struct{})
	srv := testsmtp.Start(t, testsmtp.Options{Answer: func(string, int) error { <-stuck; return nil }})
	t.Cleanup(func() { close(stuck) })
	tr := transport(srv, config.SMTP{})
	tr.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := tr.Send(context.Background(), testMail(1))
	if err == nil || IsPermanent(err) || time.Since(start) > 10*time.Second {
		t.Fatalf("a stuck server: %v after %s", err, time.Since(start))
	}
}

func TestSMTPRequireSTARTTLSRefusesAPlainServer(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{})
	_, err := transport(srv, config.SMTP{RequireSTARTTLS: true}).Send(context.Background(), testMail(1))
	if err == nil || IsPermanent(err) || len(srv.Messages()) != 0 {
		t.Fatalf("sent in the clear: %v", err)
	}
}

func TestSMTPClassifiesFailures(t *testing.T) {
	for _, c := range []struct {
		name      string
		opts      testsmtp.Options
		permanent bool
	}{
		{"550 to the recipient", testsmtp.Options{Answer: testsmtp.Reply("rcpt", 550)}, true},
		{"554 to the data", testsmtp.Options{Answer: testsmtp.Reply("data", 554)}, true},
		{"451 to the data", testsmtp.Options{Answer: testsmtp.Reply("data", 451)}, false},
		{"421 to the recipient", testsmtp.Options{Answer: testsmtp.Reply("rcpt", 421)}, false},
		{"dropped mid-DATA", testsmtp.Options{Drop: func(int) bool { return true }}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := testsmtp.Start(t, c.opts)
			_, err := transport(srv, config.SMTP{}).Send(context.Background(), testMail(1))
			if err == nil || IsPermanent(err) != c.permanent {
				t.Fatalf("err %v, permanent %v, want %v", err, IsPermanent(err), c.permanent)
			}
			if strings.Contains(Reason(err), "token=") {
				t.Errorf("the reason holds the body: %s", Reason(err))
			}
		})
	}
	// A server that is not there.
	srv := testsmtp.Start(t, testsmtp.Options{})
	tr := transport(srv, config.SMTP{})
	tr.Server.Port = testbin.FreePort(t)
	if _, err := tr.Send(context.Background(), testMail(1)); err == nil || IsPermanent(err) {
		t.Fatalf("connection refused: %v", err)
	}
}

func TestFilesWritesOneEMLAMail(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	f := &Files{Dir: dir, From: from, Now: func() time.Time { now = now.Add(time.Millisecond); return now }}
	for id := int64(1); id <= 3; id++ {
		where, err := f.Send(context.Background(), testMail(id))
		if err != nil || !strings.Contains(where, dir) {
			t.Fatal(where, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 3 {
		t.Fatalf("%v %v", entries, err)
	}
	for i, e := range entries { // ReadDir sorts by name: the order of sending
		if !strings.HasSuffix(e.Name(), "-"+string(rune('1'+i))+".eml") {
			t.Errorf("file %d is %s", i, e.Name())
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		checkMessage(t, data, testMail(int64(i+1)))
	}
}

func TestNewPicksTheTransport(t *testing.T) {
	cfg := config.Config{Env: config.Production}
	if tr := New(cfg); tr != nil {
		t.Fatalf("production without SMTP_URL: %v", tr)
	}
	cfg.SMTP = &config.SMTP{Host: "mail.example.com", Port: 587}
	if tr := New(cfg); tr == nil || tr.String() != "smtp mail.example.com:587" {
		t.Fatalf("with SMTP_URL: %v", tr)
	}
	cfg = config.Config{Env: config.Development, DataDir: "/var/lib/widgetapi"}
	if tr := New(cfg); tr == nil || tr.String() != "files in /var/lib/widgetapi/mail" {
		t.Fatalf("development: %v", tr)
	}
}

func TestIsPermanentSeesThroughWrapping(t *testing.T) {
	if !IsPermanent(errors.Join(errors.New("x"), Permanent(errors.New("550")))) || IsPermanent(errors.New("451")) {
		t.Fatal("IsPermanent")
	}
}
