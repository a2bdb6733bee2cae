package httpapi_test

// Tests of contract Part 2, "Accounts an administrator manages" and "Audit
// log", over real HTTP on every engine.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
	"widgetapi/internal/testtoken"
)

const (
	disabledMsg  = "Account disabled. Please contact an administrator."
	lastAdminMsg = "cannot remove the last administrator"
	usersPath    = "/api/v1/users"
	auditPath    = "/api/v1/audit"
)

// publicID is the public id of token's user.
func publicID(t testing.TB, token string) string {
	t.Helper()
	return testtoken.Payload(t, token)["sub"].(string)
}

// patchUser sends PATCH /users/{id} with a JSON body.
func patchUser(e *env, admin, id string, body map[string]any) response {
	e.t.Helper()
	return e.do(request{Method: "PATCH", Path: usersPath + "/" + id, Token: admin, JSON: body, Conforms: true})
}

func wantStatus(t testing.TB, what string, res response, status int, message string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("%s: %d %s, want %d", what, res.Status, res.Body, status)
	}
	if message != "" {
		if got, _ := res.JSON(t)["message"].(string); got != message {
			t.Fatalf("%s: message %q, want %q", what, got, message)
		}
	}
}

// adminPage is a decoded page of a list.
type adminPage struct {
	Links      map[string]string `json:"links"`
	HasNext    bool              `json:"has_next"`
	Page       int               `json:"page"`
	TotalPages int               `json:"total_pages"`
	TotalItems int               `json:"total_items"`
	Items      []map[string]any  `json:"items"`
}

func getPage(t testing.TB, e *env, token, path string) (adminPage, response) {
	t.Helper()
	res := e.do(request{Method: "GET", Path: path, Token: token, Conforms: true})
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
	}
	var p adminPage
	if err := json.Unmarshal(res.Body, &p); err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(res.Header.Get("Total-Count")); n != p.TotalItems {
		t.Fatalf("GET %s: Total-Count %q, total_items %d", path, res.Header.Get("Total-Count"), p.TotalItems)
	}
	return p, res
}

func emails(p adminPage) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, it["email"].(string))
	}
	return out
}

func TestAdminRoutesAreForAdministratorsOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		e.admin("root@example.com")
		user := e.register("plain@example.com", "plain-password")
		id := publicID(t, user)
		for _, r := range []request{
			{Method: "GET", Path: usersPath},
			{Method: "GET", Path: usersPath + "/" + id},
			{Method: "PATCH", Path: usersPath + "/" + id, JSON: map[string]any{"admin": true}},
			{Method: "DELETE", Path: usersPath + "/" + id},
			{Method: "GET", Path: auditPath},
		} {
			res := e.do(r)
			if res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != adminRealm401 {
				t.Errorf("%s %s without a token: %d %v", r.Method, r.Path, res.Status, res.Header.Get("WWW-Authenticate"))
			}
			r.Token = user
			res = e.do(r)
			if res.Status != http.StatusForbidden || res.Header.Get("WWW-Authenticate") != adminRealm403 {
				t.Errorf("%s %s as a user: %d %s", r.Method, r.Path, res.Status, res.Body)
			}
		}
		// The refusals changed nothing.
		if u := e.user("plain@example.com"); u.Admin {
			t.Fatal("a user promoted themselves")
		}
	})
}

