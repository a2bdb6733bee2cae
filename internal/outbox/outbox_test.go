package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"widgetapi"
	"widgetapi/internal/config"
	"widgetapi/internal/mailer"
	"widgetapi/internal/outbox"
	"widgetapi/internal/testclock"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
	"widgetapi/internal/testsmtp"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var (
	t0   = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	from = &mail.Address{Name: "widgetapi", Address: "no-reply@example.com"}
)

// rig is a sender over a fresh store, delivering to an in-process server,
// on a clock that moves only when the test moves it.
type rig struct {
	st     testdb.Store
	srv    *testsmtp.Server
	clock  *testclock.Clock
	sender *outbox.Sender
	logs   *testlog.Buffer
}

// checkLogs checks that the log names no body and no whole address.
func (r *rig) checkLogs(t *testing.T, mails ...*widgetapi.Mail) {
	t.Helper()
	logs := r.logs.String()
	for _, m := range mails {
		if strings.Contains(logs, "SECRET") || strings.Contains(logs, m.To) {
			t.Fatalf("the log holds a body or an address:\n%s", logs)
		}
	}
	if !strings.Contains(logs, "domain=example.org") {
		t.Fatalf("the log does not name the domain:\n%s", logs)
	}
}

func newRig(t *testing.T, st testdb.Store, opts testsmtp.Options, retryFor time.Duration) *rig {
	srv := testsmtp.Start(t, opts)
	clock := testclock.New(t0)
	tr := &mailer.SMTP{Server: config.SMTP{Host: srv.Host, Port: srv.Port}, From: from, Timeout: 5 * time.Second}
	logs := &testlog.Buffer{}
	s := outbox.New(outbox.Config{Store: st, Transport: tr, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Now: clock.Now, RetryFor: retryFor})
	return &rig{st: st, srv: srv, clock: clock, sender: s, logs: logs}
}

func (r *rig) queue(t *testing.T, n int) []*widgetapi.Mail {
	t.Helper()
	var mails []*widgetapi.Mail
	for i := range n {
		mails = append(mails, &widgetapi.Mail{Kind: widgetapi.MailVerifyEmail, To: fmt.Sprintf("user%d@example.org", i),
			Subject: "Verify", Text: "secret link https://x/account/verify-email?token=SECRET", HTML: "<p>SECRET</p>",
			QueuedAt: r.clock.Now()})
	}
	if err := r.st.QueueMail(context.Background(), mails...); err != nil {
		t.Fatal(err)
	}
	return mails
}

// once runs one claim and delivery and checks how many mails it claimed.
func (r *rig) once(t *testing.T, want int) {
	t.Helper()
	n, err := r.sender.RunOnce(context.Background())
	if err != nil || n != want {
		t.Fatalf("at +%s RunOnce claimed %d (%v), want %d", r.clock.Now().Sub(t0), n, err, want)
	}
}

