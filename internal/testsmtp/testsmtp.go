// Package testsmtp is a real SMTP server for tests, in the test's process
// (github.com/emersion/go-smtp): it keeps what it is sent, can offer
// STARTTLS with a certificate of its own and require AUTH PLAIN, and can
// answer with an error or drop the connection when a test tells it to.
package testsmtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one mail the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	// TLS and Auth say whether its session was encrypted and logged in.
	TLS, Auth bool
}

// Options shape the server.
type Options struct {
	// TLS offers STARTTLS with a self-signed certificate for 127.0.0.1,
	// which Server.TLSConfig trusts; ImplicitTLS speaks TLS from the first
	// byte instead (smtps).
	TLS, ImplicitTLS bool
	// Username and Password, when set, are required (AUTH PLAIN).
	Username, Password string
	// Answer, when set, is asked at each stage ("rcpt", "data") of the
	// n-th message (from 1) the server is given; an error it returns is
	// the server's answer (an *smtp.SMTPError for a reply code).
	Answer func(stage string, n int) error
	// Drop, when set, reports whether to close the connection in the
	// middle of the n-th message's data.
	Drop func(n int) bool
}

// Reply is an Answer that gives code (a 4xx or 5xx) at stage to every
// message.
func Reply(stage string, code int) func(string, int) error {
	return func(at string, _ int) error {
		if at != stage {
			return nil
		}
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "refused by the test"}
	}
}

// Server is a running server.
type Server struct {
	Host string
	Port int
	// TLSConfig is a client configuration that trusts the server.
	TLSConfig *tls.Config

	opts    Options
	mu      sync.Mutex
	n       int
	msgs    []Message
	changed chan struct{}
}

// Start starts a server on a free port of 127.0.0.1, stopped when the test
// ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, changed: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, c: c}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.TLS || opts.ImplicitTLS {
		cert, pool := selfSigned(t)
		conf := &tls.Config{Certificates: []tls.Certificate{cert}}
		s.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		if opts.ImplicitTLS {
			ln = tls.NewListener(ln, conf)
		} else {
			srv.TLSConfig = conf
		}
	}
	addr := ln.Addr().(*net.TCPAddr) // a tls listener gives its inner one's
	s.Host, s.Port = addr.IP.String(), addr.Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Messages returns what the server has accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait waits until the server has accepted at least n messages and
// returns them; it fails the test after timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, changed := append([]Message(nil), s.msgs...), s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the SMTP server got %d messages in %s, want %d", len(msgs), timeout, n)
		}
	}
}

type session struct {
	s      *Server
	c      *smtp.Conn
	n      int
	from   string
	to     []string
	authed bool
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) AuthMechanisms() []string {
	if se.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != se.s.opts.Username || password != se.s.opts.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opts.Username != "" && !se.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	se.s.mu.Lock()
	se.s.n++
	se.n = se.s.n
	se.s.mu.Unlock()
	se.from = from
	return nil
}

func (se *session) answer(stage string) error {
	if se.s.opts.Answer == nil {
		return nil
	}
	return se.s.opts.Answer(stage, se.n)
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := se.answer("rcpt"); err != nil {
		return err
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	if se.s.opts.Drop != nil && se.s.opts.Drop(se.n) {
		_, _ = io.ReadFull(r, make([]byte, 64))
		_ = se.c.Conn().Close()
		return errors.New("connection dropped")
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := se.answer("data"); err != nil {
		return err
	}
	_, isTLS := se.c.TLSConnectionState()
	se.s.mu.Lock()
	defer se.s.mu.Unlock()
	se.s.msgs = append(se.s.msgs, Message{From: se.from, To: se.to, Data: b, TLS: isTLS, Auth: se.authed})
	close(se.s.changed)
	se.s.changed = make(chan struct{})
	return nil
}

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "testsmtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
