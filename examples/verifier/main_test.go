package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"widgetapi/internal/app"
	"widgetapi/internal/config"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testtoken"
)

const secret = "verifier-example-secret-key-0123456789"

// service runs widgetapi, wired as serve wires it, signing with alg.
func service(t *testing.T, alg string) string {
	t.Helper()
	env := map[string]string{"APP_ENV": "testing", "SECRET_KEY": secret, "TOKEN_TTL": "1h", "TOKEN_ALG": alg,
		"INTROSPECTION_CLIENTS": "gateway:gateway-secret-0123456789"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, app.Deps{Store: testdb.OpenSQLite(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.API)
	t.Cleanup(srv.Close)
	return srv.URL
}

func post(t *testing.T, u, token string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %v", u, res.StatusCode, err)
	}
	return m
}

// The example verifies real tokens of both asymmetric algorithms from the
// JWKS alone, refuses altered and HS256 ones, and learns of a logout only
// by introspection.
func TestVerifier(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			base := service(t, alg)
			token := post(t, base+"/api/v1/auth/register", "", url.Values{"email": {"ann@example.com"}, "password": {"ann-password"}})["access_token"].(string)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			v, err := New(ctx, Config{URL: base, ClientID: "gateway", ClientSecret: "gateway-secret-0123456789"})
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(token)
			if err != nil {
				t.Fatal(err)
			}
			if want := testtoken.Payload(t, token); c.Subject != want["sub"] || c.SessionID != want["jti"] || c.Admin {
				t.Errorf("claims %+v, token %v", c, want)
			}
			if _, err := v.VerifyActive(ctx, token); err != nil {
				t.Errorf("VerifyActive of a live token: %v", err)
			}
			// The command prints the claims.
			var out bytes.Buffer
			if err := run(ctx, []string{"-url", base, token}, func(string) string { return "" }, &out); err != nil ||
				!strings.Contains(out.String(), `"sub": "`+c.Subject+`"`) {
				t.Errorf("run: %v\n%s", err, out.String())
			}

			altered := testtoken.Tamper(t, token, func(m map[string]any) { m["admin"] = true })
			hs := testtoken.Sign(t, jwt.SigningMethodHS256, []byte(secret), testtoken.Claims(c.IssuedAt, c.Subject))
			for name, bad := range map[string]string{"altered": altered, "HS256": hs, "garbage": "not-a-token"} {
				if _, err := v.Verify(bad); err == nil {
					t.Errorf("%s token verified", name)
				}
			}

			post(t, base+"/api/v1/auth/logout", token, nil)
			if _, err := v.Verify(token); err != nil {
				t.Errorf("offline, a logged-out token still verifies until it expires; got %v", err)
			}
			if _, err := v.VerifyActive(ctx, token); !errors.Is(err, ErrInactive) {
				t.Errorf("VerifyActive after logout: %v, want ErrInactive", err)
			}
			err = run(ctx, []string{"-url", base, "-revocation", token}, func(k string) string {
				if k == "INTROSPECTION_CLIENT" {
					return "gateway:gateway-secret-0123456789"
				}
				return ""
			}, io.Discard)
			if !errors.Is(err, ErrInactive) {
				t.Errorf("run -revocation after logout: %v", err)
			}
		})
	}
}
