package httpapi_test

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"widgetapi/internal/testdb"
)

// hostileTexts are strings that storage engines treat differently: a NUL
// byte (PostgreSQL refuses it in text, SQLite stores it), invalid and
// overlong UTF-8, a lone surrogate, controls, direction marks, Unicode
// white space around a real name, SQL, and sheer length.
var hostileTexts = map[string]string{
	"NUL":              "a\x00b",
	"only NUL":         "\x00",
	"invalid UTF-8":    "\xff\xfe",
	"overlong slash":   "\xc0\xaf",
	"lone surrogate":   "\xed\xa0\x80",
	"newline":          "a\nb",
	"RLO":              "\u202eknown",
	"NBSP after":       "known\u00a0",
	"ideographic sp":   "\u3000known",
	"SQL":              "known' OR '1'='1",
	"5,000 characters": strings.Repeat("k", 5000),
}

// Every text that can reach a database, in the path, the query string and
// every field of every body, gets the same 4xx on every engine, never a 5xx.
// The statuses are compared across engines once both have run.
func TestHostileTextGetsTheSameAnswerOnEveryEngine(t *testing.T) {
	type row struct {
		name string
		req  request
		want int // 0 when only "the same on every engine, below 500" is known
	}
	rows := func(admin, user string) []row {
		var out []row
		for label, text := range hostileTexts {
			p := url.PathEscape(text)
			out = append(out,
				row{"GET widget " + label, request{Method: "GET", Path: widgetsPath + "/" + p, Token: user}, 404},
				row{"DELETE widget " + label, request{Method: "DELETE", Path: widgetsPath + "/" + p, Token: admin}, 404},
				row{"PUT widget " + label, request{Method: "PUT", Path: widgetsPath + "/" + p, Token: admin,
					Form: url.Values{"info_url": {"https://example.com"}, "deadline": {"2099-12-31"}}}, 400},
				row{"GET widget, bad token, " + label, request{Method: "GET", Path: widgetsPath + "/" + p, Token: "x.y.z"}, 401},
				row{"list page " + label, request{Method: "GET", Path: widgetsPath + "?page=" + url.QueryEscape(text), Token: user}, 400},
				row{"list per_page " + label, request{Method: "GET", Path: widgetsPath + "?per_page=" + url.QueryEscape(text), Token: user}, 400},
				row{"register email " + label, request{Method: "POST", Path: "/api/v1/auth/register",
					JSON: map[string]string{"email": text + "@example.com", "password": "password1"}}, 400},
				row{"register password " + label, request{Method: "POST", Path: "/api/v1/auth/register",
					Form: url.Values{"email": {"p" + strings.NewReplacer(" ", "", "\x00", "").Replace(url.QueryEscape(label)) + "@example.com"}, "password": {"password1" + text}}}, 0},
				row{"login email " + label, request{Method: "POST", Path: "/api/v1/auth/login",
					Form: url.Values{"email": {"known" + text + "@example.com"}, "password": {"password1"}}}, 400},
				row{"login password " + label, request{Method: "POST", Path: "/api/v1/auth/login",
					Multipart: map[string]string{"email": "user@example.com", "password": text}}, 0},
				row{"create name " + label, request{Method: "POST", Path: widgetsPath, Token: admin,
					Form: widgetForm(text, "https://example.com", "2099-12-31")}, 400},
				row{"create info_url " + label, request{Method: "POST", Path: widgetsPath, Token: admin,
					JSON: map[string]string{"name": "w-url", "info_url": "https://example.com/" + text, "deadline": "2099-12-31"}}, 400},
				row{"create deadline " + label, request{Method: "POST", Path: widgetsPath, Token: admin,
					Form: widgetForm("w-deadline", "https://example.com", "2099-12-31"+text)}, 400},
				row{"update info_url " + label, request{Method: "PUT", Path: widgetsPath + "/known", Token: admin,
					Form: url.Values{"info_url": {"https://example.com/" + text}, "deadline": {"2099-12-31"}}}, 400},
			)
		}
		return out
	}
	// rawRows are requests the Go client refuses to send: bytes in headers.
	rawRows := map[string]string{
		"NUL in X-Request-ID":            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\x00b\r\nConnection: close\r\n\r\n",
		"controls in User-Agent":         "GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: a\x01\x7fb\r\nConnection: close\r\n\r\n",
		"invalid UTF-8 in Authorization": "GET /api/v1/auth/user HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n",
		"NUL in a header name":           "GET /healthz HTTP/1.1\r\nHost: x\r\nX-\x00: 1\r\nConnection: close\r\n\r\n",
		"NUL in the path":                "GET /api/v1/widgets/a\x00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	}

	got := map[string]map[string]int{}
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("admin@example.com")
		user := e.register("user@example.com", "password1")
		mustCreateWidget(e, admin, "known")
		record := func(name string, status int) {
			if got[name] == nil {
				got[name] = map[string]int{}
			}
			got[name][engine.Name] = status
		}
		for _, r := range rows(admin, user) {
			res := e.do(r.req)
			record(r.name, res.Status)
			if res.Status >= 500 || r.want != 0 && res.Status != r.want {
				t.Errorf("%s: %d %.200s, want %d", r.name, res.Status, res.Body, r.want)
			}
		}
		for name, raw := range rawRows {
			conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write([]byte(raw)); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			res.Body.Close()
			conn.Close()
			record(name, res.StatusCode)
			if res.StatusCode >= 500 {
				t.Errorf("%s: %d", name, res.StatusCode)
			}
		}
		// The widget is untouched by all of it.
		if w := getWidget(t, e, admin, "known"); w["info_url"] != "https://www.fakesite.com" {
			t.Errorf("the known widget changed: %v", w)
		}
	})
	for name, by := range got {
		if len(by) == 2 && by["sqlite"] != by["postgres"] {
			t.Errorf("%s: sqlite %d, postgres %d", name, by["sqlite"], by["postgres"])
		}
	}
}
