// Package outbox is the sender: it delivers the mail the flows queued in
// the database, in every serve process at once. A mail is claimed by one
// process for a while (ClaimFor), handed to the transport, then marked
// sent, put back with a later time to try again, or failed; a process
// killed mid-delivery leaves its claim to lapse, and the mail is tried
// again by whichever process claims it next (at least once).
package outbox

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	gomail "github.com/wneessen/go-mail"

	"widgetapi"
	"widgetapi/internal/mailer"
	"widgetapi/internal/store"
)

// Defaults of Config.
const (
	DefaultPoll     = 500 * time.Millisecond
	DefaultClaimFor = 2 * time.Minute
	DefaultBatch    = 16
	DefaultWorkers  = 4
	// SentKeptFor is how long a sent mail stays in the outbox before the
	// purge deletes it.
	SentKeptFor = 7 * 24 * time.Hour
)

// Config is what a Sender needs. Store, Transport and Logger are required.
type Config struct {
	Store     store.Outbox
	Transport mailer.Transport
	Logger    *slog.Logger
	// Now is the clock of claims, retries and marks; time.Now when nil.
	Now func() time.Time
	// RetryFor is how long after it was queued a mail that keeps failing
	// is retried (MAIL_RETRY_FOR); 24h when zero.
	RetryFor time.Duration
	// Poll is the longest a due mail waits when no Wake comes.
	Poll time.Duration
	// ClaimFor is how long a claim holds a mail from the other senders:
	// longer than any delivery takes, and how late a mail whose process
	// died is tried again.
	ClaimFor time.Duration
	// Batch is the most mails one claim takes; Workers the most delivered
	// at once.
	Batch, Workers int
}

// Sender delivers the outbox.
type Sender struct {
	cfg                   Config
	wake                  chan struct{}
	sent, retried, failed prometheus.Counter
}

// New returns a sender of cfg; its zero durations and sizes take the
// defaults.
func New(cfg Config) *Sender {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.RetryFor = cmp.Or(cfg.RetryFor, 24*time.Hour)
	cfg.Poll = cmp.Or(cfg.Poll, DefaultPoll)
	cfg.ClaimFor = cmp.Or(cfg.ClaimFor, DefaultClaimFor)
	cfg.Batch = cmp.Or(cfg.Batch, DefaultBatch)
	cfg.Workers = cmp.Or(cfg.Workers, DefaultWorkers)
	return &Sender{cfg: cfg, wake: make(chan struct{}, 1),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "widgetapi_mail_sent_total",
			Help: "Mails this process delivered."}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{Name: "widgetapi_mail_retried_total",
			Help: "Delivery attempts of this process that failed for a while and were put back to try again."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "widgetapi_mail_failed_total",
			Help: "Mails this process gave up: refused by the server, or undelivered for MAIL_RETRY_FOR."}),
	}
}

// Transport is where the sender delivers.
func (s *Sender) Transport() mailer.Transport { return s.cfg.Transport }

// Wake makes Run look for due mail at once rather than at its next poll:
// a flow's caller calls it after a transaction that queued mail commits.
// It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers due mail until ctx ends, at most Poll after it is due (at
// once after Wake). When ctx ends it claims nothing more, puts back what
// it claimed and had not begun, and returns once the mail it is sending
// is done: each is bounded by the transport's timeout, and one that the
// process does not wait for is left to its claim.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTimer(s.cfg.Poll)
	defer t.Stop()
	// A database that does not answer is said once, not every poll.
	failing := false
	for ctx.Err() == nil {
		n, err := s.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.cfg.Logger.Warn("mail: claim failed; retrying every poll", "err", err)
			failing = true
		case err == nil && failing:
			s.cfg.Logger.Info("mail: claims work again")
			failing = false
		}
		if n == s.cfg.Batch && err == nil {
			continue // more may be due
		}
		t.Reset(s.cfg.Poll)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-t.C:
		}
	}
}

// RunOnce claims one batch of due mail and delivers it, Workers at a time,
// and returns how many mails it claimed.
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	mails, err := s.cfg.Store.ClaimMail(ctx, now, now.Add(s.cfg.ClaimFor), s.cfg.Batch)
	if err != nil {
		return 0, err
	}
	// A delivery begun goes on when ctx ends: it is finished and marked
	// rather than cut off mid-DATA.
	work := context.WithoutCancel(ctx)
	slots := make(chan struct{}, s.cfg.Workers)
	var wg sync.WaitGroup
	for _, m := range mails {
		if ctx.Err() == nil {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			s.release(work, m)
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			s.deliver(work, m)
		})
	}
	wg.Wait()
	return len(mails), nil
}

// markTimeout bounds each write of a mail's outcome.
const markTimeout = 10 * time.Second

