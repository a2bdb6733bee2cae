package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"widgetapi"
)

// FuzzAccountInputs posts arbitrary tokens, addresses and passwords to
// the routes of the tokens sent by mail: the answer is never a 5xx, always
// JSON, always one the contract lists for the route, and a 400 names a
// field.
func FuzzAccountInputs(f *testing.F) {
	e := newEnv(f, sqliteEngine())
	e.register("fuzz@example.com", "password-1")
	// The email route's caller: a reset of the other account's with the
	// real token ends only that account's sessions.
	tok := e.register("caller@example.com", "password-1")
	wantStatus(f, "", e.post(forgotPath, "", "email", "fuzz@example.com"), http.StatusAccepted, "")
	secret := e.mailToken("fuzz@example.com", widgetapi.MailPasswordReset)
	routes := []struct {
		path, field string
		token       bool
		statuses    []int
	}{
		{verifyPath, "token", false, []int{200, 400}},
		{confirmPath, "token", false, []int{200, 400, 409}},
		{resetPath, "token", false, []int{200, 400}},
		{forgotPath, "email", false, []int{202, 400}},
		{emailPath, "new_email", true, []int{202, 400}},
	}
	for _, s := range []string{"", secret, secret[:42], secret + "=", strings.Repeat("A", 43), "a@b.io", "first last",
		"\x00", "é@x.io", "\xed\xa0\x80", strings.Repeat("x", 5000), "../../etc/passwd", "<script>", "%00", "a@b.io\r\nBcc: x@y.io"} {
		for i := range routes {
			f.Add(uint8(i), s, "password-2")
		}
	}
	client := e.srv.Client()
	f.Fuzz(func(t *testing.T, route uint8, value, password string) {
		r := routes[int(route)%len(routes)]
		body := map[string]string{r.field: value, "new_password": password, "current_password": password}
		if r.path == resetPath {
			body["token"] = value
		}
		b, err := json.Marshal(body)
		if err != nil {
			t.Skip()
		}
		req, err := http.NewRequest("POST", e.srv.URL+r.path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if r.token {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var answer map[string]any
		if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
			t.Fatalf("%s: the answer %d is not JSON: %v", r.path, res.StatusCode, err)
		}
		ok := false
		for _, s := range r.statuses {
			ok = ok || res.StatusCode == s
		}
		if !ok {
			t.Fatalf("%s with %q: %d %v", r.path, value, res.StatusCode, answer)
		}
		if res.StatusCode == http.StatusBadRequest {
			if errs, _ := answer["errors"].(map[string]any); len(errs) == 0 {
				t.Fatalf("%s: a 400 naming no field: %v", r.path, answer)
			}
		}
	})
}