func TestUsersAreListedInRegistrationOrderWithFilters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("root@example.com")
		want := []string{"root@example.com"}
		for i := range 11 {
			email := fmt.Sprintf("user%02d@Example.com", i)
			e.clock.Advance(time.Second)
			e.register(email, "user-password")
			want = append(want, strings.ToLower(email))
		}
		// Characters LIKE would take as patterns are matched as themselves.
		e.register("a_b%c@example.com", "user-password")
		want = append(want, "a_b%c@example.com")

		p, res := getPage(t, e, admin, usersPath+"?per_page=5&page=2")
		if got := emails(p); !slices.Equal(got, want[5:10]) || p.TotalItems != 13 || p.TotalPages != 3 || !p.HasNext {
			t.Fatalf("page 2: %v (%d items, %d pages)", got, p.TotalItems, p.TotalPages)
		}
		if !strings.Contains(res.Header.Get("Link"), `</api/v1/users?page=3&per_page=5>; rel="next"`) {
			t.Errorf("Link: %s", res.Header.Get("Link"))
		}
		first := p.Items[0]
		u := e.user(want[5])
		wantItem := map[string]any{"email": u.Email, "public_id": u.PublicID, "admin": false, "disabled": false, "email_verified": false, "mfa": false,
			"registered_on":         u.RegisteredOn.UTC().Format("01/02/06 03:04:05 PM UTC"),
			"registered_on_iso8601": u.RegisteredOn.UTC().Format(time.RFC3339), "link": usersPath + "/" + u.PublicID}
		for k, v := range wantItem {
			if first[k] != v {
				t.Errorf("item %s = %v, want %v", k, first[k], v)
			}
		}
		if len(first) != len(wantItem) {
			t.Errorf("item has fields %v", first)
		}

		patchUser(e, admin, publicID(t, loginAs(e, "user03@example.com", "user-password", "", "")), map[string]any{"disabled": true})
		patchUser(e, admin, e.user("user04@example.com").PublicID, map[string]any{"admin": true})

		for _, c := range []struct {
			query string
			want  []string
		}{
			{"email=USER0", want[1:11]},
			{"email=r1", want[11:12]},
			{"email=_b%25", want[12:13]},
			{"email=b%25c", want[12:13]},
			{"email=%25", want[12:13]},
			{"admin=true", []string{"root@example.com", "user04@example.com"}},
			{"admin=false&disabled=false&email=user0", slices.DeleteFunc(slices.Clone(want[1:11]), func(s string) bool {
				return s == "user03@example.com" || s == "user04@example.com"
			})},
			{"disabled=true", []string{"user03@example.com"}},
			{"email=nobody", nil},
		} {
			p, res := getPage(t, e, admin, usersPath+"?per_page=100&"+c.query)
			if got := emails(p); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.query, got, c.want)
			}
			// Every link carries the filters.
			q, _ := url.ParseQuery(c.query)
			for rel, link := range p.Links {
				lu, err := url.Parse(link)
				if err != nil {
					t.Fatal(err)
				}
				for k := range q {
					if lu.Query().Get(k) != q.Get(k) {
						t.Errorf("%s: link %s = %s lacks %s=%s", c.query, rel, link, k, q.Get(k))
					}
				}
			}
			if !strings.Contains(res.Header.Get("Link"), p.Links["self"]) {
				t.Errorf("%s: Link header %s lacks %s", c.query, res.Header.Get("Link"), p.Links["self"])
			}
		}
	})
}

func TestBadUserListParametersAreNamed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("root@example.com")
		for query, fields := range map[string][]string{
			"page=0":                            {"page"},
			"per_page=7":                        {"per_page"},
			"admin=yes":                         {"admin"},
			"disabled=1":                        {"disabled"},
			"email=%00":                         {"email"},
			"email=" + strings.Repeat("a", 256): {"email"},
			"page=x&admin=TRUE&per_page=0":      {"page", "admin", "per_page"},
		} {
			res := e.do(request{Method: "GET", Path: usersPath + "?" + query, Token: admin})
			wantStatus(t, query, res, http.StatusBadRequest, validation)
			errs, _ := res.JSON(t)["errors"].(map[string]any)
			for _, f := range fields {
				if _, ok := errs[f]; !ok {
					t.Errorf("%s: errors %v do not name %s", query, errs, f)
				}
			}
			if len(errs) != len(fields) {
				t.Errorf("%s: errors %v, want only %v", query, errs, fields)
			}
		}
	})
}

func TestOneUserIsReadByPublicID(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("root@example.com")
		id := publicID(t, e.register("bob@example.com", "bob-password"))
		res := e.do(request{Method: "GET", Path: usersPath + "/" + id, Token: admin, Conforms: true})
		if res.Status != http.StatusOK || res.JSON(t)["email"] != "bob@example.com" || res.JSON(t)["public_id"] != id {
			t.Fatalf("GET user: %d %s", res.Status, res.Body)
		}
		for _, bad := range []string{"8b6f1a52-3c57-4bd0-9a6a-1f2e3d4c5b6a", "not-a-uuid", strings.ToUpper(id), "1"} {
			res := e.do(request{Method: "GET", Path: usersPath + "/" + bad, Token: admin})
			wantStatus(t, bad, res, http.StatusNotFound, bad+" not found in database.")
		}
	})
}

