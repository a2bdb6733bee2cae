package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"widgetapi/internal/testdb"
	"widgetapi/internal/testload"
)

// TestThreeProcessesShareOnePostgres starts three servers at the same moment
// on one empty PostgreSQL schema and checks that they behave as one service.
func TestThreeProcessesShareOnePostgres(t *testing.T) {
	dbURL := testdb.FreshSchemaURL(t)
	env := baseEnv("DATABASE_URL="+dbURL, "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789")
	s := startProcesses(t, 3, env)

	// Three processes raced to migrate an empty database: each migration ran once.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied, distinct int
	if err := db.QueryRowContext(context.Background(),
		`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if want := len(migrationFiles(t, "postgres")); applied != want || distinct != want {
		t.Fatalf("goose_db_version holds %d rows for %d versions; want each of %d migrations applied once", applied, distinct, want)
	}

	// An account made on one process logs in on another; its token works on a third.
	if code, body, _ := call(t, "POST", s[0].URL+"/api/v1/auth/register", "", creds("shared@example.com", "password1")); code != 201 {
		t.Fatalf("register on 0: %d %v", code, body)
	}
	code, body, _ := call(t, "POST", s[1].URL+"/api/v1/auth/login", "", creds("shared@example.com", "password1"))
	if code != 200 {
		t.Fatalf("login on 1: %d %v", code, body)
	}
	token := body["access_token"].(string)
	if code, body, _ := call(t, "GET", s[2].URL+"/api/v1/auth/user", token, nil); code != 200 || body["email"] != "shared@example.com" {
		t.Fatalf("user on 2: %d %v", code, body)
	}
	// Logout on one process is honoured by the others on the very next request.
	if code, _, _ := call(t, "POST", s[1].URL+"/api/v1/auth/logout", token, nil); code != 200 {
		t.Fatalf("logout on 1: %d", code)
	}
	for _, i := range []int{0, 2} {
		if code, body, _ := call(t, "GET", s[i].URL+"/api/v1/auth/user", token, nil); code != 401 || body["message"] != "Token blacklisted. Please log in again." {
			t.Fatalf("revoked token on %d: %d %v", i, code, body)
		}
	}

	// Every kind of ending a session, made through one process, is honoured
	// by the other two on the very next request.
	if code, _, _ := call(t, "POST", s[0].URL+"/api/v1/auth/register", "", creds("multi@example.com", "password1")); code != 201 {
		t.Fatalf("register multi: %d", code)
	}
	logins := func(n int, password string) []string {
		var out []string
		for i := range n {
			_, body, _ := call(t, "POST", s[i%3].URL+"/api/v1/auth/login", "", creds("multi@example.com", password))
			tok, _ := body["access_token"].(string)
			if tok == "" {
				t.Fatalf("login %d: %v", i, body)
			}
			out = append(out, tok)
		}
		return out
	}
	refused := func(what string, on []int, tokens ...string) {
		t.Helper()
		for _, i := range on {
			for _, tok := range tokens {
				if code, body, _ := call(t, "GET", s[i].URL+"/api/v1/auth/user", tok, nil); code != 401 || body["message"] != "Token blacklisted. Please log in again." {
					t.Fatalf("%s, on %d: %d %v", what, i, code, body)
				}
			}
		}
	}
	works := func(what string, tok string) {
		t.Helper()
		for i := range s {
			if code, _, _ := call(t, "GET", s[i].URL+"/api/v1/auth/user", tok, nil); code != 200 {
				t.Fatalf("%s, on %d: %d", what, i, code)
			}
		}
	}
	tk := logins(3, "password1")
	_, list, _ := call(t, "GET", s[0].URL+"/api/v1/auth/sessions", tk[0], nil)
	oldest := list["items"].([]any)[1].(map[string]any)["id"].(string) // tk[1]'s session
	if code, _, _ := call(t, "DELETE", s[0].URL+"/api/v1/auth/sessions/"+oldest, tk[0], nil); code != 204 {
		t.Fatalf("end one session: %d", code)
	}
	refused("one session ended on 0", []int{1, 2}, tk[1])
	works("a session not ended", tk[2])
	if code, _, _ := call(t, "POST", s[1].URL+"/api/v1/auth/logout?scope=others", tk[2], nil); code != 200 {
		t.Fatal("logout others")
	}
	refused("others ended on 1", []int{0, 2}, tk[0])
	works("the session that ended the others", tk[2])
	if code, _, _ := call(t, "POST", s[2].URL+"/api/v1/auth/logout?scope=global", tk[2], nil); code != 200 {
		t.Fatal("logout global")
	}
	refused("global on 2", []int{0, 1}, tk[2])
	tk = logins(2, "password1")
	code, body, _ = call(t, "POST", s[0].URL+"/api/v1/auth/password", tk[0],
		url.Values{"current_password": {"password1"}, "new_password": {"password2"}})
	if code != 200 {
		t.Fatalf("password change: %d %v", code, body)
	}
	refused("password change on 0", []int{1, 2}, tk[0], tk[1])
	works("the token of the password change", body["access_token"].(string))
	tk = logins(2, "password2")
	if _, errOut, code := runCmd(t, t.TempDir(), "password3\n", env, "user", "passwd", "multi@example.com", "--password-stdin"); code != 0 {
		t.Fatalf("user passwd: %s", errOut)
	}
	refused("user passwd", []int{0, 1, 2}, tk...)

	// 24 concurrent registrations of one email over the three: one winner.
	counts := race(t, 24, func(i int) int {
		return postStatus(s[i%3].URL+"/api/v1/auth/register", "", creds("Race@Example.com", "password1"))
	})
	if counts[201] != 1 || counts[409] != 23 || len(counts) != 2 {
		t.Fatalf("registrations: %v; want one 201 and 23 409", counts)
	}

	// 12 concurrent creates of one widget name: one winner.
	addAdmin(t, t.TempDir(), env)
	admin := adminToken(t, s[2])
	counts = race(t, 12, func(i int) int {
		return postStatus(s[i%3].URL+"/api/v1/widgets", admin,
			widgetForm("contested", "https://example.com", "2099-12-31"))
	})
	if counts[201] != 1 || counts[409] != 11 || len(counts) != 2 {
		t.Fatalf("widget creates: %v; want one 201 and 11 409", counts)
	}
	for i := range s {
		if code, body, _ := call(t, "GET", s[i].URL+"/api/v1/widgets?per_page=5", admin, nil); code != 200 || body["total_items"] != float64(1) {
			t.Fatalf("list on %d: %d %v", i, code, body)
		}
		if code, body, _ := call(t, "GET", s[i].URL+"/api/v1/widgets/contested", admin, nil); code != 200 || body["name"] != "contested" {
			t.Fatalf("widget on %d: %d %v", i, code, body)
		}
	}
	// PUT racing creates and deletes of the same names through all three
	// processes: it is one atomic step, so it never answers a create's 409
	// (once 27 of 8,155 did) nor a 404.
	var mu sync.Mutex
	puts := map[int]int{}
	const rounds, perRound = 100, 30
	for round := range rounds {
		counts := race(t, perRound, func(i int) int {
			name := s[i%3].URL + "/api/v1/widgets/put-race"
			switch i % 3 {
			case 0:
				code := sendStatus("PUT", name, admin, url.Values{"info_url": {fmt.Sprintf("https://example.com/%d", round)}, "deadline": {"2099-12-31"}})
				mu.Lock()
				puts[code]++
				mu.Unlock()
				return code
			case 1:
				return postStatus(s[i%3].URL+"/api/v1/widgets", admin,
					widgetForm("put-race", "https://example.com", "2099-12-31"))
			}
			return sendStatus("DELETE", name, admin, nil)
		})
		for code := range counts {
			if code < 200 || code >= 500 {
				t.Fatalf("round %d: statuses %v", round, counts)
			}
		}
	}
	if len(puts) > 2 || puts[200]+puts[201] != rounds*perRound/3 {
		t.Fatalf("PUT statuses over the races: %v; want only 200 and 201", puts)
	}
	t.Logf("PUT statuses over the races: %v", puts)

	// The admin's logout on one process closes every read on the others at
	// once, the widget read (which checks the token in the same query) included.
	if code, _, _ := call(t, "POST", s[0].URL+"/api/v1/auth/logout", admin, nil); code != 200 {
		t.Fatalf("admin logout on 0: %d", code)
	}
	for _, i := range []int{1, 2} {
		for _, path := range []string{"/api/v1/auth/user", "/api/v1/widgets", "/api/v1/widgets/contested"} {
			if code, body, _ := call(t, "GET", s[i].URL+path, admin, nil); code != 401 || body["message"] != "Token blacklisted. Please log in again." {
				t.Fatalf("revoked admin token on %d, GET %s: %d %v", i, path, code, body)
			}
		}
	}
}

// race runs n calls of fn at once and counts the statuses they return.
func race(t *testing.T, n int, fn func(i int) int) map[int]int {
	t.Helper()
	codes := make([]int, n)
	testload.Each(n, func(i int) { codes[i] = fn(i) })
	counts := map[int]int{}
	for _, c := range codes {
		counts[c]++
	}
	return counts
}

// startProcesses launches n servers at once on env and waits until each
// listens.
func startProcesses(t testing.TB, n int, env []string) []*server {
	t.Helper()
	var launched []*pending
	for range n {
		launched = append(launched, launchServer(t, t.TempDir(), env))
	}
	var s []*server
	for _, p := range launched {
		s = append(s, p.Ready())
	}
	return s
}

// sharedDatabase is a fresh database of engine that processes started
// apart can share: one SQLite file, or a fresh PostgreSQL schema.
func sharedDatabase(t *testing.T, engine string) string {
	if engine == "postgres" {
		return testdb.FreshSchemaURL(t)
	}
	return "sqlite:///" + filepath.ToSlash(filepath.Join(t.TempDir(), "shared.db"))
}

// addAdmin makes admin@example.com, password admin-pass, an administrator
// with `user add`, run in dir with env.
func addAdmin(t *testing.T, dir string, env []string) {
	t.Helper()
	if _, errOut, code := runCmd(t, dir, "admin-pass\n", env, "user", "add", "admin@example.com", "--admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
}

// adminToken logs the administrator addAdmin made in on s and returns its
// access token.
func adminToken(t *testing.T, s *server) string {
	t.Helper()
	code, body, _ := call(t, "POST", s.URL+"/api/v1/auth/login", "", creds("admin@example.com", "admin-pass"))
	token, ok := body["access_token"].(string)
	if code != 200 || !ok {
		t.Fatalf("admin login: %d %v", code, body)
	}
	return token
}

// answer is what a request sent from a goroutine got.
type answer struct {
	code int
	body map[string]any
	err  error
}

// TestThreeProcessesAdministerAccountsAsOne checks that what an
// administrator does to an account through one process holds on the others
// from the account's very next request, and that administrators racing to
// demote, disable or delete each other through different processes always
// leave one enabled administrator.
func TestThreeProcessesAdministerAccountsAsOne(t *testing.T) {
	env := baseEnv("DATABASE_URL="+testdb.FreshSchemaURL(t), "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789")
	s := startProcesses(t, 3, env)
	c := newCLI(t, env)
	api := func(i int, path string) string { return s[i].URL + "/api/v1" + path }
	c.add("root@example.com", "root-password", true)
	root := login(t, s[0], "root@example.com", "root-password")
	// updated counts the user.updated events there must be: one for each
	// PATCH answered 200, none for the others.
	updated := 0
	patch := func(i int, token, id string, body any) (int, map[string]any) {
		t.Helper()
		code, m := callJSON(t, "PATCH", api(i, "/users/"+id), token, body)
		if code == 200 {
			updated++
		}
		return code, m
	}
	// register makes an account on process i and returns its public id,
	// as the administrator with token finds it.
	register := func(i int, token, email, password string) string {
		t.Helper()
		c.mu.Lock()
		c.secrets = append(c.secrets, password)
		c.mu.Unlock()
		if code, body, _ := call(t, "POST", api(i, "/auth/register"), "", creds(email, password)); code != 201 {
			t.Fatalf("register %s: %d %v", email, code, body)
		}
		code, body, _ := call(t, "GET", api(i, "/users?email="+url.QueryEscape(email)), token, nil)
		items, _ := body["items"].([]any)
		if code != 200 || len(items) != 1 {
			t.Fatalf("find %s: %d %v", email, code, body)
		}
		return items[0].(map[string]any)["public_id"].(string)
	}
	refused := func(what string, code int, body map[string]any, wantCode int, message string) {
		t.Helper()
		wantBody(t, what, code, body, wantCode, map[string]any{"message": message})
	}

	// Disabled through process 0: refused by 1 and 2 on the very next request.
	bob := register(1, root, "bob@example.com", "bob-password")
	var tokens []string
	for i := range s {
		tokens = append(tokens, login(t, s[i], "bob@example.com", "bob-password"))
	}
	for i, tok := range tokens {
		if code, _, _ := call(t, "GET", api((i+1)%3, "/auth/user"), tok, nil); code != 200 {
			t.Fatalf("bob's token %d before: %d", i, code)
		}
	}
	if code, body := patch(0, root, bob, map[string]any{"disabled": true}); code != 200 || body["disabled"] != true || body["public_id"] != bob {
		t.Fatalf("disable bob on 0: %d %v", code, body)
	}
	for _, i := range []int{1, 2} {
		for j, tok := range tokens {
			for _, path := range []string{"/auth/user", "/widgets"} {
				code, body, _ := call(t, "GET", api(i, path), tok, nil)
				refused(fmt.Sprintf("bob's token %d on %d, %s", j, i, path), code, body, 401, msgDisabled)
			}
		}
	}
	code, body, _ := call(t, "POST", api(2, "/auth/login"), "", creds("bob@example.com", "bob-password"))
	wantBody(t, "disabled bob's login on 2", code, body, 403, map[string]any{"status": "fail", "message": "account disabled"})
	// Enabled again through 1, with a form: he logs in on 2, his old
	// sessions stay ended on 0.
	if code, body, _ := call(t, "PATCH", api(1, "/users/"+bob), root, url.Values{"disabled": {"false"}}); code != 200 || body["disabled"] != false {
		t.Fatalf("enable bob on 1: %d %v", code, body)
	}
	updated++
	bobNow := login(t, s[2], "bob@example.com", "bob-password")
	for _, tok := range tokens {
		code, body, _ := call(t, "GET", api(0, "/auth/user"), tok, nil)
		refused("bob's session from before, on 0", code, body, 401, "Token blacklisted. Please log in again.")
	}
	// A form disables as well, through 2; 0 refuses at once.
	if code, body, _ := call(t, "PATCH", api(2, "/users/"+bob), root, url.Values{"disabled": {"true"}}); code != 200 || body["disabled"] != true {
		t.Fatalf("disable bob on 2 with a form: %d %v", code, body)
	}
	updated++
	code, body, _ = call(t, "GET", api(0, "/auth/user"), bobNow, nil)
	refused("bob disabled with a form, on 0", code, body, 401, msgDisabled)
	if code, _ := patch(0, root, bob, map[string]any{"disabled": false}); code != 200 {
		t.Fatalf("enable bob: %d", code)
	}

	// Promoted through 2, bob administers on 1; demoted through 0, he is
	// refused on 1 and 2 at his next request, with the same token.
	if code, body := patch(2, root, bob, map[string]any{"admin": true}); code != 200 || body["admin"] != true {
		t.Fatalf("promote bob on 2: %d %v", code, body)
	}
	bobNow = login(t, s[1], "bob@example.com", "bob-password")
	if code, body, _ := call(t, "GET", api(1, "/users"), bobNow, nil); code != 200 {
		t.Fatalf("bob administers on 1: %d %v", code, body)
	}
	if code, body, _ := call(t, "PATCH", api(0, "/users/"+bob), root, url.Values{"admin": {"false"}}); code != 200 || body["admin"] != false {
		t.Fatalf("demote bob on 0 with a form: %d %v", code, body)
	}
	updated++
	for _, i := range []int{1, 2} {
		for _, path := range []string{"/users", "/audit", "/users/" + bob} {
			code, body, _ := call(t, "GET", api(i, path), bobNow, nil)
			refused(fmt.Sprintf("demoted bob on %d, %s", i, path), code, body, 403, "You are not an administrator")
		}
		if code, body, _ := call(t, "GET", api(i, "/auth/user"), bobNow, nil); code != 200 || body["admin"] != false {
			t.Fatalf("demoted bob's own account on %d: %d %v", i, code, body)
		}
	}

	// Two administrators, and only two, race to remove each other through
	// processes 0 and 1; root gives its rights up first.
	emails := [2]string{"ann@example.com", "ben@example.com"}
	var ids, admins [2]string
	for k, e := range emails {
		ids[k] = register(2, root, e, e+"-password")
		if code, _ := patch(2, root, ids[k], map[string]any{"admin": true}); code != 200 {
			t.Fatalf("promote %s: %d", e, code)
		}
		admins[k] = login(t, s[2], e, e+"-password")
	}
	if code, body := patch(0, root, c.userID("root@example.com"), map[string]any{"admin": false}); code != 200 {
		t.Fatalf("root steps down: %d %v", code, body)
	}
	// survivor is the one of the two whose token still lists the enabled
	// administrators, and finds themself alone among them.
	survivor := func(what string) int {
		t.Helper()
		found := -1
		for k := range admins {
			code, body, _ := call(t, "GET", api(2, "/users?admin=true&disabled=false"), admins[k], nil)
			if code != 200 {
				continue
			}
			items, _ := body["items"].([]any)
			if found >= 0 || len(items) != 1 || items[0].(map[string]any)["email"] != emails[k] {
				t.Fatalf("%s: enabled administrators seen by %s: %v", what, emails[k], body)
			}
			found = k
		}
		if found < 0 {
			t.Fatalf("%s: no enabled administrator is left", what)
		}
		return found
	}
	lastAdmin := map[string]any{"status": "fail", "message": "cannot remove the last administrator"}
	notAdmin := map[string]any{"message": "You are not an administrator"}
	disabled := map[string]any{"message": msgDisabled}
	gone := map[string]any{"message": "Invalid token. Please log in again."}
	deletes := 0
	for _, k := range []struct {
		name string
		// req is what administrator i asks of process i in the race.
		req func(i int) (method, path string, body any)
		win int
		// late are the answers the loser may get instead of the 409 when the
		// winner's change is committed before the loser's request reads
		// its token: it has lost its rights by then.
		late []map[string]any
	}{
		{"each demotes the other", func(i int) (string, string, any) {
			return "PATCH", "/users/" + ids[1-i], map[string]any{"admin": false}
		}, 200, []map[string]any{notAdmin}},
		{"each demotes themself", func(i int) (string, string, any) {
			return "PATCH", "/users/" + ids[i], map[string]any{"admin": false}
		}, 200, nil},
		{"each deletes the other", func(i int) (string, string, any) {
			return "DELETE", "/users/" + ids[1-i], nil
		}, 204, []map[string]any{gone}},
		{"each deletes themself", func(i int) (string, string, any) {
			return "DELETE", "/users/" + ids[i], nil
		}, 204, nil},
		{"one demotes the other, who disables the first", func(i int) (string, string, any) {
			if i == 0 {
				return "PATCH", "/users/" + ids[1], map[string]any{"admin": false}
			}
			return "PATCH", "/users/" + ids[0], map[string]any{"disabled": true}
		}, 200, []map[string]any{notAdmin, disabled}},
		{"one demotes themself as the other disables themself", func(i int) (string, string, any) {
			if i == 0 {
				return "PATCH", "/users/" + ids[0], map[string]any{"admin": false}
			}
			return "PATCH", "/users/" + ids[1], map[string]any{"disabled": true}
		}, 200, nil},
	} {
		const rounds = 20
		losses := map[string]int{}
		for round := range rounds {
			what := fmt.Sprintf("%s, round %d", k.name, round)
			var got [2]answer
			race(t, 2, func(i int) int {
				method, path, body := k.req(i)
				got[i].code, got[i].body, got[i].err = sendJSON(method, api(i, path), admins[i], body)
				return got[i].code
			})
			if got[0].err != nil || got[1].err != nil {
				t.Fatalf("%s: %v, %v", what, got[0].err, got[1].err)
			}
			won := 0
			if got[1].code == k.win {
				won = 1
			}
			lost := got[1-won]
			ok := got[won].code == k.win && lost.code == 409 && jsonEqual(lost.body, lastAdmin)
			for _, late := range k.late {
				ok = ok || got[won].code == k.win && lost.code != 409 && jsonEqual(lost.body, late)
			}
			if !ok {
				t.Fatalf("%s: %d %v and %d %v; want one %d and one 409 %v (or a refusal of the late one's token: %v)",
					what, got[0].code, got[0].body, got[1].code, got[1].body, k.win, lastAdmin, k.late)
			}
			losses[fmt.Sprint(lost.code)]++
			if k.win == 200 {
				updated++
			} else {
				deletes++
			}

			// One enabled administrator is left; it restores the other.
			left := survivor(what)
			other := 1 - left
			method, _, _ := k.req(won)
			if method == "DELETE" {
				ids[other] = register(2, admins[left], emails[other], emails[other]+"-password")
			}
			if code, body := patch(2, admins[left], ids[other], map[string]any{"admin": true, "disabled": false}); code != 200 {
				t.Fatalf("%s: restore %s: %d %v", what, emails[other], code, body)
			}
			admins[other] = login(t, s[2], emails[other], emails[other]+"-password")
		}
		t.Logf("%s: the losers' answers over %d rounds: %v", k.name, rounds, losses)
	}

	// Each change answered has its event, and no refusal has one.
	for action, want := range map[string]int{"user.updated": updated, "user.deleted": deletes} {
		if n, _ := c.events(s[2], admins[0], "action="+action); n != want {
			t.Fatalf("%d %s events, want %d", n, action, want)
		}
	}
}

// Creates and deletes through three processes at once, on one PostgreSQL,
// leave the striped total and every bucket's count exact: what each
// process lists is the 201s less the 204s, and the count tables agree
// with the rows they count.
func TestWidgetCountsExactAcrossThreeProcesses(t *testing.T) {
	dbURL := testdb.FreshSchemaURL(t)
	env := baseEnv("DATABASE_URL="+dbURL, "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789")
	s := startProcesses(t, 3, env)
	addAdmin(t, t.TempDir(), env)
	admin := adminToken(t, s[0])
	var mu sync.Mutex
	created, deleted := 0, 0
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				name := fmt.Sprintf("race-%d-%d", g, i)
				code := postStatus(s[g%3].URL+"/api/v1/widgets", admin,
					widgetForm(name, "https://example.com", "2099-12-31"))
				mu.Lock()
				if code == 201 {
					created++
				}
				mu.Unlock()
				if i%3 != 0 {
					continue
				}
				code = sendStatus("DELETE", s[(g+1)%3].URL+"/api/v1/widgets/"+name, admin, nil)
				mu.Lock()
				if code == 204 {
					deleted++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created == 0 || deleted == 0 {
		t.Fatalf("%d created, %d deleted", created, deleted)
	}
	for i := range s {
		if code, body, _ := call(t, "GET", s[i].URL+"/api/v1/widgets?per_page=5", admin, nil); code != 200 || body["total_items"] != float64(created-deleted) {
			t.Fatalf("list on %d: %d %v; want total_items %d", i, code, body["total_items"], created-deleted)
		}
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, striped, badBuckets int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM widgets), (SELECT sum(n) FROM widget_stripes),
		(SELECT count(*) FROM (SELECT bucket, sum(n) AS n FROM widget_buckets GROUP BY bucket) b
		 FULL JOIN (SELECT id >> 12 AS bucket, count(*) AS n FROM widgets GROUP BY 1) w USING (bucket)
		 WHERE coalesce(b.n, 0) <> coalesce(w.n, 0))`).Scan(&rows, &striped, &badBuckets); err != nil {
		t.Fatal(err)
	}
	if rows != created-deleted || striped != rows || badBuckets != 0 {
		t.Fatalf("%d rows, stripes sum to %d, %d buckets wrong; want %d", rows, striped, badBuckets, created-deleted)
	}
	t.Logf("%d created and %d deleted through three processes", created, deleted)
}

