package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"widgetapi/internal/testdb"
)

// postFrom posts a form to url as if from addr, through a trusted proxy,
// and returns the status, -1 when the request fails; safe from goroutines.
func postFrom(url, addr string, form url.Values) int {
	req, err := http.NewRequest("POST", url, strings.NewReader(form.Encode()))
	if err != nil {
		return -1
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	res.Body.Close()
	return res.StatusCode
}

// Three processes on one PostgreSQL are one throttle: guesses spread over
// them, sent at once, get exactly what one process would allow.
func TestThrottlingIsSharedByThreeProcesses(t *testing.T) {
	env := baseEnv("DATABASE_URL="+testdb.FreshSchemaURL(t), "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789", "TRUSTED_PROXIES=127.0.0.1/32",
		"AUTH_RATE_LIMIT=60", "AUTH_RATE_BURST=10", "LOGIN_FAILURE_LIMIT=5", "LOGIN_ACCOUNT_LIMIT=20")
	s := startProcesses(t, 3, env)
	on := func(i int, path string) string { return s[i%3].URL + "/api/v1/auth/" + path }
	for _, email := range []string{"one@example.com", "spread@example.com", "budget@example.com"} {
		if code := postFrom(on(0, "register"), "192.0.2.1", creds(email, "right-password")); code != 201 {
			t.Fatalf("register %s: %d", email, code)
		}
	}

	// The control: against one process, one address gets 5 guesses.
	one := race(t, 15, func(int) int { return postFrom(on(0, "login"), "198.51.100.1", creds("one@example.com", "wrong")) })
	// Spread over three: the same 5, not 15.
	spread := race(t, 15, func(i int) int { return postFrom(on(i, "login"), "198.51.100.2", creds("spread@example.com", "wrong")) })
	for name, got := range map[string]map[int]int{"one process": one, "three processes": spread} {
		if got[401] != 5 || got[429] != 10 {
			t.Errorf("%s: %v, want 5 401 and 10 429", name, got)
		}
	}
	// A successful login on one process gives the address its guesses back
	// on the others.
	if code := postFrom(on(1, "login"), "192.0.2.1", creds("spread@example.com", "right-password")); code != 200 {
		t.Fatalf("the owner's login: %d", code)
	}
	if code := postFrom(on(2, "login"), "192.0.2.1", creds("spread@example.com", "wrong")); code != 401 {
		t.Fatalf("a guess after the owner's login, from the owner's address: %d", code)
	}

	// The account's budget across addresses and processes: 20.
	budget := race(t, 45, func(i int) int {
		return postFrom(on(i, "login"), fmt.Sprintf("203.0.113.%d", i+1), creds("budget@example.com", "wrong"))
	})
	if budget[401] != 20 || budget[429] != 25 {
		t.Errorf("45 guesses from 45 addresses over three processes: %v, want 20 401 and 25 429", budget)
	}
	if code := postFrom(on(1, "login"), "192.0.2.1", creds("budget@example.com", "right-password")); code != 200 {
		t.Errorf("the owner from their known address: %d", code)
	}

	// The address limit: 10 at once, then one a second, across processes.
	reg := race(t, 30, func(i int) int {
		return postFrom(on(i, "register"), "198.51.100.99", creds(fmt.Sprintf("r%d@example.com", i), "right-password"))
	})
	if reg[201] != 10 || reg[429] != 20 {
		t.Errorf("30 registrations from one address over three processes: %v, want 10 201 and 20 429", reg)
	}
}