func TestPatchUserBodies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		admin := e.admin("root@example.com")
		id := publicID(t, e.register("bob@example.com", "bob-password"))
		path := usersPath + "/" + id
		for _, c := range []struct {
			name   string
			req    request
			status int
			admin  bool
			fields []string
		}{
			{"JSON true", request{JSON: map[string]any{"admin": true}}, 200, true, nil},
			{"form false", request{Form: url.Values{"admin": {"false"}}}, 200, false, nil},
			{"multipart", request{Multipart: map[string]string{"admin": "true", "disabled": "false"}}, 200, true, nil},
			{"JSON both", request{JSON: map[string]any{"admin": false, "disabled": false}}, 200, false, nil},
			{"JSON string", request{JSON: map[string]any{"admin": "true"}}, 400, false, []string{"admin"}},
			{"JSON null", request{JSON: map[string]any{"admin": nil}}, 400, false, []string{"admin"}},
			{"JSON number", request{JSON: map[string]any{"disabled": 1}}, 400, false, []string{"disabled"}},
			{"form yes", request{Form: url.Values{"admin": {"yes"}}}, 400, false, []string{"admin"}},
			{"no field", request{JSON: map[string]any{}}, 400, false, []string{"body"}},
			{"other fields only", request{JSON: map[string]any{"email": "x@example.com", "password": "p"}}, 400, false, []string{"body"}},
			{"empty", request{}, 400, false, []string{"body"}},
			{"not an object", request{Raw: `[true]`, Header: map[string]string{"Content-Type": "application/json"}}, 400, false, []string{"body"}},
			{"malformed", request{Raw: `{"admin": tru`, Header: map[string]string{"Content-Type": "application/json"}}, 400, false, []string{"body"}},
			{"duplicate key", request{Raw: `{"admin": true, "admin": false}`, Header: map[string]string{"Content-Type": "application/json"}}, 400, false, []string{"admin"}},
		} {
			r := c.req
			r.Method, r.Path, r.Token = "PATCH", path, admin
			res := e.do(r)
			if res.Status != c.status {
				t.Fatalf("%s: %d %s, want %d", c.name, res.Status, res.Body, c.status)
			}
			if got := e.user("bob@example.com").Admin; got != c.admin {
				t.Fatalf("%s: admin is %v, want %v", c.name, got, c.admin)
			}
			if c.status == 200 {
				if res.JSON(t)["admin"] != c.admin {
					t.Fatalf("%s: answered %s", c.name, res.Body)
				}
				continue
			}
			errs, _ := res.JSON(t)["errors"].(map[string]any)
			for _, f := range c.fields {
				if _, ok := errs[f]; !ok {
					t.Errorf("%s: errors %v do not name %s", c.name, errs, f)
				}
			}
		}
		res := e.do(request{Method: "PATCH", Path: path, Token: admin, Raw: "admin=true", Header: map[string]string{"Content-Type": "text/plain"}})
		wantStatus(t, "text/plain", res, http.StatusUnsupportedMediaType, "")
		res = e.do(request{Method: "PATCH", Path: usersPath + "/8b6f1a52-3c57-4bd0-9a6a-1f2e3d4c5b6a", Token: admin, JSON: map[string]any{"admin": true}})
		wantStatus(t, "unknown user", res, http.StatusNotFound, "8b6f1a52-3c57-4bd0-9a6a-1f2e3d4c5b6a not found in database.")
	})
}

// Demotion takes effect on the user's very next request.
func TestDemotionTakesEffectOnTheNextRequest(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		other := e.admin("other@example.com")
		mustCreateWidget(e, other, "before")
		if res := patchUser(e, root, publicID(t, other), map[string]any{"admin": false}); res.Status != 200 || res.JSON(t)["admin"] != false {
			t.Fatalf("demote: %d %s", res.Status, res.Body)
		}
		res := createWidget(e, other, "after", "https://example.com", "2099-01-01")
		if res.Status != http.StatusForbidden || res.Header.Get("WWW-Authenticate") != adminRealm403 {
			t.Fatalf("a demoted admin's next write: %d %s", res.Status, res.Body)
		}
		// The token still works for what users do.
		wantLive(t, e, "demoted admin's token", other)
		res = e.do(request{Method: "GET", Path: usersPath, Token: other})
		wantStatus(t, "demoted admin lists users", res, http.StatusForbidden, "")
		// Promoted again, the same token writes at once.
		patchUser(e, root, publicID(t, other), map[string]any{"admin": true})
		mustCreateWidget(e, other, "after")
	})
}

