package httpapi_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"widgetapi/httpapi"
	"widgetapi/internal/testdb"
)

// multipartBody builds a multipart/form-data body from fields in order, and
// from files (name → content) sent as file parts.
func multipartBody(t *testing.T, fields [][2]string, files map[string]string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		w, err := mw.CreateFormFile(name, "x.txt")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(content))
	}
	mw.Close()
	return buf.String(), mw.FormDataContentType()
}

// The limits every body decoder keeps, whatever the content type: at most
// MaxBodyFields fields, each named field at most MaxFieldBytes, and a JSON
// field given twice refused by name.
func TestBodyLimits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		long := strings.Repeat("a", httpapi.MaxFieldBytes) + "@example.com"
		filler := func(n int) []string {
			var out []string
			for i := range n {
				out = append(out, fmt.Sprintf("x%d", i))
			}
			return out
		}
		jsonObj := func(extra int, members ...string) string {
			for _, k := range filler(extra) {
				members = append(members, `"`+k+`":0`)
			}
			return "{" + strings.Join(members, ",") + "}"
		}
		form := func(extra int, v url.Values) string {
			for _, k := range filler(extra) {
				v.Set(k, "")
			}
			return v.Encode()
		}
		mp := func(extra int, fields ...[2]string) request {
			for _, k := range filler(extra) {
				fields = append(fields, [2]string{k, ""})
			}
			body, ct := multipartBody(t, fields, nil)
			return request{Raw: body, Header: map[string]string{"Content-Type": ct}}
		}
		js := func(body string) request {
			return request{Raw: body, Header: map[string]string{"Content-Type": "application/json"}}
		}
		fm := func(body string) request {
			return request{Raw: body, Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		}
		good := url.Values{"email": {"ok@example.com"}, "password": {"password1"}}
		fileEmail, fileCT := multipartBody(t, [][2]string{{"password", "password1"}}, map[string]string{"email": "file@example.com"})
		max := httpapi.MaxBodyFields
		for i, tc := range []struct {
			name   string
			req    request
			status int
			field  string // named in errors, or "" for a success
			why    string
		}{
			{"json: the most fields allowed", js(jsonObj(max-2, `"email":"j1@example.com"`, `"password":"password1"`)), 201, "", ""},
			{"json: one field too many", js(jsonObj(max-1, `"email":"j2@example.com"`, `"password":"password1"`)), 400, "body", "more than"},
			{"json: an email given twice", js(`{"email":"a@example.com","password":"password1","email":"b@example.com"}`), 400, "email", "more than once"},
			{"json: an email over the field limit", js(`{"email":"` + long + `","password":"password1"}`), 400, "email", "longer than"},
			{"json: a huge unknown field is skipped", js(`{"email":"j3@example.com","password":"password1","bio":"` + strings.Repeat("b", 512<<10) + `"}`), 201, "", ""},
			{"form: the most fields allowed", fm(form(max-2, url.Values{"email": {"f1@example.com"}, "password": {"password1"}})), 201, "", ""},
			{"form: one field too many", fm(form(max-1, url.Values{"email": {"f2@example.com"}, "password": {"password1"}})), 400, "body", "more than"},
			{"form: an email over the field limit", fm(url.Values{"email": {long}, "password": {"password1"}}.Encode()), 400, "email", "longer than"},
			{"form: an escaped email over the field limit", fm("password=password1&email=" + strings.Repeat("%61", httpapi.MaxFieldBytes+1)), 400, "email", "longer than"},
			{"form: a repeated field takes its first value", fm("email=f3%40example.com&password=password1&email=other"), 201, "", ""},
			{"multipart: the most fields allowed", mp(max-2, [2]string{"email", "m1@example.com"}, [2]string{"password", "password1"}), 201, "", ""},
			{"multipart: one field too many", mp(max-1, [2]string{"email", "m2@example.com"}, [2]string{"password", "password1"}), 400, "body", "more than"},
			{"multipart: an email over the field limit", mp(0, [2]string{"email", long}, [2]string{"password", "password1"}), 400, "email", "longer than"},
			{"multipart: a file part is not a field", request{Raw: fileEmail, Header: map[string]string{"Content-Type": fileCT}}, 400, "email", "Missing"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.req.Method, tc.req.Path = "POST", "/api/v1/auth/register"
				res := e.do(tc.req)
				if res.Status != tc.status {
					t.Fatalf("row %d: %d %.300s, want %d", i, res.Status, res.Body, tc.status)
				}
				if tc.field == "" {
					return
				}
				errs, _ := res.JSON(t)["errors"].(map[string]any)
				if why, _ := errs[tc.field].(string); !strings.Contains(why, tc.why) {
					t.Fatalf("errors %v: want %s naming %q", errs, tc.field, tc.why)
				}
			})
		}
		if res := e.do(request{Method: "POST", Path: "/api/v1/auth/register", Form: good}); res.Status != http.StatusCreated {
			t.Fatalf("a plain registration after the table: %d", res.Status)
		}
	})
}
