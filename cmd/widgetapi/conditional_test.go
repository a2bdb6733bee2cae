package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"widgetapi/internal/testdb"
)

// sendIf sends a form with token and the header h set to v, and returns
// the status and the ETag answered; safe from goroutines.
func sendIf(method, url, token, h, v string, form url.Values) (int, string) {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return -1, ""
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if h != "" {
		req.Header.Set(h, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, ""
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("ETag")
}

// Writers holding one version, spread over three processes on one
// PostgreSQL and sent at once: exactly one wins, whatever each sends.
func TestOneWriterOfAVersionWinsAcrossThreeProcesses(t *testing.T) {
	env := baseEnv("DATABASE_URL="+testdb.FreshSchemaURL(t), "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789")
	addAdmin(t, t.TempDir(), env)
	s := startProcesses(t, 3, env)
	code, body, _ := call(t, "POST", s[0].URL+"/api/v1/auth/login", "", creds("admin@example.com", "admin-pass"))
	if code != 200 {
		t.Fatalf("login: %d %v", code, body)
	}
	token := body["access_token"].(string)
	for round := range 10 {
		name := fmt.Sprintf("contested-%d", round)
		path := "/api/v1/widgets/" + name
		code, tag := sendIf("PUT", s[round%3].URL+path, token, "If-None-Match", "*",
			url.Values{"info_url": {"https://example.com/0"}, "deadline": {"2099-01-01"}})
		if code != 201 || tag == "" {
			t.Fatalf("round %d: create: %d %q", round, code, tag)
		}
		// A second create-only PUT finds it there, on any process.
		if code, _ := sendIf("PUT", s[(round+1)%3].URL+path, token, "If-None-Match", "*",
			url.Values{"info_url": {"https://example.com/0"}, "deadline": {"2099-01-01"}}); code != 412 {
			t.Fatalf("round %d: second create-only PUT: %d", round, code)
		}
		counts := race(t, 12, func(i int) int {
			u := s[i%3].URL + path
			switch (i + round) % 3 {
			case 0:
				c, _ := sendIf("PUT", u, token, "If-Match", tag, url.Values{"info_url": {fmt.Sprintf("https://example.com/%d", i)}, "deadline": {"2099-01-01"}})
				return c
			case 1:
				c, _ := sendIf("PATCH", u, token, "If-Match", tag, url.Values{"info_url": {fmt.Sprintf("https://example.com/%d", i)}})
				return c
			}
			c, _ := sendIf("DELETE", u, token, "If-Match", tag, nil)
			return c
		})
		if counts[200]+counts[204] != 1 || counts[412] != 11 {
			t.Fatalf("round %d: %v; want exactly one success and eleven 412", round, counts)
		}
	}
}