// Disabling ends every session at once; the answers to a disabled account
// say so only to someone who knows its password.
func TestADisabledAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		first := e.register("bob@example.com", "bob-password")
		second := loginAs(e, "bob@example.com", "bob-password", "", "phone")
		res := patchUser(e, root, publicID(t, first), map[string]any{"disabled": true})
		if res.Status != 200 || res.JSON(t)["disabled"] != true {
			t.Fatalf("disable: %d %s", res.Status, res.Body)
		}
		for _, tok := range []string{first, second} {
			for _, r := range []request{
				{Method: "GET", Path: "/api/v1/auth/user", Token: tok},
				{Method: "GET", Path: widgetsPath + "/anything", Token: tok},
				{Method: "GET", Path: widgetsPath, Token: tok},
				{Method: "GET", Path: "/api/v1/auth/sessions", Token: tok},
			} {
				res := e.do(r)
				wantStatus(t, r.Path, res, http.StatusUnauthorized, disabledMsg)
				if !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("%s: WWW-Authenticate %q", r.Path, res.Header.Get("WWW-Authenticate"))
				}
			}
		}
		// The right password gets 403; a wrong one the 401 anyone gets.
		login := func(password string) response {
			return e.do(request{Method: "POST", Path: "/api/v1/auth/login", Conforms: true,
				Form: url.Values{"email": {"bob@example.com"}, "password": {password}}})
		}
		res = login("bob-password")
		if res.Status != http.StatusForbidden || res.JSON(t)["status"] != "fail" || res.JSON(t)["message"] != "account disabled" {
			t.Fatalf("disabled login, right password: %d %s", res.Status, res.Body)
		}
		wrong := login("not-bobs-password")
		unknown := e.do(request{Method: "POST", Path: "/api/v1/auth/login",
			Form: url.Values{"email": {"nobody@example.com"}, "password": {"not-bobs-password"}}})
		if wrong.Status != http.StatusUnauthorized || string(wrong.Body) != string(unknown.Body) ||
			wrong.Header.Get("WWW-Authenticate") != unknown.Header.Get("WWW-Authenticate") {
			t.Fatalf("disabled login, wrong password: %d %s; unknown email: %d %s", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
		}
		// Enabled again, the user logs in; the ended sessions stay ended.
		patchUser(e, root, publicID(t, first), map[string]any{"disabled": false})
		fresh := loginAs(e, "bob@example.com", "bob-password", "", "")
		wantLive(t, e, "new session after enabling", fresh)
		wantRevoked(t, e, "session ended by disabling", first)
		wantRevoked(t, e, "second session ended by disabling", second)
	})
}

func TestTheLastAdministratorKeepsTheirRights(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		rootID := publicID(t, root)
		for name, r := range map[string]request{
			"demote":  {Method: "PATCH", Path: usersPath + "/" + rootID, JSON: map[string]any{"admin": false}},
			"disable": {Method: "PATCH", Path: usersPath + "/" + rootID, Form: url.Values{"disabled": {"true"}}},
			"both":    {Method: "PATCH", Path: usersPath + "/" + rootID, JSON: map[string]any{"admin": false, "disabled": true}},
			"delete":  {Method: "DELETE", Path: usersPath + "/" + rootID},
		} {
			r.Token = root
			res := e.do(r)
			if res.Status != http.StatusConflict || res.JSON(t)["status"] != "fail" || res.JSON(t)["message"] != lastAdminMsg {
				t.Fatalf("%s the last administrator: %d %s", name, res.Status, res.Body)
			}
		}
		// A disabled administrator is not one who can take over.
		other := e.admin("other@example.com")
		otherID := publicID(t, other)
		wantStatus(t, "disable other", patchUser(e, root, otherID, map[string]any{"disabled": true}), 200, "")
		wantStatus(t, "demote self with other disabled", patchUser(e, root, rootID, map[string]any{"admin": false}), http.StatusConflict, lastAdminMsg)
		// Enabled again, either can step down, but not both.
		wantStatus(t, "enable other", patchUser(e, root, otherID, map[string]any{"disabled": false}), 200, "")
		other = loginAs(e, "other@example.com", "admin-password", "", "")
		wantStatus(t, "a no-op on the last admin is fine", patchUser(e, root, rootID, map[string]any{"admin": true}), 200, "")

		// Two administrators demoting each other at the same moment: one
		// wins, and one administrator is left. The loser is refused by the
		// rule (409) or, when the winner's change committed before the
		// loser's request was authorized, as no longer an administrator
		// (403); the storetest races the transactions themselves.
		for round := range 5 {
			res := e.concurrently([]request{
				{Method: "PATCH", Path: usersPath + "/" + otherID, Token: root, JSON: map[string]any{"admin": false}},
				{Method: "PATCH", Path: usersPath + "/" + rootID, Token: other, JSON: map[string]any{"admin": false}},
			})
			codes := []int{res[0].Status, res[1].Status}
			slices.Sort(codes)
			if !slices.Equal(codes, []int{200, 409}) && !slices.Equal(codes, []int{200, 403}) {
				t.Fatalf("round %d: %d %s / %d %s", round, res[0].Status, res[0].Body, res[1].Status, res[1].Body)
			}
			loser := res[0].JSON(t)
			if res[0].Status != 200 {
				loser = res[1].JSON(t)
			}
			yes := true
			n := 0
			for _, email := range []string{"root@example.com", "other@example.com"} {
				if e.user(email).Admin {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("round %d: %d administrators left", round, n)
			}
			// The winner promotes the loser back for the next round.
			winner := root
			if loser["email"] == "root@example.com" {
				winner = other
			}
			wantStatus(t, "promote back", patchUser(e, winner, loser["public_id"].(string), map[string]any{"admin": yes}), 200, "")
		}
	})
}