func (r *rig) row(t *testing.T, id int64) *widgetapi.Mail {
	t.Helper()
	m, err := r.st.OutboxMail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (r *rig) counter(name string) float64 {
	for _, c := range r.sender.Collectors() {
		if d := describe(c); d == name {
			return testutil.ToFloat64(c)
		}
	}
	panic(name)
}

func describe(c prometheus.Collector) string {
	ch := make(chan *prometheus.Desc, 4)
	c.Describe(ch)
	close(ch)
	d := (<-ch).String()
	var name string
	fmt.Sscanf(d[len(`Desc{fqName: "`):], "%s", &name)
	return name[:len(name)-2] // strip `",`
}

func failedEvents(t *testing.T, st testdb.Store) []*widgetapi.Event {
	t.Helper()
	list, _, err := st.ListEvents(context.Background(), widgetapi.EventFilter{Action: widgetapi.ActionMailFailed},
		widgetapi.Page{Number: 1, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestDelivered(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		r := newRig(t, st, testsmtp.Options{}, 0)
		m := r.queue(t, 1)[0]
		r.once(t, 1)
		got := r.srv.Messages()
		if len(got) != 1 || got[0].To[0] != m.To {
			t.Fatalf("delivered %+v", got)
		}
		row := r.row(t, m.ID)
		if !row.SentAt.Equal(t0) || row.Attempts != 1 || !row.FailedAt.IsZero() {
			t.Fatalf("row %+v", row)
		}
		r.once(t, 0) // sent is sent
		if r.counter("widgetapi_mail_sent_total") != 1 {
			t.Error("sent_total")
		}
	})
}

func TestTemporaryFailuresAreRetriedWithGrowingDelays(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		// The first attempt gets 421 to its recipient, the second 451 to
		// its data; the third goes through.
		r := newRig(t, st, testsmtp.Options{Answer: func(stage string, n int) error {
			switch n {
			case 1:
				return testsmtp.Reply("rcpt", 421)(stage, n)
			case 2:
				return testsmtp.Reply("data", 451)(stage, n)
			}
			return nil
		}}, 0)
		m := r.queue(t, 1)[0]
		r.once(t, 1)
		if row := r.row(t, m.ID); row.Attempts != 1 || !row.SentAt.IsZero() || row.LastError == "" {
			t.Fatalf("after a 421: %+v", row)
		}
		// The first retry 5 s later, the next 10 s after that.
		for _, delay := range []time.Duration{5 * time.Second, 10 * time.Second} {
			r.clock.Advance(delay - time.Second)
			r.once(t, 0)
			r.clock.Advance(time.Second)
			r.once(t, 1)
		}
		row := r.row(t, m.ID)
		if row.Attempts != 3 || !row.SentAt.Equal(t0.Add(15*time.Second)) || len(r.srv.Messages()) != 1 {
			t.Fatalf("after recovering: %+v, %d delivered", row, len(r.srv.Messages()))
		}
		if r.counter("widgetapi_mail_retried_total") != 2 || r.counter("widgetapi_mail_sent_total") != 1 {
			t.Error("counters")
		}
		r.checkLogs(t, m)
	})
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := outbox.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if outbox.Backoff(1000) != 5*time.Minute {
		t.Error("Backoff(1000)")
	}
}

func TestPermanentFailureFailsAtOnceWithAnAuditEvent(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		r := newRig(t, st, testsmtp.Options{Answer: testsmtp.Reply("rcpt", 550)}, 0)
		m := r.queue(t, 1)[0]
		r.once(t, 1)
		row := r.row(t, m.ID)
		if !row.FailedAt.Equal(t0) || row.Attempts != 1 || row.LastError == "" {
			t.Fatalf("row %+v", row)
		}
		r.clock.Advance(time.Hour)
		r.once(t, 0)
		evs := failedEvents(t, st)
		if len(evs) != 1 || evs[0].Target != m.To || evs[0].Actor != nil || evs[0].Detail["kind"] != m.Kind ||
			fmt.Sprint(evs[0].Detail["attempts"]) != "1" || evs[0].Detail["error"] != row.LastError {
			t.Fatalf("events %+v", evs)
		}
		if r.counter("widgetapi_mail_failed_total") != 1 {
			t.Error("failed_total")
		}
		r.checkLogs(t, m)
	})
}

func TestDroppedMidDataIsRetried(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		r := newRig(t, st, testsmtp.Options{Drop: func(n int) bool { return n == 1 }}, 0)
		m := r.queue(t, 1)[0]
		r.once(t, 1)
		if len(r.srv.Messages()) != 0 || r.row(t, m.ID).Attempts != 1 {
			t.Fatal("the dropped attempt")
		}
		r.clock.Advance(outbox.Backoff(1))
		r.once(t, 1)
		if len(r.srv.Messages()) != 1 || r.row(t, m.ID).SentAt.IsZero() {
			t.Fatal("not delivered after the drop")
		}
	})
}

