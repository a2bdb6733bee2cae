package httpapi_test

// Tests of contract Part 3's keys and introspection, over real HTTP on
// every engine.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"widgetapi/internal/config"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testtoken"
)

// The introspection client of the test servers that have one.
const (
	introspectionID     = "gateway"
	introspectionSecret = "gateway-secret-0123456789"
)

func withIntrospectionClient(o *envOptions) {
	o.cfg.IntrospectionClients = []config.Client{{ID: introspectionID, Secret: introspectionSecret}}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// introspectRequest asks about token as the test client.
func introspectRequest(token string) request {
	return request{Method: "POST", Path: "/api/v1/auth/introspect", Conforms: true,
		Header: map[string]string{"Authorization": basic(introspectionID, introspectionSecret)},
		Form:   url.Values{"token": {token}}}
}

// introspect returns the answer about token.
func introspect(t *testing.T, e *env, token string) map[string]any {
	t.Helper()
	res := e.do(introspectRequest(token))
	if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("introspect: %d %v %s", res.Status, res.Header, res.Body)
	}
	return res.JSON(t)
}

func wantInactive(t *testing.T, e *env, what, token string) {
	t.Helper()
	if m := introspect(t, e, token); len(m) != 1 || m["active"] != false {
		t.Errorf("%s: introspection says %v, want only active false", what, m)
	}
}

func TestJWKSIsEmptyUnderHS256(t *testing.T) {
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.cfg.TokenAlg = "HS256" })
	res := e.do(request{Method: "GET", Path: "/.well-known/jwks.json", Conforms: true})
	if res.Status != http.StatusOK || strings.TrimSpace(string(res.Body)) != `{"keys":[]}` ||
		res.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("JWKS: %d %v %s", res.Status, res.Header, res.Body)
	}
}

func TestIntrospectionWithoutClientsIsNotFound(t *testing.T) {
	e := newEnv(t, sqliteEngine())
	res := e.do(introspectRequest(e.register("nobody@example.com", "nobody-password")))
	if res.Status != http.StatusNotFound {
		t.Errorf("introspection without INTROSPECTION_CLIENTS: %d %s", res.Status, res.Body)
	}
}

// An active token's claims, then active false from the very next call
// after each way a session ends.
func TestIntrospectionFollowsEveryEnding(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, withIntrospectionClient)
		token := e.register("alice@example.com", "alice-password")
		m := introspect(t, e, token)
		claims := testtoken.Payload(t, token)
		for _, k := range []string{"sub", "jti", "iss"} {
			if m[k] != claims[k] {
				t.Errorf("%s = %v, the token says %v", k, m[k], claims[k])
			}
		}
		if m["active"] != true || m["exp"] != claims["exp"] || m["iat"] != claims["iat"] || m["aud"] != "widgetapi" ||
			m["admin"] != false || m["token_type"] != "access_token" || len(m["amr"].([]any)) != 1 {
			t.Errorf("active token: %v", m)
		}

		// Logout.
		if res := e.do(request{Method: "POST", Path: "/api/v1/auth/logout", Token: token}); res.Status != http.StatusOK {
			t.Fatalf("logout: %d", res.Status)
		}
		wantInactive(t, e, "after logout", token)

		// A session ended from another.
		a := loginAs(e, "alice@example.com", "alice-password", "", "a")
		b := loginAs(e, "alice@example.com", "alice-password", "", "b")
		jti := testtoken.Payload(t, b)["jti"].(string)
		if res := e.do(request{Method: "DELETE", Path: "/api/v1/auth/sessions/" + jti, Token: a}); res.Status != http.StatusNoContent {
			t.Fatalf("end session: %d %s", res.Status, res.Body)
		}
		wantInactive(t, e, "after its session was ended", b)

		// A password change ends every other session.
		c := loginAs(e, "alice@example.com", "alice-password", "", "c")
		if res := e.do(request{Method: "POST", Path: "/api/v1/auth/password", Token: a,
			Form: url.Values{"current_password": {"alice-password"}, "new_password": {"alice-password-2"}}}); res.Status != http.StatusOK {
			t.Fatalf("password change: %d %s", res.Status, res.Body)
		}
		wantInactive(t, e, "after a password change", c)

		// Disabled, then deleted, by an administrator.
		admin := e.admin("root@example.com")
		d := loginAs(e, "alice@example.com", "alice-password-2", "", "d")
		if introspect(t, e, d)["active"] != true {
			t.Fatal("a new login is not active")
		}
		pid := claims["sub"].(string)
		if res := e.do(request{Method: "PATCH", Path: "/api/v1/users/" + pid, Token: admin,
			Form: url.Values{"disabled": {"true"}}}); res.Status != http.StatusOK {
			t.Fatalf("disable: %d %s", res.Status, res.Body)
		}
		wantInactive(t, e, "after the account was disabled", d)
		if res := e.do(request{Method: "PATCH", Path: "/api/v1/users/" + pid, Token: admin,
			Form: url.Values{"disabled": {"false"}}}); res.Status != http.StatusOK {
			t.Fatalf("enable: %d %s", res.Status, res.Body)
		}
		f := loginAs(e, "alice@example.com", "alice-password-2", "", "f")
		if res := e.do(request{Method: "DELETE", Path: "/api/v1/users/" + pid, Token: admin}); res.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", res.Status, res.Body)
		}
		wantInactive(t, e, "after the account was deleted", f)

		// Expired, and things that are no token.
		live := e.register("bob@example.com", "bob-password")
		e.clock.Advance(e.tokens.TTL())
		wantInactive(t, e, "after expiry", live)
		for _, junk := range []string{"garbage", live + "x", strings.Repeat("a", 5000)} {
			wantInactive(t, e, "not a token", junk)
		}
	})
}

