package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/mailer"
	"widgetapi/internal/outbox"
	"widgetapi/internal/store"
	"widgetapi/internal/testbin"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
	"widgetapi/internal/testmailpit"
	"widgetapi/internal/testsmtp"
	"widgetapi/postgres"
)

// serveMailLine runs serve in this process with env until it prints where
// mail goes, and returns that line.
func serveMailLine(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := newLineWatch("  mail: "), &testlog.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, envMap(env), strings.NewReader(""), stdout, stderr)
	}()
	var line string
	select {
	case line = <-stdout.found:
	case err := <-done:
		t.Fatalf("serve returned before its mail line: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve printed no mail line; stderr:\n%s", stderr.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(line)
}

// serve's start line says where mail goes, or that it is off.
func TestServeSaysWhereMailGoes(t *testing.T) {
	dir := t.TempDir()
	if got := serveMailLine(t, map[string]string{"APP_ENV": "testing", "DATA_DIR": dir}); got != "mail: files in "+dir+"/mail" {
		t.Errorf("without SMTP_URL: %q", got)
	}
	srv := testsmtp.Start(t, testsmtp.Options{})
	if got := serveMailLine(t, map[string]string{"APP_ENV": "testing", "DATA_DIR": dir, "SMTP_URL": "smtp://" + srv.Addr()}); got != "mail: smtp "+srv.Addr() {
		t.Errorf("with SMTP_URL: %q", got)
	}
	prod := map[string]string{"APP_ENV": "production", "DATA_DIR": dir, "SECRET_KEY": "production-key-0123456789-0123456789"}
	if got := serveMailLine(t, prod); got != "mail: off (no SMTP_URL)" {
		t.Errorf("production without SMTP_URL: %q", got)
	}
}

// sharedOutbox opens the outbox of the database the processes share.
func sharedOutbox(t testing.TB, dbURL string) store.Store {
	t.Helper()
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{MaxConns: 4, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store.New(db)
}

var outboxFrom = &mail.Address{Name: "widgetapi", Address: "no-reply@example.com"}

// mailpitDeployment starts Mailpit and makes a fresh PostgreSQL schema,
// and returns the environment of serve processes that share both (under
// APP_ENV=testing, with more added).
func mailpitDeployment(t testing.TB, more ...string) (*testmailpit.Mailpit, string, []string) {
	t.Helper()
	mp := testmailpit.Start(t)
	dbURL := testdb.FreshSchemaURL(t)
	env := baseEnv(append([]string{"DATABASE_URL=" + dbURL, "APP_ENV=testing", "SECRET_KEY=shared-key-of-the-deployment-0123456789",
		"SMTP_URL=" + mp.SMTPURL(), "MAIL_FROM=" + outboxFrom.String()}, more...)...)
	return mp, dbURL, env
}

// queueMails queues n mails to batch-i@example.org, in transactions of 50
// as flows would, and returns the Message-IDs they will bear.
func queueMails(t testing.TB, st store.Store, batch string, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i += 50 {
		var mails []*widgetapi.Mail
		for j := i; j < min(n, i+50); j++ {
			mails = append(mails, &widgetapi.Mail{Kind: widgetapi.MailVerifyEmail, To: fmt.Sprintf("%s-%d@example.org", batch, j),
				Subject: "Verify your address", Text: "text", HTML: "<p>html</p>", QueuedAt: time.Now()})
		}
		if err := st.QueueMail(context.Background(), mails...); err != nil {
			t.Fatal(err)
		}
		for _, m := range mails {
			ids = append(ids, mailer.MessageID(m, outboxFrom))
		}
	}
	return ids
}

// arrivals counts the messages that arrived by Message-ID, and fails the
// test when one of want is missing or one arrived that no one sent.
func arrivals(t *testing.T, got []testmailpit.Message, want []string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, m := range got {
		n[m.MessageID]++
	}
	for _, id := range want {
		if n[id] == 0 {
			t.Fatalf("%s did not arrive (%d messages, %d distinct)", id, len(got), len(n))
		}
	}
	if len(n) != len(want) {
		t.Fatalf("%d distinct messages arrived, %d were sent", len(n), len(want))
	}
	return n
}

// killMidDelivery kills srv (SIGKILL) at a moment it holds claimed mail:
// it is stopped (SIGSTOP) until the outbox shows a live claim, which it
// alone can hold, then killed.
func killMidDelivery(t *testing.T, srv *server, dbURL string) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for range 200 {
		if err := srv.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		var claimed int
		if err := db.QueryRow(`SELECT count(*) FROM mail_outbox
			WHERE claimed_until > now() AND sent_at IS NULL AND failed_at IS NULL`).Scan(&claimed); err != nil {
			t.Fatal(err)
		}
		if claimed > 0 {
			if err := srv.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-srv.Done
			return
		}
		if err := srv.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // let it run into its next batch
	}
	t.Fatal("the process never held a claim when stopped")
}

// Three serve processes on one PostgreSQL deliver a shared outbox to
// Mailpit: each mail exactly once; every mail after Mailpit was down for
// 20 s; and every mail after one process was killed mid-queue.
func TestOutboxThreeProcessesToMailpit(t *testing.T) {
	if os.Getenv(testbin.TokenAlgVar) != "" {
		t.Skip("mail does not depend on TOKEN_ALG: run in the main pass only")
	}
	mp, dbURL, env := mailpitDeployment(t, "TOKEN_TTL=1h", "LOG_FORMAT=json")
	s := startProcesses(t, 3, env)
	st := sharedOutbox(t, dbURL)

	// 300 mails: each arrives once.
	want := queueMails(t, st, "a", 300)
	for id, n := range arrivals(t, mp.Wait(len(want), 2*time.Minute), want) {
		if n != 1 {
			t.Fatalf("%s arrived %d times", id, n)
		}
	}

	// A mail is in Mailpit a moment before its sender has marked it sent.
	waitFor(t, 30*time.Second, "widgetapi_mail_sent_total to add up to 300 and widgetapi_mail_queued to be 0", func() bool {
		sent, queued := 0.0, 0.0
		for _, srv := range s {
			sent += metricValue(t, srv.URL, "widgetapi_mail_sent_total")
			queued += metricValue(t, srv.URL, "widgetapi_mail_queued")
		}
		return sent == 300 && queued == 0
	})

	// Mailpit down for 20 s while mail is queued: every mail arrives once
	// it is back, each once (a refused connection delivered nothing).
	mp.Stop()
	down := time.Now()
	queued := queueMails(t, st, "b", 100)
	want = append(want, queued...)
	time.Sleep(time.Until(down.Add(20 * time.Second))) // the outage itself
	if q, _, err := st.MailQueue(context.Background()); err != nil || q != 100 {
		t.Fatalf("queue while Mailpit is down: %d %v", q, err)
	}
	retried := 0.0
	for _, srv := range s {
		retried += metricValue(t, srv.URL, "widgetapi_mail_retried_total")
	}
	if q, age := metricValue(t, s[0].URL, "widgetapi_mail_queued"), metricValue(t, s[0].URL, "widgetapi_mail_oldest_queued_seconds"); q != 100 || age < 15 || retried < 100 {
		t.Fatalf("while Mailpit is down: queued %v, oldest %v s, retried %v", q, age, retried)
	}
	mp.Restart()
	for id, n := range arrivals(t, mp.Wait(len(want), 2*time.Minute), want) {
		if n != 1 {
			t.Fatalf("%s arrived %d times", id, n)
		}
	}

	// One process killed with mail queued and in flight: the other two
	// stop (SIGTERM), so that it alone sends, and it is killed once some
	// of the mail has arrived, at a moment it holds claims. Every mail arrives once the three run again
	// (its claims lapse after outbox.DefaultClaimFor); a duplicate is
	// possible only for a mail whose delivery the kill cut, at most one a
	// worker.
	for i, srv := range s[1:] {
		if code := srv.Stop(syscall.SIGTERM); code != 0 {
			t.Fatalf("process %d exited %d; stderr:\n%s", i+1, code, srv.Stderr.String())
		}
	}
	before := len(want)
	want = append(want, queueMails(t, st, "c", 1000)...)
	mp.Wait(before+20, time.Minute)
	killMidDelivery(t, s[0], dbURL)
	for i := range s {
		s[i] = startServer(t, t.TempDir(), env)
	}
	dups := 0
	for _, n := range arrivals(t, mp.Wait(len(want), outbox.DefaultClaimFor+2*time.Minute), want) {
		dups += n - 1
	}
	if dups > outbox.DefaultWorkers {
		t.Fatalf("%d duplicates after one kill", dups)
	}
	// A mail is in Mailpit a moment before its sender has marked it sent.
	waitFor(t, 30*time.Second, "an empty outbox at the end", func() bool {
		q, _, err := st.MailQueue(context.Background())
		return err == nil && q == 0
	})
	for i, srv := range s {
		if code := srv.Stop(syscall.SIGTERM); code != 0 {
			t.Fatalf("process %d exited %d; stderr:\n%s", i, code, srv.Stderr.String())
		}
		if logs := srv.Stderr.String(); strings.Contains(logs, "@example.org") {
			t.Fatalf("process %d logged an address:\n%s", i, logs)
		}
	}
}

// BenchmarkOutboxToMailpit measures how fast three serve processes on one
// PostgreSQL deliver a shared outbox to a local Mailpit: mails/s from the
// first mail queued to the last arrived, 3,000 mails an iteration. Run it
// with docs/benchmarks.md's command (-benchtime=1x or more).
func BenchmarkOutboxToMailpit(b *testing.B) {
	const perIteration = 3000
	mp, dbURL, env := mailpitDeployment(b, "LOG_LEVEL=warn")
	startProcesses(b, 3, env)
	st := sharedOutbox(b, dbURL)
	total, elapsed := 0, time.Duration(0)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		queueMails(b, st, fmt.Sprintf("bench%d", i), perIteration)
		total += perIteration
		mp.Wait(total, 5*time.Minute)
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "mails/s")
}