func TestDeletingAUser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		rootID := publicID(t, root)
		owner := e.admin("owner@example.com")
		ownerID := publicID(t, owner)
		for _, n := range []string{"w1", "w2", "w3"} {
			mustCreateWidget(e, owner, n)
		}
		plain := e.register("plain@example.com", "plain-password")
		plainID := publicID(t, plain)
		disabled := e.admin("disabled@example.com")
		disabledID := publicID(t, disabled)
		patchUser(e, root, disabledID, map[string]any{"disabled": true})

		del := func(id, query string) response {
			return e.do(request{Method: "DELETE", Path: usersPath + "/" + id + query, Token: root, Conforms: true})
		}
		wantStatus(t, "owns widgets", del(ownerID, ""), http.StatusConflict, "owner@example.com owns 3 widgets")
		for name, heir := range map[string]string{
			"a user": plainID, "a disabled admin": disabledID, "the user": ownerID,
			"nobody": "8b6f1a52-3c57-4bd0-9a6a-1f2e3d4c5b6a", "malformed": "x%00y",
		} {
			res := del(ownerID, "?transfer_to="+heir)
			wantStatus(t, "transfer to "+name, res, http.StatusBadRequest, validation)
			if errs, _ := res.JSON(t)["errors"].(map[string]any); errs["transfer_to"] == nil {
				t.Errorf("transfer to %s: %s", name, res.Body)
			}
		}
		wantLive(t, e, "owner after refused deletes", owner)

		if res := del(ownerID, "?transfer_to="+rootID); res.Status != http.StatusNoContent || len(res.Body) != 0 {
			t.Fatalf("delete with transfer: %d %s", res.Status, res.Body)
		}
		for _, n := range []string{"w1", "w2", "w3"} {
			res := e.do(request{Method: "GET", Path: widgetsPath + "/" + n, Token: root})
			owner, _ := res.JSON(t)["owner"].(map[string]any)
			if res.Status != 200 || owner["email"] != "root@example.com" {
				t.Fatalf("%s after the transfer: %d %s", n, res.Status, res.Body)
			}
		}
		// Every session died with the account; the account is gone.
		if code, msg := userStatus(t, e, owner); code != http.StatusUnauthorized || msg != "Invalid token. Please log in again." {
			t.Fatalf("deleted user's token: %d %q", code, msg)
		}
		wantStatus(t, "GET deleted user", e.do(request{Method: "GET", Path: usersPath + "/" + ownerID, Token: root}),
			http.StatusNotFound, ownerID+" not found in database.")
		wantStatus(t, "delete again", del(ownerID, ""), http.StatusNotFound, ownerID+" not found in database.")
		res := e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"owner@example.com"}, "password": {"admin-password"}}})
		wantStatus(t, "deleted user logs in", res, http.StatusUnauthorized, "")

		// A user without widgets goes without transfer_to; the email is free again.
		wantStatus(t, "delete plain", del(plainID, ""), http.StatusNoContent, "")
		e.register("plain@example.com", "plain-password-2")
		// The last administrator stays, with their widgets.
		wantStatus(t, "delete last admin", del(rootID, ""), http.StatusConflict, lastAdminMsg)
	})
}

// auditEvents reads the audit log, newest first, with query.
func auditEvents(t testing.TB, e *env, admin, query string) []map[string]any {
	t.Helper()
	p, _ := getPage(t, e, admin, auditPath+"?per_page=100&"+query)
	return p.Items
}

func actions(events []map[string]any) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev["action"].(string))
	}
	return out
}

