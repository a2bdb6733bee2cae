package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"testing"
	"time"

	"widgetapi/internal/testbin"
	"widgetapi/internal/testmailpit"
)

// resetLink is the reset page's link in a mail's text, with its token.
var resetLink = regexp.MustCompile(`/account/reset-password\?token=([A-Za-z0-9_-]+)`)

// TestForgotThreeProcessesToMailpit asks three serve processes on one
// PostgreSQL, all sending to Mailpit, for the reset of 300 accounts, the
// requests spread over the three at once: each account gets exactly one
// reset mail, and a mail's token resets the password through a process
// other than the one asked.
func TestForgotThreeProcessesToMailpit(t *testing.T) {
	if os.Getenv(testbin.TokenAlgVar) != "" {
		t.Skip("mail does not depend on TOKEN_ALG: run in the main pass only")
	}
	// Every request comes from 127.0.0.1: the per-address limit is off.
	mp, dbURL, env := mailpitDeployment(t, "BCRYPT_COST=4", "AUTH_RATE_LIMIT=0")
	s := startProcesses(t, 3, env)
	const n = 300
	email := func(i int) string { return fmt.Sprintf("reset-%03d@example.com", i) }

	// The accounts, made eight at a time: all at once would meet the
	// admission gate of password hashing (503), which is not under test.
	if codes := race(t, 8, func(g int) int {
		for i := g; i < n; i += 8 {
			if code := postStatus(s[i%3].URL+"/api/v1/auth/register", "", creds(email(i), "first-password")); code != http.StatusCreated {
				return code
			}
		}
		return http.StatusCreated
	}); codes[http.StatusCreated] != 8 {
		t.Fatalf("registrations: %v", codes)
	}
	mp.Wait(n, 2*time.Minute) // the verification mails
	if codes := race(t, n, func(i int) int {
		return postStatus(s[i%3].URL+"/api/v1/auth/password/forgot", "", url.Values{"email": {email(i)}})
	}); codes[http.StatusAccepted] != n {
		t.Fatalf("reset requests: %v", codes)
	}
	mp.Wait(2*n, 2*time.Minute)
	// Nothing is left to send once the queue is empty: what Mailpit holds
	// then is every mail there will be.
	st := sharedOutbox(t, dbURL)
	waitFor(t, time.Minute, "an empty outbox", func() bool {
		q, _, err := st.MailQueue(t.Context())
		return err == nil && q == 0
	})
	resets := map[string][]testmailpit.Message{}
	for _, m := range mp.Messages() {
		if m.Subject == "Reset your password" {
			for _, to := range m.To {
				resets[to.Address] = append(resets[to.Address], m)
			}
		}
	}
	for i := range n {
		if got := len(resets[email(i)]); got != 1 {
			t.Fatalf("%s got %d reset mails, want 1", email(i), got)
		}
	}
	if len(resets) != n {
		t.Fatalf("reset mails went to %d addresses, want %d", len(resets), n)
	}

	// Account 0 asked process 0; its token works on process 1, and the
	// new password on process 2.
	link := resetLink.FindStringSubmatch(mp.Text(resets[email(0)][0].ID))
	if link == nil {
		t.Fatalf("no reset link in the mail to %s:\n%s", email(0), mp.Text(resets[email(0)][0].ID))
	}
	code, body, _ := call(t, "POST", s[1].URL+"/api/v1/auth/password/reset", "",
		url.Values{"token": {link[1]}, "new_password": {"second-password"}})
	if code != http.StatusOK || body["message"] != "password reset" || body["access_token"] == nil {
		t.Fatalf("reset with the mailed token: %d %v", code, body)
	}
	login(t, s[2], email(0), "second-password")
}