func TestRetryForExhaustedFails(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		r := newRig(t, st, testsmtp.Options{Answer: testsmtp.Reply("data", 451)}, 2*time.Minute)
		m := r.queue(t, 1)[0]
		// 0, 5, 15, 35, 75 s, then the last at the deadline, 120 s.
		for _, at := range []time.Duration{0, 5, 15, 35, 75, 120} {
			r.clock.Advance(at*time.Second - r.clock.Now().Sub(t0))
			r.once(t, 1)
		}
		row := r.row(t, m.ID)
		if !row.FailedAt.Equal(t0.Add(2*time.Minute)) || row.Attempts != 6 {
			t.Fatalf("row %+v", row)
		}
		evs := failedEvents(t, st)
		if len(evs) != 1 || evs[0].Target != m.To || fmt.Sprint(evs[0].Detail["attempts"]) != "6" {
			t.Fatalf("events %+v", evs)
		}
	})
}

// A process killed mid-delivery leaves its claim: the mail is tried again
// once the claim lapses, and not before.
func TestALapsedClaimIsTakenAgain(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		r := newRig(t, st, testsmtp.Options{}, 0)
		m := r.queue(t, 1)[0]
		if got, err := st.ClaimMail(context.Background(), t0, t0.Add(outbox.DefaultClaimFor), 10); err != nil || len(got) != 1 {
			t.Fatalf("the dead process's claim: %v %v", got, err)
		}
		r.clock.Advance(outbox.DefaultClaimFor - time.Second)
		r.once(t, 0)
		r.clock.Advance(time.Second)
		r.once(t, 1)
		if len(r.srv.Messages()) != 1 || r.row(t, m.ID).SentAt.IsZero() {
			t.Fatal("not delivered after the claim lapsed")
		}
	})
}

func TestPurgeSentMail(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		r := newRig(t, st, testsmtp.Options{}, 0)
		sent := r.queue(t, 3)
		r.once(t, 3)
		r.clock.Advance(24 * time.Hour)
		waiting := r.queue(t, 1)[0]
		n, err := st.PurgeSentMail(context.Background(), t0)
		if err != nil || n != 0 {
			t.Fatalf("purged %d (%v) of mail sent at the limit", n, err)
		}
		n, err = st.PurgeSentMail(context.Background(), t0.Add(time.Second))
		if err != nil || n != 3 {
			t.Fatalf("purged %d (%v), want 3", n, err)
		}
		if _, err := st.OutboxMail(context.Background(), sent[0].ID); widgetapi.ErrorCode(err) != widgetapi.ENOTFOUND {
			t.Fatalf("a purged mail: %v", err)
		}
		r.row(t, waiting.ID) // the queue is left alone
		// The sender's purge keeps a week of sent mail.
		r.once(t, 1)
		r.clock.Advance(outbox.SentKeptFor)
		r.sender.PurgeSent(context.Background())
		r.row(t, waiting.ID)
		r.clock.Advance(time.Second)
		r.sender.PurgeSent(context.Background())
		if _, err := st.OutboxMail(context.Background(), waiting.ID); widgetapi.ErrorCode(err) != widgetapi.ENOTFOUND {
			t.Fatalf("a mail sent over a week ago: %v", err)
		}
	})
}

func TestQueueMetrics(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		r := newRig(t, st, testsmtp.Options{}, 0)
		r.queue(t, 2)
		r.clock.Advance(90 * time.Second)
		reg := prometheus.NewRegistry()
		reg.MustRegister(r.sender.Collectors()...)
		if n, err := testutil.GatherAndCount(reg, "widgetapi_mail_queued", "widgetapi_mail_oldest_queued_seconds"); err != nil || n != 2 {
			t.Fatal(n, err)
		}
		mfs, _ := reg.Gather()
		vals := map[string]float64{}
		for _, mf := range mfs {
			vals[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue() + mf.GetMetric()[0].GetCounter().GetValue()
		}
		if vals["widgetapi_mail_queued"] != 2 || vals["widgetapi_mail_oldest_queued_seconds"] != 90 {
			t.Fatalf("metrics %v", vals)
		}
		r.once(t, 2)
		mfs, _ = reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "widgetapi_mail_queued" && mf.GetMetric()[0].GetGauge().GetValue() != 0 {
				t.Fatal("queued after delivery")
			}
		}
	})
}