// sendIf sends a form with token and the header h set to v, and returns
// the status and the ETag answered; safe from goroutines.
func sendIf(method, url, token, h, v string, form url.Values) (int, string) {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return -1, ""
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if h != "" {
		req.Header.Set(h, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, ""
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("ETag")
}

// Writers holding one version, spread over three processes on one
// PostgreSQL and sent at once: exactly one wins, whatever each sends.
func TestOneWriterOfAVersionWinsAcrossThreeProcesses(t *testing.T) {
	env := baseEnv("DATABASE_URL="+testdb.FreshSchemaURL(t), "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789")
	addAdmin(t, t.TempDir(), env)
	s := startProcesses(t, 3, env)
	code, body, _ := call(t, "POST", s[0].URL+"/api/v1/auth/login", "", creds("admin@example.com", "admin-pass"))
	if code != 200 {
		t.Fatalf("login: %d %v", code, body)
	}
	token := body["access_token"].(string)
	for round := range 10 {
		name := fmt.Sprintf("contested-%d", round)
		path := "/api/v1/widgets/" + name
		code, tag := sendIf("PUT", s[round%3].URL+path, token, "If-None-Match", "*",
			url.Values{"info_url": {"https://example.com/0"}, "deadline": {"2099-01-01"}})
		if code != 201 || tag == "" {
			t.Fatalf("round %d: create: %d %q", round, code, tag)
		}
		// A second create-only PUT finds it there, on any process.
		if code, _ := sendIf("PUT", s[(round+1)%3].URL+path, token, "If-None-Match", "*",
			url.Values{"info_url": {"https://example.com/0"}, "deadline": {"2099-01-01"}}); code != 412 {
			t.Fatalf("round %d: second create-only PUT: %d", round, code)
		}
		counts := race(t, 12, func(i int) int {
			u := s[i%3].URL + path
			switch (i + round) % 3 {
			case 0:
				c, _ := sendIf("PUT", u, token, "If-Match", tag, url.Values{"info_url": {fmt.Sprintf("https://example.com/%d", i)}, "deadline": {"2099-01-01"}})
				return c
			case 1:
				c, _ := sendIf("PATCH", u, token, "If-Match", tag, url.Values{"info_url": {fmt.Sprintf("https://example.com/%d", i)}})
				return c
			}
			c, _ := sendIf("DELETE", u, token, "If-Match", tag, nil)
			return c
		})
		if counts[200]+counts[204] != 1 || counts[412] != 11 {
			t.Fatalf("round %d: %v; want exactly one success and eleven 412", round, counts)
		}
	}
}

// postFrom posts a form to url as if from addr, through a trusted proxy,
// and returns the status, -1 when the request fails; safe from goroutines.
func postFrom(url, addr string, form url.Values) int {
	req, err := http.NewRequest("POST", url, strings.NewReader(form.Encode()))
	if err != nil {
		return -1
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	res.Body.Close()
	return res.StatusCode
}

// Three processes on one PostgreSQL are one throttle: guesses spread over
// them, sent at once, get exactly what one process would allow.
func TestThrottlingIsSharedByThreeProcesses(t *testing.T) {
	env := baseEnv("DATABASE_URL="+testdb.FreshSchemaURL(t), "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789", "TRUSTED_PROXIES=127.0.0.1/32",
		"AUTH_RATE_LIMIT=60", "AUTH_RATE_BURST=10", "LOGIN_FAILURE_LIMIT=5", "LOGIN_ACCOUNT_LIMIT=20")
	s := startProcesses(t, 3, env)
	on := func(i int, path string) string { return s[i%3].URL + "/api/v1/auth/" + path }
	for _, email := range []string{"one@example.com", "spread@example.com", "budget@example.com"} {
		if code := postFrom(on(0, "register"), "192.0.2.1", creds(email, "right-password")); code != 201 {
			t.Fatalf("register %s: %d", email, code)
		}
	}

	// The control: against one process, one address gets 5 guesses.
	one := race(t, 15, func(int) int { return postFrom(on(0, "login"), "198.51.100.1", creds("one@example.com", "wrong")) })
	// Spread over three: the same 5, not 15.
	spread := race(t, 15, func(i int) int { return postFrom(on(i, "login"), "198.51.100.2", creds("spread@example.com", "wrong")) })
	for name, got := range map[string]map[int]int{"one process": one, "three processes": spread} {
		if got[401] != 5 || got[429] != 10 {
			t.Errorf("%s: %v, want 5 401 and 10 429", name, got)
		}
	}
	// A successful login on one process gives the address its guesses back
	// on the others.
	if code := postFrom(on(1, "login"), "192.0.2.1", creds("spread@example.com", "right-password")); code != 200 {
		t.Fatalf("the owner's login: %d", code)
	}
	if code := postFrom(on(2, "login"), "192.0.2.1", creds("spread@example.com", "wrong")); code != 401 {
		t.Fatalf("a guess after the owner's login, from the owner's address: %d", code)
	}

	// The account's budget across addresses and processes: 20.
	budget := race(t, 45, func(i int) int {
		return postFrom(on(i, "login"), fmt.Sprintf("203.0.113.%d", i+1), creds("budget@example.com", "wrong"))
	})
	if budget[401] != 20 || budget[429] != 25 {
		t.Errorf("45 guesses from 45 addresses over three processes: %v, want 20 401 and 25 429", budget)
	}
	if code := postFrom(on(1, "login"), "192.0.2.1", creds("budget@example.com", "right-password")); code != 200 {
		t.Errorf("the owner from their known address: %d", code)
	}

	// The address limit: 10 at once, then one a second, across processes.
	reg := race(t, 30, func(i int) int {
		return postFrom(on(i, "register"), "198.51.100.99", creds(fmt.Sprintf("r%d@example.com", i), "right-password"))
	})
	if reg[201] != 10 || reg[429] != 20 {
		t.Errorf("30 registrations from one address over three processes: %v, want 10 201 and 20 429", reg)
	}
}