// release puts back m, claimed but not begun, for any sender to take now.
func (s *Sender) release(ctx context.Context, m *widgetapi.Mail) {
	ctx, cancel := context.WithTimeout(ctx, markTimeout)
	defer cancel()
	if err := s.cfg.Store.RetryMail(ctx, m.ID, m.Attempts, m.NextAttemptAt, m.LastError); err != nil {
		s.cfg.Logger.Warn("mail: release claim", "id", m.ID, "err", err)
	}
}

// deliver makes one attempt at m and records its outcome. Its log lines
// name the mail by id and kind and the recipient by domain only, and a
// failure by its SMTP code: never the body (which may hold a secret link)
// nor the whole address.
func (s *Sender) deliver(ctx context.Context, m *widgetapi.Mail) {
	answer, sendErr := s.cfg.Transport.Send(ctx, m)
	now := s.cfg.Now()
	m.Attempts++
	log := s.cfg.Logger.With("id", m.ID, "kind", m.Kind, "domain", mailer.Domain(m.To), "attempts", m.Attempts)
	mctx, cancel := context.WithTimeout(ctx, markTimeout)
	defer cancel()
	var err error
	switch deadline := m.QueuedAt.Add(s.cfg.RetryFor); {
	case sendErr == nil:
		if err = s.cfg.Store.MarkMailSent(mctx, m.ID, m.Attempts, now); err == nil {
			s.sent.Inc()
			log.Info("mail sent", "answer", firstLine(answer))
		}
	case mailer.IsPermanent(sendErr):
		err = s.fail(mctx, log, m, now, mailer.Reason(sendErr), sendErr)
	case !now.Before(deadline):
		err = s.fail(mctx, log, m, now, "undelivered for MAIL_RETRY_FOR="+s.cfg.RetryFor.String()+": "+mailer.Reason(sendErr), sendErr)
	default:
		next := now.Add(Backoff(m.Attempts))
		if next.After(deadline) {
			next = deadline
		}
		if err = s.cfg.Store.RetryMail(mctx, m.ID, m.Attempts, next, mailer.Reason(sendErr)); err == nil {
			s.retried.Inc()
			log.Warn("mail deferred", "retry_in", next.Sub(now).String(), "err", logReason(sendErr))
		}
	}
	if err != nil {
		// The claim lapses and the mail is tried again: at least once.
		log.Error("mail: record the outcome", "err", err)
	}
}

func (s *Sender) fail(ctx context.Context, log *slog.Logger, m *widgetapi.Mail, now time.Time, why string, sendErr error) error {
	if err := s.cfg.Store.FailMail(ctx, m, now, why); err != nil {
		return err
	}
	s.failed.Inc()
	log.Error("mail failed", "err", logReason(sendErr))
	return nil
}

// Backoff is the wait after the attempts-th failed attempt: 5 s, then
// double the one before, at most 5 minutes.
func Backoff(attempts int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempts && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// MaxBackoff is the longest wait between two attempts at a mail.
const MaxBackoff = 5 * time.Minute

// logReason is what a log line says of a failed attempt: the SMTP reply's
// codes only, since its text may repeat the address; other failures (a
// connection refused, a TLS handshake) name the server, not the mail.
func logReason(err error) string {
	var se *gomail.SendError
	if errors.As(err, &se) {
		r := se.Reason.String()
		if code := se.ErrorCode(); code != 0 {
			r += ": " + strconv.Itoa(code)
			if esc := se.EnhancedStatusCode(); esc != "" {
				r += " " + esc
			}
		}
		return r
	}
	return mailer.Reason(err)
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' || c == '\r' {
			return s[:i]
		}
	}
	return s
}

// PurgeSent deletes the mails sent more than SentKeptFor ago, and logs
// what it did.
func (s *Sender) PurgeSent(ctx context.Context) {
	n, err := s.cfg.Store.PurgeSentMail(ctx, s.cfg.Now().Add(-SentKeptFor))
	switch {
	case err != nil && ctx.Err() == nil:
		s.cfg.Logger.Warn("purge sent mail", "err", err)
	case n > 0:
		s.cfg.Logger.Info("purged sent mail", "mails", n)
	}
}

// Collectors are the sender's metrics: its counters, and the queue as the
// database holds it, read at each scrape.
func (s *Sender) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.sent, s.retried, s.failed, queueCollector{s}}
}

var (
	queuedDesc = prometheus.NewDesc("widgetapi_mail_queued",
		"Mails in the outbox neither sent nor failed: due, or waiting to be tried again.", nil, nil)
	oldestDesc = prometheus.NewDesc("widgetapi_mail_oldest_queued_seconds",
		"How long ago the oldest mail neither sent nor failed was queued; 0 when there is none.", nil, nil)
)

// queueCollector reads the outbox's queue at each scrape: the queue is
// shared by every process, so any process's figure is the service's.
type queueCollector struct{ s *Sender }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queuedDesc; ch <- oldestDesc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := c.s.cfg.Store.MailQueue(ctx)
	if err != nil {
		// A database that does not answer leaves the gauges out of this
		// scrape rather than failing it: the other metrics say why.
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, c.s.cfg.Now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}
