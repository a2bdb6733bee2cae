package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"widgetapi/internal/testdb"
)

// TestLoginsRacingACredentialChangeAcrossThreeProcesses attacks the gap
// between a login's reading of the password hash and the recording of its
// session: logins with the old password run on three processes sharing
// one PostgreSQL while a password change, or a disable, is made through
// one of them. Once the change is acknowledged, no token of those logins
// may work on any process, whenever it was answered, and a disabled
// account enabled again brings none back. bcrypt runs at cost 10, so each
// login spends real time between the two, as in production.
func TestLoginsRacingACredentialChangeAcrossThreeProcesses(t *testing.T) {
	env := baseEnv("DATABASE_URL="+testdb.FreshSchemaURL(t), "APP_ENV=testing", "TOKEN_TTL=1h", "BCRYPT_COST=10",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789",
		"LOGIN_FAILURE_LIMIT=0", "LOGIN_ACCOUNT_LIMIT=0", "AUTH_RATE_LIMIT=0")
	s := startProcesses(t, 3, env)
	newCLI(t, env).add("root@example.com", "root-password", true)
	root := login(t, s[0], "root@example.com", "root-password")
	api := func(i int, path string) string { return s[i%3].URL + "/api/v1" + path }

	for round := range 6 {
		change := []string{"password", "disable"}[round%2]
		t.Run(fmt.Sprintf("%s-%d", change, round), func(t *testing.T) {
			email := fmt.Sprintf("racer%d@example.com", round)
			code, body, _ := call(t, "POST", api(0, "/auth/register"), "", creds(email, "old-password"))
			if code != 201 {
				t.Fatalf("register: %d %v", code, body)
			}
			own := body["access_token"].(string)
			code, body, _ = call(t, "GET", api(0, "/users?email="+url.QueryEscape(email)), root, nil)
			items, _ := body["items"].([]any)
			if code != 200 || len(items) != 1 {
				t.Fatalf("find %s: %d %v", email, code, body)
			}
			id := items[0].(map[string]any)["public_id"].(string)

			var (
				mu       sync.Mutex
				tokens   []string
				answered atomic.Int64
				after    atomic.Int64 // 200s answered after the change's 200
				changed  atomic.Bool
				stop     = make(chan struct{})
				wg       sync.WaitGroup
			)
			for g := range 12 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						res, b, err := send("POST", api(g, "/auth/login"), "", creds(email, "old-password"))
						if err != nil {
							t.Error(err)
							return
						}
						answered.Add(1)
						if res.StatusCode == 200 {
							var tok struct {
								AccessToken string `json:"access_token"`
							}
							if err := json.Unmarshal(b, &tok); err != nil {
								t.Error(err)
								return
							}
							if changed.Load() {
								after.Add(1)
							}
							mu.Lock()
							tokens = append(tokens, tok.AccessToken)
							mu.Unlock()
						}
					}
				})
			}
			waitFor(t, 2*time.Minute, "the first logins to be answered", func() bool { return answered.Load() >= 12 })
			switch change {
			case "password":
				code, body, _ = call(t, "POST", api(round, "/auth/password"), own,
					url.Values{"current_password": {"old-password"}, "new_password": {"new-password"}})
			case "disable":
				code, body = callJSON(t, "PATCH", api(round, "/users/"+id), root, map[string]any{"disabled": true})
			}
			if code != 200 {
				t.Fatalf("%s: %d %v", change, code, body)
			}
			changed.Store(true)
			mark := answered.Load()
			waitFor(t, 2*time.Minute, "logins after the change to be answered", func() bool { return answered.Load() >= mark+24 })
			close(stop)
			wg.Wait()
			if change == "disable" {
				if code, body := callJSON(t, "PATCH", api(round+1, "/users/"+id), root, map[string]any{"disabled": false}); code != 200 {
					t.Fatalf("enable: %d %v", code, body)
				}
			}
			live := 0
			for k, tok := range tokens {
				if code, _, _ := call(t, "GET", api(k+1, "/auth/user"), tok, nil); code == 200 {
					live++
				}
			}
			if live != 0 {
				t.Fatalf("%d of %d tokens of logins with the old credentials work after the %s (%d of them answered after its 200)",
					live, len(tokens), change, after.Load())
			}
			t.Logf("%d logins, %d tokens, %d answered 200 after the change: none works", answered.Load(), len(tokens), after.Load())
		})
	}
}
