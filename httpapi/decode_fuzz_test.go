package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"

	"widgetapi/internal/testdb"
)

// decodeFuzzTypes are the content types FuzzDecodeBody picks from; the last
// slot stands for the fuzzed raw content type.
var decodeFuzzTypes = []string{
	"application/x-www-form-urlencoded",
	"application/json",
	"application/json; charset=utf-8",
	"multipart/form-data; boundary=XYZ",
	"multipart/form-data",
	"text/plain",
	"", // no Content-Type header
	"raw",
}

// decodeFuzzMultipart is a valid multipart body with boundary XYZ.
const decodeFuzzMultipart = "--XYZ\r\n" +
	"Content-Disposition: form-data; name=\"email\"\r\n\r\n" +
	"fuzz@example.com\r\n" +
	"--XYZ\r\n" +
	"Content-Disposition: form-data; name=\"password\"\r\n\r\n" +
	"password1\r\n" +
	"--XYZ--\r\n"

// FuzzDecodeBody posts arbitrary bodies with assorted content types to
// register (and login): the answer is never a 5xx, always JSON, and always
// one of the statuses the contract lists for these routes.
func FuzzDecodeBody(f *testing.F) {
	e := newEnv(f, testdb.Engine{Name: "sqlite", Open: testdb.OpenSQLite})
	client := e.srv.Client()

	const (
		form = iota
		jsonType
		jsonUTF8
		multipartXYZ
		multipartNoBoundary
		textPlain
		none
		raw
	)
	add := func(kind int, rawCT, body string) { f.Add(byte(kind), rawCT, []byte(body)) }
	add(form, "", "email=fuzz%40example.com&password=password1")
	add(form, "", "email=first+last&password=short")
	add(form, "", "email=%zz&password=password1")
	add(form, "", "email=a@x.io&email=b@x.io&password=password1&password=")
	add(form, "", "email=some%FFone@example.com&password=password1")
	add(form, "", "")
	add(jsonType, "", `{"email": "fuzz2@example.com", "password": "password1"}`)
	add(jsonUTF8, "", `{"email": "FUZZ2@example.com", "password": "password1"}`)
	add(jsonType, "", `{"email": 12, "password": ["x"]}`)
	add(jsonType, "", `[{"email": "a@x.io"}]`)
	add(jsonType, "", `{"email": "a@x.io", "password": `)
	add(jsonType, "", `{"email": "a@x.io", "password": "password1"} trailing`)
	add(jsonType, "", `{}{}`)
	add(jsonType, "", `null`)
	add(jsonType, "", "{\"email\": \"\xff@x.io\", \"password\": \"password1\"}")
	add(jsonType, "", `{"email": "\ud800@x.io", "password": "password1"}`)
	add(jsonType, "", `{"email": "a@x.io", "password": "`+strings.Repeat("p", 73)+`"}`)
	add(jsonType, "", strings.Repeat("[", 10000))
	add(multipartXYZ, "", decodeFuzzMultipart)
	add(multipartXYZ, "", strings.TrimSuffix(decodeFuzzMultipart, "--XYZ--\r\n"))
	add(multipartXYZ, "", "--XYZ\r\nContent-Disposition: form-data; name=\"email\"; filename=\"a.txt\"\r\n\r\nx\r\n--XYZ--\r\n")
	add(multipartNoBoundary, "", decodeFuzzMultipart)
	add(textPlain, "", "email=a@x.io&password=password1")
	add(none, "", "")
	add(none, "", "email=a@x.io")
	add(raw, "application/json; charset=latin1", `{"email": "raw@example.com", "password": "password1"}`)
	add(raw, "APPLICATION/JSON", `{"email": "raw2@example.com", "password": "password1"}`)
	add(raw, "multipart/form-data; boundary=", decodeFuzzMultipart)
	add(raw, "multipart/mixed; boundary=XYZ", decodeFuzzMultipart)
	add(raw, "application/x-www-form-urlencoded; charset=\"", "email=a")
	add(raw, ";;;", "x")
	add(raw, "application/json\u00e9", "{}")

	f.Fuzz(func(t *testing.T, kind byte, rawCT string, body []byte) {
		ct := decodeFuzzTypes[int(kind&0x7f)%len(decodeFuzzTypes)]
		if ct == "raw" {
			// Keep to what an HTTP client can send in a header at all.
			ct = strings.Map(func(r rune) rune {
				if r < 0x20 && r != '\t' || r == 0x7f {
					return -1
				}
				return r
			}, rawCT)
		}
		path := "/api/v1/auth/register"
		allowed := []int{201, 400, 409, 413, 415}
		if kind&0x80 != 0 {
			path = "/api/v1/auth/login"
			allowed = []int{200, 400, 401, 413, 415, 429}
		}
		req, err := http.NewRequestWithContext(context.Background(), "POST", e.srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("Content-Type %q: %v", ct, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode >= 500 {
			t.Fatalf("Content-Type %q, body %q: status %d: %s", ct, body, res.StatusCode, b)
		}
		if !slices.Contains(allowed, res.StatusCode) {
			t.Fatalf("Content-Type %q, body %q: status %d is not one of %v: %s", ct, body, res.StatusCode, allowed, b)
		}
		if mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			t.Fatalf("response Content-Type %q", res.Header.Get("Content-Type"))
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("response body is not a JSON object: %v: %q", err, b)
		}
		if msg, _ := m["message"].(string); msg == "" {
			t.Fatalf("response without a message: %s", b)
		}
	})
}

// FuzzPatchUser sends arbitrary bodies to PATCH /users/{public_id}: the
// answer is never a 5xx, and a 200 says what is stored.
func FuzzPatchUser(f *testing.F) {
	e := newEnv(f, testdb.Engine{Name: "sqlite", Open: testdb.OpenSQLite})
	admin := e.admin("root@example.com")
	target := publicID(f, e.register("target@example.com", "target-password"))
	for _, c := range []struct{ ct, body string }{
		{"application/json", `{"admin": true}`},
		{"application/json", `{"admin": false, "disabled": true}`},
		{"application/json", `{"admin": "true", "disabled": null}`},
		{"application/json", `{"admin": true, "admin": false}`},
		{"application/json", `{"disabled": 0}`},
		{"application/json", `[]`},
		{"application/x-www-form-urlencoded", "admin=true&disabled=false"},
		{"application/x-www-form-urlencoded", "admin=TRUE"},
		{"application/x-www-form-urlencoded", "disabled=%ff"},
		{"multipart/form-data; boundary=XYZ", "--XYZ\r\nContent-Disposition: form-data; name=\"disabled\"\r\n\r\ntrue\r\n--XYZ--\r\n"},
		{"text/plain", "admin=true"},
	} {
		f.Add(c.ct, []byte(c.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		res, m := fuzzPatch(t, e, "/api/v1/users/"+target, admin, ct, body)
		if res.StatusCode == 200 {
			u, err := e.store.FindUserByEmail(context.Background(), "target@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if m["admin"] != u.Admin || m["disabled"] != u.Disabled {
				t.Fatalf("answered %v, stored admin=%v disabled=%v", m, u.Admin, u.Disabled)
			}
		}
	})
}

// FuzzPatchWidget sends arbitrary bodies to PATCH /widgets/{name}: the
// answer is never a 5xx, a refusal leaves the widget as it was, and a 200's
// ETag is the widget's new one.
func FuzzPatchWidget(f *testing.F) {
	e := newEnv(f, testdb.Engine{Name: "sqlite", Open: testdb.OpenSQLite})
	admin := e.admin("root@example.com")
	mustCreateWidget(e, admin, "w")
	for _, c := range []struct{ ct, body string }{
		{"application/merge-patch+json", `{"info_url": "https://example.com/a"}`},
		{"application/merge-patch+json", `{"deadline": null}`},
		{"application/merge-patch+json", `{"deadline": "2099-01-01", "deadline": "2098-01-01"}`},
		{"application/json", `{"info_url": "https://example.com/b", "deadline": "Dec 31 2099"}`},
		{"application/json", `{"name": "other"}`},
		{"application/json", `{}`},
		{"application/json", `{"info_url": 7}`},
		{"application/x-www-form-urlencoded", "deadline=2099-12-31"},
		{"application/x-www-form-urlencoded", "info_url=%ff"},
		{"multipart/form-data; boundary=XYZ", "--XYZ\r\nContent-Disposition: form-data; name=\"info_url\"\r\n\r\nhttps://example.com/c\r\n--XYZ--\r\n"},
		{"text/plain", "deadline=2099-12-31"},
	} {
		f.Add(c.ct, []byte(c.body))
	}
	get := func(t *testing.T) string {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", e.srv.URL+"/api/v1/widgets/w", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET w: %d", res.StatusCode)
		}
		return res.Header.Get("ETag")
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		before := get(t)
		res, m := fuzzPatch(t, e, "/api/v1/widgets/w", admin, ct, body)
		after := get(t)
		if res.StatusCode == 200 && (after == before || res.Header.Get("ETag") != after) {
			t.Fatalf("200 with ETag %q: stored %q, before %q", res.Header.Get("ETag"), after, before)
		}
		if res.StatusCode != 200 && after != before {
			t.Fatalf("status %d %v changed the widget", res.StatusCode, m)
		}
	})
}

// fuzzPatch sends body as a PATCH of path with Content-Type ct (stripped of
// the control characters no header may carry) and returns the answer and
// its JSON body, failing unless it is 200, 400, 413 or 415.
func fuzzPatch(t *testing.T, e *env, path, token, ct string, body []byte) (*http.Response, map[string]any) {
	t.Helper()
	ct = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, ct)
	req, err := http.NewRequestWithContext(context.Background(), "PATCH", e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatalf("status %d, body not JSON: %v", res.StatusCode, err)
	}
	if !slices.Contains([]int{200, 400, 413, 415}, res.StatusCode) {
		t.Fatalf("Content-Type %q, body %q: status %d: %v", ct, body, res.StatusCode, m)
	}
	return res, m
}
