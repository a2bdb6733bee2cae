package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"widgetapi/internal/testdb"
)

// keyEnv is the environment of processes signing with EdDSA keys that a
// rotation publishes 4 s before they sign.
func keyEnv(dbURL string, more ...string) []string {
	return baseEnv(append([]string{"DATABASE_URL=" + dbURL, "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789", "TOKEN_ALG=EdDSA", "KEY_PUBLISH_AHEAD=4s",
		"INTROSPECTION_CLIENTS=gateway:gateway-secret-0123456789"}, more...)...)
}

// kidOf returns the kid in raw's header.
func kidOf(t *testing.T, raw string) string {
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Errorf("token %q: %v", raw, err)
		return ""
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// Three processes start together on an empty database and make one key;
// `keys rotate` runs twice while they serve logins and reads without
// pause. No valid token is ever refused, and a verifier that caches the
// JWKS (keyfunc, refreshing every second, never on an unknown kid) finds
// the kid of every token it is given: each key is published well before
// it signs.
func TestKeyRotationUnderLoadOnThreeProcesses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		// Six clients log in to one account without pause: the
		// failed-login limits, which hold a token during each check,
		// are not what this test is about.
		env := keyEnv(sharedDatabase(t, engine.Name), "LOGIN_FAILURE_LIMIT=0", "LOGIN_ACCOUNT_LIMIT=0")
		s := startProcesses(t, 3, env)
		jwks := s[0].URL + "/.well-known/jwks.json"
		keyCount := func(i int) int {
			code, body, hdr := call(t, "GET", s[i].URL+"/.well-known/jwks.json", "", nil)
			if code != 200 || hdr.Get("Cache-Control") != "public, max-age=300" {
				t.Fatalf("JWKS on %d: %d %v", i, code, hdr)
			}
			return len(body["keys"].([]any))
		}
		for i := range s {
			if n := keyCount(i); n != 1 {
				t.Fatalf("processes that started together publish %d keys on %d, want 1", n, i)
			}
		}

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		store, err := jwkset.NewStorageFromHTTP(jwks, jwkset.HTTPClientStorageOptions{Ctx: ctx, RefreshInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		verifier, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: store})
		if err != nil {
			t.Fatal(err)
		}
		parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("widgetapi"),
			jwt.WithAudience("widgetapi"), jwt.WithExpirationRequired())

		if code, body, _ := call(t, "POST", s[0].URL+"/api/v1/auth/register", "", creds("load@example.com", "password1")); code != 201 {
			t.Fatalf("register: %d %v", code, body)
		}
		_, body, _ := call(t, "POST", s[0].URL+"/api/v1/auth/login", "", creds("load@example.com", "password1"))
		first := body["access_token"].(string)

		var (
			mu        sync.Mutex
			refused   []string
			unknown   []string
			kidsByPID = map[int]map[string]bool{0: {}, 1: {}, 2: {}}
			requests  atomic.Int64
		)
		newest := func(kid string) bool {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range kidsByPID {
				if !m[kid] {
					return false
				}
			}
			return true
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for n := w; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					p := n % 3
					code, body, err := sendForm("POST", s[p].URL+"/api/v1/auth/login", "", creds("load@example.com", "password1"))
					if err != nil || code != 200 {
						mu.Lock()
						refused = append(refused, fmt.Sprintf("login on %d: %d %v %v", p, code, body, err))
						mu.Unlock()
						continue
					}
					tok := body["access_token"].(string)
					kid := kidOf(t, tok)
					mu.Lock()
					kidsByPID[p][kid] = true
					mu.Unlock()
					if _, err := parser.Parse(tok, verifier.Keyfunc); err != nil {
						mu.Lock()
						unknown = append(unknown, fmt.Sprintf("token of kid %s from %d: %v", kid, p, err))
						mu.Unlock()
					}
					for _, q := range []int{(p + 1) % 3, (p + 2) % 3} {
						for _, tk := range []string{tok, first} {
							code := sendStatus("GET", s[q].URL+"/api/v1/auth/user", tk, nil)
							requests.Add(1)
							if code != 200 {
								mu.Lock()
								refused = append(refused, fmt.Sprintf("GET /auth/user on %d with a token of kid %s: %d", q, kidOf(t, tk), code))
								mu.Unlock()
							}
						}
					}
				}
			})
		}
		c := newCLI(t, env)
		var rotated []string
		for range 2 {
			out, _ := c.ok("keys", "rotate")
			kid := strings.Fields(out)[1]
			rotated = append(rotated, kid)
			// Until every process signs with the new key; a deadline
			// for failure only, the work goes on meanwhile.
			deadline := time.Now().Add(30 * time.Second)
			for !newest(kid) {
				if time.Now().After(deadline) {
					close(stop)
					wg.Wait()
					t.Fatalf("key %s does not sign on every process: %v", kid, kidsByPID)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		close(stop)
		wg.Wait()
		if len(refused) > 0 {
			t.Errorf("%d valid tokens refused, e.g. %v", len(refused), refused[:min(5, len(refused))])
		}
		if len(unknown) > 0 {
			t.Errorf("the JWKS-caching verifier failed %d tokens, e.g. %v", len(unknown), unknown[:min(5, len(unknown))])
		}
		if requests.Load() < 100 {
			t.Errorf("only %d requests ran during the rotations", requests.Load())
		}
		// The first key and the one after it verify tokens still alive.
		for i := range s {
			if n := keyCount(i); n != 3 {
				t.Errorf("process %d publishes %d keys, want 3", i, n)
			}
		}
		out, _ := c.ok("keys", "list")
		if !strings.Contains(out, rotated[1]+"  EdDSA  signing") || strings.Count(out, "verifying") != 2 {
			t.Errorf("keys list:\n%s", out)
		}
	})
}

