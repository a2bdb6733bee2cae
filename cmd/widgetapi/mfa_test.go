package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"widgetapi/internal/testdb"
	"widgetapi/mfa"
)

// postJSONFrom posts form to url as if from addr, through a trusted proxy,
// with token when set, and returns the status and the JSON body; -1 when
// the request fails. Safe from goroutines.
func postJSONFrom(url, addr, token string, form url.Values) (int, map[string]any) {
	req, err := http.NewRequest("POST", url, strings.NewReader(form.Encode()))
	if err != nil {
		return -1, nil
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, nil
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// Three processes on one PostgreSQL keep one second factor: a recovery
// code used at once through all three works once, and wrong codes spread
// over them get no more tries than the account's budget.
func TestThreeProcessesShareTheSecondFactor(t *testing.T) {
	dbURL := testdb.FreshSchemaURL(t)
	env := baseEnv("DATABASE_URL="+dbURL, "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789", "TRUSTED_PROXIES=127.0.0.1/32",
		"AUTH_RATE_LIMIT=0", "LOGIN_FAILURE_LIMIT=0", "LOGIN_ACCOUNT_LIMIT=20")
	s := startProcesses(t, 3, env)
	on := func(i int, path string) string { return s[i%3].URL + "/api/v1/auth/" + path }

	// enrol registers email on process 0 and turns its factor on through
	// processes 1 and 2; it returns the recovery codes.
	enrol := func(email string) []string {
		code, body := postJSONFrom(on(0, "register"), "192.0.2.1", "", creds(email, "right-password"))
		if code != 201 {
			t.Fatalf("register %s: %d %v", email, code, body)
		}
		tok := body["access_token"].(string)
		code, body = postJSONFrom(on(1, "mfa/totp"), "192.0.2.1", tok, url.Values{"current_password": {"right-password"}})
		if code != 200 {
			t.Fatalf("enrol %s: %d %v", email, code, body)
		}
		otp, err := mfa.Code(body["secret"].(string), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		code, body = postJSONFrom(on(2, "mfa/totp/confirm"), "192.0.2.1", tok, url.Values{"code": {otp}})
		if code != 200 {
			t.Fatalf("confirm %s: %d %v", email, code, body)
		}
		var codes []string
		for _, c := range body["recovery_codes"].([]any) {
			codes = append(codes, c.(string))
		}
		return codes
	}
	// startLogins logs email in with the password n times, each from its
	// own address on its own process, and returns the mfa_tokens.
	startLogins := func(email string, n int) []string {
		var tokens []string
		for i := range n {
			code, body := postJSONFrom(on(i, "login"), fmt.Sprintf("198.51.100.%d", i+1), "", creds(email, "right-password"))
			if code != 401 || body["mfa_required"] != true {
				t.Fatalf("login %s with the password: %d %v", email, code, body)
			}
			tokens = append(tokens, body["mfa_token"].(string))
		}
		return tokens
	}

	// One recovery code, six logins at once through three processes: one wins.
	codes := enrol("recover@example.com")
	tokens := startLogins("recover@example.com", 6)
	got := race(t, len(tokens), func(i int) int {
		code, _ := postJSONFrom(on(i, "login/mfa"), fmt.Sprintf("198.51.100.%d", i+1), "",
			url.Values{"mfa_token": {tokens[i]}, "otp": {codes[0]}})
		return code
	})
	if got[200] != 1 || got[401] != len(tokens)-1 {
		t.Errorf("one recovery code used at once through three processes: %v, want one 200 and the rest 401", got)
	}

	// 50 wrong codes at once, over ten mfa_tokens and three processes: the
	// ten password steps took ten tries of the budget of 20, and the
	// codes get the other ten.
	enrol("guessed@example.com")
	tokens = startLogins("guessed@example.com", 10)
	got = race(t, 50, func(i int) int {
		code, _ := postJSONFrom(on(i, "login/mfa"), fmt.Sprintf("198.51.100.%d", i/5+1), "",
			url.Values{"mfa_token": {tokens[i/5]}, "otp": {fmt.Sprintf("%06d", 999990+i%5)}})
		return code
	})
	if got[401] != 10 || got[429] != 40 {
		t.Errorf("50 wrong codes over three processes: %v, want 10 401 and 40 429", got)
	}

	// The operator turns a lost factor off: the password alone logs in again.
	out, errOut, code := runCmd(t, t.TempDir(), "", env, "user", "set", "recover@example.com", "--mfa=false")
	if code != 0 || !strings.Contains(out, "mfa:        false") {
		t.Fatalf("user set --mfa=false: %d %s %s", code, out, errOut)
	}
	if _, _, code := runCmd(t, t.TempDir(), "", env, "user", "set", "recover@example.com", "--mfa=true"); code == 0 {
		t.Error("user set --mfa=true succeeded")
	}
	if code, body := postJSONFrom(on(1, "login"), "192.0.2.1", "", creds("recover@example.com", "right-password")); code != 200 {
		t.Errorf("login after the reset: %d %v", code, body)
	}
}
