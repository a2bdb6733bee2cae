package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-smtp"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// forgotScenario is the reset request's scenario: its rows are split by
// whether the address is registered.
const forgotScenario = "POST /auth/password/forgot"

// The two kinds of address of forgotScenario, told apart in its results
// by the target URL's fragment, which the client never sends: the server
// sees the same request line for both.
const (
	forgotKnown   = "known address"
	forgotUnknown = "unknown address"
)

// forgotting asks for a reset of a registered and then of an unregistered
// address, in turn: the registered ones cycle over accounts accounts, so
// that each sends its mail until a run asks for more than
// MaxRequestedMailsPerHour (5) per account, which n counts.
func forgotting(base string, accounts int, n *atomic.Int64) vegeta.Targeter {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return func(t *vegeta.Target) error {
		i := n.Add(1)
		email, kind := fmt.Sprintf("nobody-%d@bench.local", i), forgotUnknown
		if i%2 == 0 {
			email, kind = forgotEmail(int(i/2)%accounts), forgotKnown
		}
		*t = vegeta.Target{Method: "POST", URL: base + "/api/v1/auth/password/forgot#" + url.PathEscape(kind), Header: h,
			Body: []byte(url.Values{"email": {email}}.Encode())}
		return nil
	}
}

func forgotEmail(i int) string { return fmt.Sprintf("reset-%05d@bench.local", i) }

// resultKind is the kind of address a result of forgotting was for, ""
// for every other scenario's.
func resultKind(r *vegeta.Result) string {
	_, frag, _ := strings.Cut(r.URL, "#")
	kind, _ := url.PathUnescape(frag)
	return kind
}

// startMailServer starts a server on the bench's database that sends mail
// to a sink of its own, registers accounts accounts through it and waits
// until their verification mail is delivered, so that the scenario's
// runs do not share the process with it. Its bcrypt cost is the minimum:
// a reset request hashes no password, and the accounts are made faster.
func (b *bench) startMailServer(env []string, dir, bin string, accounts int) error {
	sink, err := startSMTPSink()
	if err != nil {
		return err
	}
	env = append(env, "SMTP_URL=smtp://"+sink.addr, "PUBLIC_URL=https://bench.example.com", "BCRYPT_COST=4")
	srv, err := startServer(bin, dir, env, false)
	if err != nil {
		sink.close()
		return err
	}
	b.mail, b.sink = srv, sink
	// Sixteen registrations at a time; the first error stops the rest.
	next, errs := make(chan int), make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := register(srv.url, forgotEmail(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
feed:
	for i := range accounts {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err = errors.Join(err, <-errs); err != nil {
		return err
	}
	<-sink.reached(int64(accounts))
	return nil
}

func register(base, email string) error {
	res, err := http.PostForm(base+"/api/v1/auth/register", url.Values{"email": {email}, "password": {benchPassword}})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(res.Body)
		return fmt.Errorf("register %s: %d %s", email, res.StatusCode, body)
	}
	return nil
}

// smtpSink is an SMTP server that accepts every mail and keeps only a count.
type smtpSink struct {
	addr string
	srv  *smtp.Server
	mu   sync.Mutex
	n    int64
	// waits are closed once n reaches their count.
	waits map[int64]chan struct{}
}

func startSMTPSink() (*smtpSink, error) {
	ln, err := netListen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &smtpSink{addr: ln.Addr().String(), waits: map[int64]chan struct{}{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSession{s}, nil }))
	s.srv.Domain, s.srv.AllowInsecureAuth = "127.0.0.1", true
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// reached is closed once the sink has accepted n mails.
func (s *smtpSink) reached(n int64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan struct{})
	if s.n >= n {
		close(c)
		return c
	}
	s.waits[n] = c
	return c
}

func (s *smtpSink) accepted() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if c, ok := s.waits[s.n]; ok {
		close(c)
		delete(s.waits, s.n)
	}
}

func (s *smtpSink) close() { _ = s.srv.Close() }

type sinkSession struct{ s *smtpSink }

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }

func (se sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	se.s.accepted()
	return nil
}

var errTooFewAccounts = errors.New("the forgot scenario asked for more reset mails than its accounts may get in an hour: raise -forgot-accounts")
