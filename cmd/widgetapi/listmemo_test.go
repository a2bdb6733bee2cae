package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"widgetapi/internal/testdb"
	"widgetapi/internal/testload"
)

// listOracle is a list request and the SQL that answers it: the rows it
// selects and their order.
type listOracle struct {
	query, where, order string
}

// Three processes on one PostgreSQL keep pages of the list by the widgets'
// stamp. While writers create, change and delete widgets through all three
// and readers keep every process's pages warm, a writer whose prefix no
// one else touches checks, after each acknowledged write, that every
// process lists the exact total it expects; once the writes stop, every
// filter and sort through every process matches a COUNT(*) and an ORDER BY
// of the rows, read twice so that the second answer is a kept page.
func TestListTotalsExactAcrossThreeProcessesUnderWrites(t *testing.T) {
	dbURL := testdb.FreshSchemaURL(t)
	env := baseEnv("DATABASE_URL="+dbURL, "APP_ENV=testing", "TOKEN_TTL=1h", "TZ=UTC",
		"SECRET_KEY=shared-key-of-the-deployment-0123456789")
	s := startProcesses(t, 3, env)
	addAdmin(t, t.TempDir(), env)
	var lines strings.Builder
	for i := range 300 {
		fmt.Fprintf(&lines, `{"name":"f-%03d","info_url":"https://example.com/%d","deadline":"%s"}`+"\n",
			i, i, time.Date(2099, 1, 1+i%120, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	if _, errOut, code := runCmd(t, t.TempDir(), lines.String(), env, "widget", "import", "--owner", "admin@example.com", "-"); code != 0 {
		t.Fatalf("widget import: %s", errOut)
	}
	admin := adminToken(t, s[0])
	_, me, _ := call(t, "GET", s[0].URL+"/api/v1/auth/user", admin, nil)
	owner := me["public_id"].(string)

	oracles := []listOracle{
		{"name_prefix=f-1", `name LIKE 'f-1%'`, `id`},
		{"deadline_before=2099-02-15", `deadline <= '2099-02-15 23:59:59Z'`, `id`},
		{"name_prefix=f-1&deadline_before=2099-02-15", `name LIKE 'f-1%' AND deadline <= '2099-02-15 23:59:59Z'`, `id`},
		{"deadline_after=2099-03-01&sort=-deadline", `deadline >= '2099-03-01 00:00:00Z'`, `deadline DESC, id`},
		{"owner=" + owner + "&sort=name", `true`, `name COLLATE "C"`},
		{"passed=false&sort=-name", `deadline > now()`, `name COLLATE "C" DESC`},
		{"name_prefix=f-&deadline_after=2099-01-20&deadline_before=2099-04-10&passed=false&sort=deadline",
			`name LIKE 'f-%' AND deadline BETWEEN '2099-01-20 00:00:00Z' AND '2099-04-10 23:59:59Z'`, `deadline, id`},
		{"sort=-created_at", `true`, `id DESC`},
		{"page=3", `true`, `id OFFSET 10`},
	}
	list := func(srv *server, query string) (int, []string) {
		t.Helper()
		code, b, _ := call(t, "GET", srv.URL+"/api/v1/widgets?per_page=5&"+query, admin, nil)
		if code != 200 {
			t.Fatalf("GET ?%s: %d %v", query, code, b)
		}
		var names []string
		for _, it := range b["items"].([]any) {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		return int(b["total_items"].(float64)), names
	}

	// solo creates and moves widgets of its own prefix through one process
	// and checks, once each write is acknowledged, what all three list.
	soloCreated, soloEarly := 0, 0
	check := func(after string) string {
		for k, srv := range s {
			if total, _ := list(srv, "name_prefix=solo-"); total != soloCreated {
				return fmt.Sprintf("after %s, process %d lists %d solo widgets, %d acknowledged", after, k, total, soloCreated)
			}
			if total, _ := list(srv, "name_prefix=solo-&deadline_before=2099-01-31"); total != soloEarly {
				return fmt.Sprintf("after %s, process %d lists %d early solo widgets, %d acknowledged", after, k, total, soloEarly)
			}
		}
		return ""
	}
	solo := func(i int) string {
		name := fmt.Sprintf("solo-%04d", i)
		if code := postStatus(s[i%3].URL+"/api/v1/widgets", admin,
			widgetForm(name, "https://example.com", "2099-01-10")); code != 201 {
			return fmt.Sprintf("create %s: %d", name, code)
		}
		soloCreated++
		soloEarly++
		if msg := check("create " + name); msg != "" || i%3 != 0 {
			return msg
		}
		// A change that moves the widget out of a filter, the count of
		// widgets staying the same, with every process holding the page.
		if code := sendStatus("PATCH", s[(i+1)%3].URL+"/api/v1/widgets/"+name, admin, url.Values{"deadline": {"2099-06-01"}}); code != 200 {
			return fmt.Sprintf("patch %s: %d", name, code)
		}
		soloEarly--
		return check("patch " + name)
	}

	rs := make([]*rand.Rand, 6)
	for g := range rs {
		rs[g] = rand.New(rand.NewPCG(uint64(g), 7))
	}
	stopWriters := testload.Repeat(len(rs), func(g, i int) bool {
		r, srv := rs[g], s[(g+i)%3]
		name := fmt.Sprintf("f-%03d", r.IntN(300))
		switch i % 4 {
		case 0:
			postStatus(srv.URL+"/api/v1/widgets", admin, widgetForm(fmt.Sprintf("f-1%d-%d", g, i),
				"https://example.com", time.Date(2099, 1, 1+r.IntN(120), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)))
		case 1, 2:
			sendStatus("PATCH", srv.URL+"/api/v1/widgets/"+name, admin,
				url.Values{"deadline": {time.Date(2099, 1, 1+r.IntN(120), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)}})
		default:
			sendStatus("DELETE", srv.URL+"/api/v1/widgets/"+name, admin, nil)
		}
		return true
	})
	stopReaders := testload.Repeat(3, func(g, i int) bool {
		o := oracles[i%len(oracles)]
		if code := sendStatus("GET", s[g].URL+"/api/v1/widgets?per_page=5&"+o.query, admin, nil); code != 200 {
			t.Errorf("GET ?%s on %d: %d", o.query, g, code)
			return false
		}
		return true
	})
	stop := func() { stopWriters(); stopReaders() }
	i := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); i++ {
		if msg := solo(i); msg != "" {
			stop()
			t.Fatal("under concurrent writes: " + msg)
		}
	}
	stop()
	if t.Failed() {
		return
	}
	// Quiescent: pages are now kept, and a write must still be seen at once.
	for range 5 {
		if msg := solo(i); msg != "" {
			t.Fatal("after the writes: " + msg)
		}
		i++
	}

	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, o := range oracles {
		var want int
		if err := db.QueryRow(`SELECT count(*) FROM widgets WHERE ` + o.where).Scan(&want); err != nil {
			t.Fatal(err)
		}
		var wantNames []string
		order, offset, _ := strings.Cut(o.order, " OFFSET ")
		if offset == "" {
			offset = "0"
		}
		rows, err := db.Query(`SELECT name FROM widgets WHERE ` + o.where + ` ORDER BY ` + order + ` LIMIT 5 OFFSET ` + offset)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			wantNames = append(wantNames, n)
		}
		rows.Close()
		for k, srv := range s {
			for read := range 2 {
				total, names := list(srv, o.query)
				if total != want || fmt.Sprint(names) != fmt.Sprint(wantNames) {
					t.Errorf("?%s on process %d, read %d: total %d %v; COUNT(*) %d, rows %v", o.query, k, read, total, names, want, wantNames)
				}
			}
		}
	}
	t.Logf("%d solo writes checked on three processes", i)
}