// Client authentication: 401 with a Basic challenge, audited; a missing
// token field is a 400 naming it; repeated failures from one address get
// 429 while the right client is still served.
func TestIntrospectionClientAuthentication(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, withIntrospectionClient, func(o *envOptions) { o.cfg.LoginFailuresPerMinute = 3 })
		token := e.register("carol@example.com", "carol-password")
		for name, auth := range map[string]string{
			"no credentials": "",
			"wrong secret":   basic(introspectionID, introspectionSecret+"x"),
			"unknown client": basic("stranger", introspectionSecret),
			"a bearer token": "Bearer " + token,
		} {
			req := introspectRequest(token)
			req.Conforms = false
			req.Header = map[string]string{"Authorization": auth, "X-Forwarded-For": "198.51.100.1"}
			if auth == "" {
				req.Header = nil
			}
			res := e.do(req)
			if res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Basic realm="introspection", charset="UTF-8"` {
				t.Errorf("%s: %d %v %s", name, res.Status, res.Header, res.Body)
			}
		}
		admin := e.admin("root@example.com")
		res := e.do(request{Method: "GET", Path: "/api/v1/audit?action=auth.introspection_failed", Token: admin})
		if n := len(res.JSON(t)["items"].([]any)); n != 4 {
			t.Errorf("%d failed introspections audited, want 4: %s", n, res.Body)
		}
		if strings.Contains(string(res.Body), introspectionSecret) || strings.Contains(string(res.Body), token) {
			t.Error("the audit log holds a secret or a token")
		}

		res = e.do(request{Method: "POST", Path: "/api/v1/auth/introspect",
			Header: map[string]string{"Authorization": basic(introspectionID, introspectionSecret)}, Form: url.Values{}})
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"token"`) {
			t.Errorf("without a token: %d %s", res.Status, res.Body)
		}

		// The failed-login limit of one client id at one address.
		e2 := newEnv(t, engine, withIntrospectionClient, func(o *envOptions) {
			o.cfg.LoginFailuresPerMinute = 3
			o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8")
		})
		token = e2.register("dave@example.com", "dave-password")
		var last response
		for range 4 {
			req := introspectRequest(token)
			req.Header = map[string]string{"Authorization": basic(introspectionID, "guess-0123456789abc"), "X-Forwarded-For": "198.51.100.2"}
			last = e2.do(req)
		}
		if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
			t.Errorf("the fourth failure in a minute: %d %s", last.Status, last.Body)
		}
		req := introspectRequest(token)
		req.Header["X-Forwarded-For"] = "198.51.100.2"
		if res := e2.do(req); res.Status != http.StatusOK || res.JSON(t)["active"] != true {
			t.Errorf("the right client from a throttled address: %d %s", res.Status, res.Body)
		}
	})
}

// Under EdDSA and ES256 the JWKS holds the key of every token issued, in a
// form a stock verifier (keyfunc) checks tokens with, and introspection
// answers for asymmetric tokens as for HS256 ones.
func TestJWKSVerifiesIssuedTokens(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
				e := newEnv(t, engine, withIntrospectionClient, func(o *envOptions) { o.cfg.TokenAlg = alg })
				token := e.register("frank@example.com", "frank-password")
				res := e.do(request{Method: "GET", Path: "/.well-known/jwks.json", Conforms: true})
				if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "public, max-age=300" {
					t.Fatalf("JWKS: %d %v", res.Status, res.Header)
				}
				set, err := keyfunc.NewJWKSetJSON(json.RawMessage(res.Body))
				if err != nil {
					t.Fatal(err)
				}
				parsed, err := jwt.Parse(token, set.Keyfunc, jwt.WithValidMethods([]string{alg}),
					jwt.WithIssuer("widgetapi"), jwt.WithAudience("widgetapi"), jwt.WithTimeFunc(e.clock.Now))
				if err != nil {
					t.Fatalf("a stock verifier refused the token with the JWKS: %v", err)
				}
				if parsed.Header["alg"] != alg || parsed.Header["kid"] == "" {
					t.Errorf("header %v", parsed.Header)
				}
				if m := introspect(t, e, token); m["active"] != true {
					t.Errorf("introspection: %v", m)
				}
				// An HS256 token keyed with the JWKS itself is refused.
				forged := testtoken.Sign(t, jwt.SigningMethodHS256, res.Body, jwt.MapClaims(testtoken.Payload(t, token)))
				if code, msg := userStatus(t, e, forged); code != http.StatusUnauthorized || msg != "Invalid token. Please log in again." {
					t.Errorf("HS256 keyed with the JWKS: %d %q", code, msg)
				}
			})
		})
	}
}