func TestTheAuditLogRecordsEverySecurityEvent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) { o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8") })
		root := e.admin("root@example.com") // user.created (as the CLI does), auth.login
		rootID := publicID(t, root)
		xff := map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "req-audit-1"}
		res := e.do(request{Method: "POST", Path: "/api/v1/auth/register", Header: xff,
			Form: url.Values{"email": {"Bob@Example.com"}, "password": {"bob-password"}}})
		bob := res.JSON(t)["access_token"].(string)
		bobID := publicID(t, bob)
		e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"bob@example.com"}, "password": {"wrong-password"}}})
		e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"ghost@example.com"}, "password": {"wrong-password"}}})
		phone := loginAs(e, "bob@example.com", "bob-password", "198.51.100.1", "phone")
		e.do(request{Method: "DELETE", Path: "/api/v1/auth/sessions/" + testtoken.Payload(t, phone)["jti"].(string), Token: bob})
		res = e.do(request{Method: "POST", Path: "/api/v1/auth/password", Token: bob,
			Form: url.Values{"current_password": {"bob-password"}, "new_password": {"bob-password-2"}}})
		bob = res.JSON(t)["access_token"].(string)
		e.do(request{Method: "POST", Path: "/api/v1/auth/logout?scope=global", Token: bob})
		mustCreateWidget(e, root, "w")
		e.do(request{Method: "PUT", Path: widgetsPath + "/w", Token: root, Form: url.Values{"info_url": {"https://example.com/2"}, "deadline": {"2099-01-01"}}})
		e.do(request{Method: "PUT", Path: widgetsPath + "/put-new", Token: root, Form: url.Values{"info_url": {"https://example.com/3"}, "deadline": {"2099-01-01"}}})
		e.do(request{Method: "DELETE", Path: widgetsPath + "/w", Token: root})
		patchUser(e, root, bobID, map[string]any{"admin": true, "disabled": false})
		e.do(request{Method: "DELETE", Path: usersPath + "/" + bobID, Token: root})

		got := auditEvents(t, e, root, "")
		want := []string{"user.deleted", "user.updated", "widget.deleted", "widget.created", "widget.updated", "widget.created",
			"auth.logout", "auth.password_changed", "auth.session_revoked", "auth.login", "auth.login_failed", "auth.login_failed",
			"auth.register", "auth.login", "user.created"}
		if !slices.Equal(actions(got), want) {
			t.Fatalf("actions %v,\nwant %v", actions(got), want)
		}
		byAction := func(action string, nth int) map[string]any {
			for _, ev := range got {
				if ev["action"] == action {
					if nth == 0 {
						return ev
					}
					nth--
				}
			}
			t.Fatalf("no %s", action)
			return nil
		}
		rootActor := map[string]any{"email": "root@example.com", "public_id": rootID}
		bobActor := map[string]any{"email": "bob@example.com", "public_id": bobID}
		for _, c := range []struct {
			ev     map[string]any
			fields map[string]any
		}{
			{byAction("user.created", 0), map[string]any{"target": "root@example.com", "actor": nil, "source": "api"}},
			{byAction("auth.register", 0), map[string]any{"target": "bob@example.com", "actor": bobActor, "address": "203.0.113.9", "request_id": "req-audit-1"}},
			// The later of the two failures is the unknown email.
			{byAction("auth.login_failed", 0), map[string]any{"target": "ghost@example.com", "actor": nil}},
			{byAction("auth.login_failed", 1), map[string]any{"target": "bob@example.com", "actor": nil}},
			{byAction("auth.login", 0), map[string]any{"target": "bob@example.com", "address": "198.51.100.1"}},
			{byAction("auth.session_revoked", 0), map[string]any{"actor": bobActor}},
			{byAction("auth.password_changed", 0), map[string]any{"actor": bobActor, "target": "bob@example.com"}},
			{byAction("auth.logout", 0), map[string]any{"actor": bobActor}},
			{byAction("widget.created", 1), map[string]any{"actor": rootActor, "target": "w"}},
			{byAction("widget.created", 0), map[string]any{"actor": rootActor, "target": "put-new"}},
			{byAction("widget.updated", 0), map[string]any{"actor": rootActor, "target": "w"}},
			{byAction("widget.deleted", 0), map[string]any{"actor": rootActor, "target": "w"}},
			{byAction("user.updated", 0), map[string]any{"actor": rootActor, "target": bobID, "source": "api"}},
			{byAction("user.deleted", 0), map[string]any{"actor": rootActor, "target": bobID}},
		} {
			for k, v := range c.fields {
				if fmt.Sprint(c.ev[k]) != fmt.Sprint(v) {
					t.Errorf("%s: %s = %v, want %v", c.ev["action"], k, c.ev[k], v)
				}
			}
		}
		if d := byAction("auth.logout", 0)["detail"].(map[string]any); d["scope"] != "global" {
			t.Errorf("logout detail %v", d)
		}
		// user.updated names the fields that changed, old and new; admin
		// only, since disabled did not change.
		if d := byAction("user.updated", 0)["detail"].(map[string]any); fmt.Sprint(d) != "map[admin:map[new:true old:false]]" {
			t.Errorf("user.updated detail %v", d)
		}
		if d := byAction("widget.updated", 0)["detail"].(map[string]any); d["info_url"] != "https://example.com/2" {
			t.Errorf("widget.updated detail %v", d)
		}
		if at := byAction("auth.register", 0)["at_iso8601"]; at != startTime.Format(time.RFC3339) {
			t.Errorf("at %v", at)
		}

		// The filters, and the pagination that reflects them.
		for query, want := range map[string]int{
			"action=auth.login_failed":              2,
			"actor=root@example.com":                7,
			"actor=" + rootID:                       7,
			"target=w":                              3,
			"target=bob@example.com&actor=" + bobID: 4, // register, login, password, logout
			"action=widget.created&actor=" + rootID: 2,
			"target=%25":                            0,
		} {
			p, _ := getPage(t, e, root, auditPath+"?per_page=5&"+query)
			if p.TotalItems != want {
				t.Errorf("%s: %d events, want %d", query, p.TotalItems, want)
			}
			for k := range must(url.ParseQuery(query)) {
				if !strings.Contains(p.Links["self"], k+"=") {
					t.Errorf("%s: self link %s", query, p.Links["self"])
				}
			}
		}
	})
}

