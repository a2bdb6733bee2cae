package main

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"widgetapi/mfa"
)

// mfaLoginScenario is the two-step login: the password (a bcrypt
// comparison at cost 12, then the challenge recorded), then a code.
const mfaLoginScenario = "POST /auth/login + /auth/login/mfa (cost 12, two steps)"

// mfaUsers is how many accounts with a factor the two-step login cycles
// over. A code is accepted once per account and time step (30 s), so an
// account logs in at most once a step: 300 is more than two cores can
// log in during one step at cost 12 (about 8 a second). The smoke run
// makes 10.
const (
	mfaUsers      = 300
	mfaSmokeUsers = 10
)

// mfaAccount is an account of the two-step login and the last step it
// logged in at.
type mfaAccount struct {
	email, secret string
	last          int64
}

// mfaLogins runs two-step logins of its accounts; its targeter does the
// password step itself and returns the second as the request, so that a
// result's latency (vegeta counts the targeter's time) is the whole login.
type mfaLogins struct {
	base     string
	mu       sync.Mutex
	accounts []*mfaAccount
	next     int
}

// enrolAccounts registers n accounts and turns each one's factor
// on, a few at once (each costs two bcrypt operations at cost 12).
func enrolAccounts(base string, n int) (*mfaLogins, error) {
	m := &mfaLogins{base: base, accounts: make([]*mfaAccount, n)}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			a, err := enrolAccount(base, fmt.Sprintf("mfa-%d@bench.local", i))
			m.accounts[i] = a
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// enrolAccount registers email and turns its factor on.
func enrolAccount(base, email string) (*mfaAccount, error) {
	body, err := postForm(base+"/api/v1/auth/register", "", url.Values{"email": {email}, "password": {benchPassword}}, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	tok, _ := body["access_token"].(string)
	if body, err = postForm(base+"/api/v1/auth/mfa/totp", tok, url.Values{"current_password": {benchPassword}}, http.StatusOK); err != nil {
		return nil, err
	}
	a := &mfaAccount{email: email}
	a.secret, _ = body["secret"].(string)
	now := time.Now()
	code, err := mfa.Code(a.secret, now)
	if err != nil {
		return nil, err
	}
	a.last = mfa.Step(now)
	_, err = postForm(base+"/api/v1/auth/mfa/totp/confirm", tok, url.Values{"code": {code}}, http.StatusOK)
	return a, err
}

// take returns an account that has not logged in at this time step, and
// the step, waiting for the next step when every account has.
func (m *mfaLogins) take() (*mfaAccount, time.Time) {
	for {
		now := time.Now()
		step := mfa.Step(now)
		m.mu.Lock()
		for range m.accounts {
			a := m.accounts[m.next]
			m.next = (m.next + 1) % len(m.accounts)
			if a.last < step {
				a.last = step
				m.mu.Unlock()
				return a, now
			}
		}
		m.mu.Unlock()
		time.Sleep(time.Unix((step+1)*30, 0).Sub(now))
	}
}

// targeter logs an account in with its password, then returns the second
// step, with the code of now, as the request to send.
func (m *mfaLogins) targeter() vegeta.Targeter {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return func(t *vegeta.Target) error {
		a, now := m.take()
		body, err := postForm(m.base+"/api/v1/auth/login", "", url.Values{"email": {a.email}, "password": {benchPassword}}, http.StatusUnauthorized)
		if err != nil {
			return err
		}
		token, _ := body["mfa_token"].(string)
		code, err := mfa.Code(a.secret, now)
		if err != nil {
			return err
		}
		*t = vegeta.Target{Method: "POST", URL: m.base + "/api/v1/auth/login/mfa", Header: h,
			Body: []byte(url.Values{"mfa_token": {token}, "otp": {code}}.Encode())}
		return nil
	}
}