// Several senders over one queue, as several serve processes on one
// PostgreSQL: each mail is delivered exactly once.
func TestParallelSendersDeliverEachMailOnce(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		const n, senders = 300, 4
		srv := testsmtp.Start(t, testsmtp.Options{})
		clock := testclock.New(t0)
		var mails []*widgetapi.Mail
		for i := range n {
			mails = append(mails, &widgetapi.Mail{Kind: widgetapi.MailVerifyEmail, To: fmt.Sprintf("u%d@example.org", i),
				Subject: "s", Text: "t", HTML: "h", QueuedAt: t0})
		}
		if err := st.QueueMail(context.Background(), mails...); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range senders {
			tr := &mailer.SMTP{Server: config.SMTP{Host: srv.Host, Port: srv.Port}, From: from, Timeout: 5 * time.Second}
			s := outbox.New(outbox.Config{Store: st, Transport: tr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Now: clock.Now, Batch: 8})
			wg.Go(func() { s.Run(ctx) })
		}
		srv.Wait(t, n, time.Minute)
		cancel()
		wg.Wait()
		got := srv.Messages()
		seen := map[string]int{}
		for _, m := range got {
			seen[m.To[0]]++
		}
		if len(got) != n || len(seen) != n {
			t.Fatalf("%d messages to %d addresses, want %d each once", len(got), len(seen), n)
		}
		if q, _, err := st.MailQueue(context.Background()); err != nil || q != 0 {
			t.Fatalf("queue %d %v", q, err)
		}
	})
}

// Run delivers at once after Wake, long before its poll; when its context
// ends it finishes the mail it is sending and puts back the rest of its
// batch for any sender to take at once.
func TestRunWakesAndStopsCleanly(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		inData, release := make(chan int, 10), make(chan struct{})
		srv := testsmtp.Start(t, testsmtp.Options{Answer: func(stage string, n int) error {
			if stage == "data" && n == 2 {
				inData <- n
				<-release
			}
			return nil
		}})
		clock := testclock.New(t0)
		logs := &testlog.Buffer{}
		tr := &mailer.SMTP{Server: config.SMTP{Host: srv.Host, Port: srv.Port}, From: from, Timeout: 5 * time.Second}
		s := outbox.New(outbox.Config{Store: st, Transport: tr, Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Now: clock.Now, Poll: time.Hour, Batch: 4, Workers: 1})
		r := &rig{st: st, srv: srv, clock: clock, sender: s, logs: logs}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.Run(ctx) }()

		first := r.queue(t, 1)[0]
		s.Wake()
		srv.Wait(t, 1, 10*time.Second) // an hour's poll: only Wake sends it
		// Four more: the second mail overall is held in its DATA while
		// the sender stops.
		r.queue(t, 4)
		s.Wake()
		<-inData
		cancel()
		close(release)
		<-done
		if got := len(srv.Messages()); got != 2 || r.row(t, first.ID).SentAt.IsZero() {
			t.Fatalf("%d delivered, want the first and the one in flight, both marked sent", got)
		}
		// The three not begun were put back: claimable now, not in 2 minutes.
		back, err := st.ClaimMail(context.Background(), t0, t0.Add(time.Minute), 10)
		if err != nil || len(back) != 3 {
			t.Fatalf("put back: %d %v", len(back), err)
		}
		if q, _, _ := st.MailQueue(context.Background()); q != 3 {
			t.Fatalf("queue %d, want the 3 put back", q)
		}
	})
}