// sendForm is call for goroutines: it reports instead of failing.
func sendForm(method, url, token string, form url.Values) (int, map[string]any, error) {
	res, b, err := send(method, url, token, form)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, nil
}

// Introspection on every process says active false from the very next
// call after each way a session ends, made through another process: 50
// rounds of logout, a session ended from another, a password change, a
// disabled account and a deleted one.
func TestIntrospectionOnThreeProcesses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		env := keyEnv(sharedDatabase(t, engine.Name))
		s := startProcesses(t, 3, env)
		c := newCLI(t, env)
		c.add("root@example.com", "root-password", true)
		root := login(t, s[0], "root@example.com", "root-password")
		introspect := func(i int, token string) map[string]any {
			t.Helper()
			req, err := http.NewRequest("POST", s[i].URL+"/api/v1/auth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("gateway", "gateway-secret-0123456789")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var m map[string]any
			if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
				t.Fatalf("introspect on %d: %d %v", i, res.StatusCode, err)
			}
			return m
		}
		everywhere := func(what, token string, active bool) {
			t.Helper()
			for i := range s {
				if m := introspect(i, token); m["active"] != active {
					t.Fatalf("%s: on %d introspection says %v, want active %t", what, i, m, active)
				}
			}
		}
		email, password, other := "eve@example.com", "password-a", "password-b"
		if code, body, _ := call(t, "POST", s[1].URL+"/api/v1/auth/register", "", creds(email, password)); code != 201 {
			t.Fatalf("register: %d %v", code, body)
		}
		publicID := func() string {
			_, body, _ := call(t, "GET", s[2].URL+"/api/v1/users?email="+url.QueryEscape(email), root, nil)
			return body["items"].([]any)[0].(map[string]any)["public_id"].(string)
		}
		for r := range 50 {
			p, q := r%3, (r+1)%3
			_, body, _ := call(t, "POST", s[p].URL+"/api/v1/auth/login", "", creds(email, password))
			tok, _ := body["access_token"].(string)
			everywhere(fmt.Sprintf("round %d, a new login", r), tok, true)
			var what string
			switch r % 5 {
			case 0:
				what = "logout"
				if code, _, _ := call(t, "POST", s[q].URL+"/api/v1/auth/logout", tok, nil); code != 200 {
					t.Fatalf("round %d: logout %d", r, code)
				}
			case 1:
				what = "its session ended from another"
				_, body, _ := call(t, "POST", s[q].URL+"/api/v1/auth/login", "", creds(email, password))
				second := body["access_token"].(string)
				claims := jwt.MapClaims{}
				if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
					t.Fatal(err)
				}
				if code, _, _ := call(t, "DELETE", s[q].URL+"/api/v1/auth/sessions/"+claims["jti"].(string), second, nil); code != 204 {
					t.Fatalf("round %d: end session %d", r, code)
				}
			case 2:
				what = "a password change"
				form := url.Values{"current_password": {password}, "new_password": {other}}
				if code, body, _ := call(t, "POST", s[q].URL+"/api/v1/auth/password", tok, form); code != 200 {
					t.Fatalf("round %d: password change %d %v", r, code, body)
				}
				password, other = other, password
				_, body, _ := call(t, "POST", s[q].URL+"/api/v1/auth/login", "", creds(email, password))
				// The answer's own session is alive; the earlier one is not.
				everywhere(fmt.Sprintf("round %d, the session a password change opened", r), body["access_token"].(string), true)
			case 3:
				what = "a disabled account"
				id := publicID()
				if code, body := callJSON(t, "PATCH", s[q].URL+"/api/v1/users/"+id, root, map[string]any{"disabled": true}); code != 200 {
					t.Fatalf("round %d: disable %d %v", r, code, body)
				}
				everywhere(fmt.Sprintf("round %d, after %s", r, what), tok, false)
				if code, body := callJSON(t, "PATCH", s[p].URL+"/api/v1/users/"+id, root, map[string]any{"disabled": false}); code != 200 {
					t.Fatalf("round %d: enable %d %v", r, code, body)
				}
			case 4:
				what = "a deleted account"
				if code, body, _ := call(t, "DELETE", s[q].URL+"/api/v1/users/"+publicID(), root, nil); code != 204 {
					t.Fatalf("round %d: delete %d %v", r, code, body)
				}
				everywhere(fmt.Sprintf("round %d, after %s", r, what), tok, false)
				if code, body, _ := call(t, "POST", s[p].URL+"/api/v1/auth/register", "", creds(email, password)); code != 201 {
					t.Fatalf("round %d: register again %d %v", r, code, body)
				}
			}
			everywhere(fmt.Sprintf("round %d, after %s", r, what), tok, false)
		}
	})
}