// A user is the target of logins by email and of an administrator's changes
// by public id: target= names them by either and finds both, and never
// another user's events.
func TestAuditTargetMatchesAUserByIDOrEmail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		carolID := publicID(t, e.register("carol@example.com", "carol-password"))
		daveID := publicID(t, e.register("dave@example.com", "dave-password"))
		loginAs(e, "carol@example.com", "carol-password", "", "")
		e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"carol@example.com"}, "password": {"wrong-password"}}})
		e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"dave@example.com"}, "password": {"wrong-password"}}})
		patchUser(e, root, carolID, map[string]any{"disabled": true})
		patchUser(e, root, daveID, map[string]any{"admin": true})

		carols := []string{"user.updated", "auth.login_failed", "auth.login", "auth.register"}
		for _, target := range []string{carolID, "carol@example.com", "Carol@Example.COM"} {
			got := auditEvents(t, e, root, "target="+url.QueryEscape(target))
			if !slices.Equal(actions(got), carols) {
				t.Errorf("target=%s: %v, want %v", target, actions(got), carols)
			}
			for _, ev := range got {
				if ev["target"] != carolID && ev["target"] != "carol@example.com" {
					t.Errorf("target=%s found %v", target, ev)
				}
			}
		}
		// The other filters still narrow it; a target that names no user
		// matches only itself.
		if got := auditEvents(t, e, root, "action=auth.login_failed&target="+daveID); len(got) != 1 || got[0]["target"] != "dave@example.com" {
			t.Errorf("dave's failed login by id: %v", got)
		}
		e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"ghost@example.com"}, "password": {"wrong-password"}}})
		if got := auditEvents(t, e, root, "target=ghost@example.com"); !slices.Equal(actions(got), []string{"auth.login_failed"}) {
			t.Errorf("target=ghost@example.com: %v", actions(got))
		}
		if got := auditEvents(t, e, root, "target=8b6f1a52-3c57-4bd0-9a6a-1f2e3d4c5b6a"); len(got) != 0 {
			t.Errorf("an unknown public id matched %v", actions(got))
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A refused change leaves no event: a conflict, a validation failure, a
// refusal for the last administrator.
func TestAFailedChangeLeavesNoEvent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		mustCreateWidget(e, root, "taken")
		before := len(auditEvents(t, e, root, ""))
		createWidget(e, root, "taken", "https://example.com", "2099-01-01")                     // 409
		createWidget(e, root, "bad", "not a url", "2099-01-01")                                 // 400
		e.do(request{Method: "DELETE", Path: widgetsPath + "/missing", Token: root})            // 404
		patchUser(e, root, publicID(t, root), map[string]any{"admin": false})                   // 409
		e.do(request{Method: "DELETE", Path: usersPath + "/" + publicID(t, root), Token: root}) // 409
		e.do(request{Method: "POST", Path: "/api/v1/auth/register", Form: url.Values{"email": {"root@example.com"}, "password": {"whatever-pass"}}})
		if after := auditEvents(t, e, root, ""); len(after) != before {
			t.Fatalf("refused changes recorded %v", actions(after[:len(after)-before]))
		}
	})
}

func TestBadAuditParametersAreNamed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		root := e.admin("root@example.com")
		for query, field := range map[string]string{
			"page=-1":                            "page",
			"per_page=1000":                      "per_page",
			"action=%00":                         "action",
			"actor=%1b%5b31m":                    "actor",
			"target=" + strings.Repeat("x", 256): "target",
			"target=%ff":                         "target",
			"action=auth.nothing":                "action",
			"action=Auth.Login":                  "action",
		} {
			res := e.do(request{Method: "GET", Path: auditPath + "?" + query, Token: root})
			wantStatus(t, query, res, http.StatusBadRequest, validation)
			if errs, _ := res.JSON(t)["errors"].(map[string]any); errs[field] == nil || len(errs) != 1 {
				t.Errorf("%s: %s", query, res.Body)
			}
		}
	})
}

