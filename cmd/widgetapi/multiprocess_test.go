package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"widgetapi/internal/testdb"
)

// TestThreeProcessesShareOnePostgres starts three servers at the same moment
// on one empty PostgreSQL schema and checks that they behave as one service.
func TestThreeProcessesShareOnePostgres(t *testing.T) {
	dbURL := testdb.FreshSchemaURL(t)
	env := baseEnv("DATABASE_URL="+dbURL, "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789")
	var launched []*pending
	for range 3 {
		launched = append(launched, launchServer(t, t.TempDir(), env))
	}
	var s []*server
	for _, p := range launched {
		s = append(s, p.ready())
	}

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
	if _, errOut, code := runCmd(t, t.TempDir(), "admin-pass\n", env, "user", "add", "admin@example.com", "--admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	_, body, _ = call(t, "POST", s[2].URL+"/api/v1/auth/login", "", creds("admin@example.com", "admin-pass"))
	admin := body["access_token"].(string)
	counts = race(t, 12, func(i int) int {
		return postStatus(s[i%3].URL+"/api/v1/widgets", admin,
			url.Values{"name": {"contested"}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}})
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
					url.Values{"name": {"put-race"}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}})
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
	start := make(chan struct{})
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	counts := map[int]int{}
	for _, c := range codes {
		counts[c]++
	}
	return counts
}

// Creates and deletes through three processes at once, on one PostgreSQL,
// leave the striped total and every bucket's count exact: what each
// process lists is the 201s less the 204s, and the count tables agree
// with the rows they count.
func TestWidgetCountsExactAcrossThreeProcesses(t *testing.T) {
	dbURL := testdb.FreshSchemaURL(t)
	env := baseEnv("DATABASE_URL="+dbURL, "APP_ENV=testing", "TOKEN_TTL=1h",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789")
	var launched []*pending
	for range 3 {
		launched = append(launched, launchServer(t, t.TempDir(), env))
	}
	var s []*server
	for _, p := range launched {
		s = append(s, p.ready())
	}
	if _, errOut, code := runCmd(t, t.TempDir(), "admin-pass\n", env, "user", "add", "admin@example.com", "--admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	_, body, _ := call(t, "POST", s[0].URL+"/api/v1/auth/login", "", creds("admin@example.com", "admin-pass"))
	admin := body["access_token"].(string)
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
					url.Values{"name": {name}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}})
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