// The keys commands on their own: an empty set says where the first key
// comes from, a rotation lists as next, and HS256 has nothing to rotate.
func TestRunKeysCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"APP_ENV": "testing", "DATA_DIR": dir, "TOKEN_ALG": "ES256", "KEY_PUBLISH_AHEAD": "1h"}
	out, errOut, err := runIn(t, env, "keys", "list")
	if err != nil || errOut != "" || !strings.Contains(out, "no keys; TOKEN_ALG is ES256 and serve makes the first key when it starts") {
		t.Fatalf("keys list on an empty set: %v, %q, %q", err, out, errOut)
	}
	out, _, err = runIn(t, env, "keys", "rotate")
	if err != nil || !strings.Contains(out, "(ES256) is published now and signs from ") {
		t.Fatalf("keys rotate: %v, %q", err, out)
	}
	kid := strings.Fields(out)[1]
	out, _, err = runIn(t, env, "keys", "list")
	if err != nil || !strings.Contains(out, kid+"  ES256  next") {
		t.Fatalf("keys list after a rotation: %v\n%s", err, out)
	}
	env["TOKEN_ALG"] = "HS256"
	if _, _, err := runIn(t, env, "keys", "rotate"); err == nil || !strings.Contains(err.Error(), "rotate SECRET_KEY instead") {
		t.Fatalf("keys rotate under HS256: %v", err)
	}
	if _, errOut, err := runIn(t, env, "keys", "rotate", "now"); err == nil || !strings.Contains(errOut, `unexpected argument "now"`) {
		t.Fatalf("keys rotate now: %v, %q", err, errOut)
	}
}