// A flood of refused requests is one auth.throttled event a minute per
// throttled key, not one write per refusal.
func TestThrottlingIsRecordedOnceAMinutePerKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, func(o *envOptions) {
			o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8")
			o.cfg.AuthPerMinute, o.cfg.AuthBurst = 60, 3
			o.cfg.LoginFailuresPerMinute = 2
		})
		root := e.admin("root@example.com")
		flood := func(addr, email string, n int) (refused int) {
			reqs := make([]request, n)
			for i := range reqs {
				reqs[i] = request{Method: "POST", Path: "/api/v1/auth/login", Header: map[string]string{"X-Forwarded-For": addr},
					Form: url.Values{"email": {email}, "password": {"wrong-password"}}}
			}
			for _, res := range e.concurrently(reqs) {
				if res.Status == http.StatusTooManyRequests {
					refused++
				}
			}
			return refused
		}
		if refused := flood("198.51.100.1", "root@example.com", 40); refused < 30 {
			t.Fatalf("%d of 40 refused", refused)
		}
		if refused := flood("198.51.100.2", "root@example.com", 40); refused < 30 {
			t.Fatalf("%d of 40 refused", refused)
		}
		throttled := auditEvents(t, e, root, "action=auth.throttled")
		if len(throttled) < 2 || len(throttled) > 4 {
			t.Fatalf("%d throttled events for two addresses (at most one per limit and address)", len(throttled))
		}
		e.clock.Advance(time.Minute)
		flood("198.51.100.1", "root@example.com", 40)
		if again := auditEvents(t, e, root, "action=auth.throttled"); len(again) <= len(throttled) || len(again) > 2*len(throttled)+2 {
			t.Fatalf("a minute later: %d throttled events, before %d", len(again), len(throttled))
		}
		for _, ev := range throttled {
			if ev["actor"] != nil || !strings.HasPrefix(fmt.Sprint(ev["address"]), "198.51.100.") {
				t.Errorf("throttled event %v", ev)
			}
		}
	})
}

// No password, hash or token ever appears in an event, a log line or a
// metric.
func TestNoSecretInEventsLogsOrMetrics(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		logs := &testlog.Buffer{}
		e := newEnv(t, engine, func(o *envOptions) {
			o.logs = logs
			o.cfg.LoginFailuresPerMinute = 1
		})
		const pw1, pw2, wrong = "first-secret-password", "second-secret-password", "guessed-secret-password"
		root := e.admin("root@example.com")
		bob := e.register("bob@example.com", pw1)
		e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"bob@example.com"}, "password": {wrong}}})
		e.do(request{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"bob@example.com"}, "password": {wrong}}}) // throttled
		e.clock.Advance(time.Minute)
		e.do(request{Method: "POST", Path: "/api/v1/auth/login", JSON: map[string]any{"email": "bob@example.com", "password": pw1}})
		res := e.do(request{Method: "POST", Path: "/api/v1/auth/password", Token: bob,
			JSON: map[string]any{"current_password": pw1, "new_password": pw2}})
		bob2 := res.JSON(t)["access_token"].(string)
		e.do(request{Method: "POST", Path: "/api/v1/auth/password", Token: bob2,
			Multipart: map[string]string{"current_password": wrong, "new_password": pw1}})
		patchUser(e, root, publicID(t, bob2), map[string]any{"disabled": true})
		e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: bob2})

		_, all := getPage(t, e, root, auditPath+"?per_page=100")
		metrics := e.do(request{Method: "GET", Path: "/metrics"})
		secrets := map[string]string{"first password": pw1, "second password": pw2, "guessed password": wrong,
			"signing key": string(testKey), "bob's hash": string(e.user("bob@example.com").PasswordHash),
			"root's hash": string(e.user("root@example.com").PasswordHash)}
		for i, tok := range []string{root, bob, bob2} {
			secrets[fmt.Sprintf("token %d", i)] = tok
			// A token's signature alone is as good as the token to search for.
			secrets[fmt.Sprintf("token %d signature", i)] = tok[strings.LastIndexByte(tok, '.')+1:]
		}
		for name, secret := range secrets {
			for where, text := range map[string]string{"audit log": string(all.Body), "log": logs.String(), "metrics": string(metrics.Body)} {
				if strings.Contains(text, secret) {
					t.Errorf("%s found in the %s", name, where)
				}
			}
		}
		if !strings.Contains(logs.String(), `"msg":"audit"`) || !strings.Contains(string(all.Body), "auth.password_changed") {
			t.Fatal("the search had nothing to search")
		}
	})
}

// Each event is also one log line, written once its change committed.
func TestEachEventIsOneLogLine(t *testing.T) {
	logs := &testlog.Buffer{}
	e := newEnv(t, sqliteEngine(), func(o *envOptions) { o.logs = logs })
	root := e.admin("root@example.com")
	mustCreateWidget(e, root, "w")
	createWidget(e, root, "w", "https://example.com", "2099-01-01") // refused: no line
	events := auditEvents(t, e, root, "")
	var lines []map[string]any
	for _, l := range logs.Lines(t) {
		if l["msg"] == "audit" {
			lines = append(lines, l)
		}
	}
	if len(lines) != len(events) {
		t.Fatalf("%d audit lines for %d events", len(lines), len(events))
	}
	for i, l := range lines {
		ev := events[len(events)-1-i]
		if l["action"] != ev["action"] || l["id"] != ev["id"] || l["target"] != ev["target"] {
			t.Errorf("line %v for event %v", l, ev)
		}
	}
}
