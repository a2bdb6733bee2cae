package httpapi_test

import (
	"net/url"
	"testing"

	"widgetapi/internal/testdb"
)

// FuzzMFAInputs: no code, otp or mfa_token makes the second factor's
// routes answer 500 or crash, and a 2xx is never given to a guess.
func FuzzMFAInputs(f *testing.F) {
	e := newEnv(f, testdb.Engine{Name: "sqlite", Open: testdb.OpenSQLite})
	u := enrol(f, e, "fuzz@example.com")
	mt := startLogin(f, e, u.email)
	f.Add(mt, "123456", "123456")
	f.Add("", "", "")
	f.Add(mt, u.recovery[0]+"x", "abcdef")
	f.Add("\x00\xff", "１２３４５６", "12345\u0663")
	f.Add(mt+mt+mt+mt, "-----", "0000000")
	f.Fuzz(func(t *testing.T, token, otp, code string) {
		for _, req := range []request{
			{Method: "POST", Path: "/api/v1/auth/login/mfa", Form: url.Values{"mfa_token": {token}, "otp": {otp}}},
			{Method: "POST", Path: "/api/v1/auth/login/mfa", JSON: map[string]any{"mfa_token": token, "otp": otp}},
			{Method: "POST", Path: "/api/v1/auth/mfa/totp/confirm", Token: u.token, Form: url.Values{"code": {code}}},
			{Method: "DELETE", Path: "/api/v1/auth/mfa/totp", Token: u.token, Form: url.Values{"current_password": {"wrong-password"}, "otp": {otp}}},
		} {
			_, res, err := e.send(req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status >= 500 || res.Status < 300 {
				t.Fatalf("%s %s (%q, %q, %q): %d %s", req.Method, req.Path, token, otp, code, res.Status, res.Body)
			}
		}
	})
}
