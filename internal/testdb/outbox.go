package testdb

import (
	"database/sql"
	"regexp"
	"sync"
	"testing"

	"widgetapi"
)

// sources are the database each open store is on, as a driver name and
// a data source a test may open a connection of its own with.
var sources sync.Map // Store → source

type source struct{ driver, dsn string }

func remember(st Store, driver, dsn string) { sources.Store(st, source{driver, dsn}) }

// SQL is a connection of the test's own to the database of st, a store
// OpenSQLite or OpenPostgres made, for reading what no store method reads
// (the outbox the sender of another package delivers). Closed when the
// test ends.
func SQL(t testing.TB, st Store) *sql.DB {
	t.Helper()
	v, ok := sources.Load(st)
	if !ok {
		t.Fatal("testdb: the store was not opened by testdb")
	}
	src := v.(source)
	db, err := sql.Open(src.driver, src.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Outbox returns the mail queued in the outbox of st to the address to
// (every address when to is ""), oldest first.
func Outbox(t testing.TB, st Store, to string) []widgetapi.Mail {
	t.Helper()
	rows, err := SQL(t, st).Query(`
		SELECT id, kind, recipient, subject, text_body, html_body FROM mail_outbox
		WHERE recipient = $1 OR $1 = '' ORDER BY id`, to)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []widgetapi.Mail
	for rows.Next() {
		var m widgetapi.Mail
		if err := rows.Scan(&m.ID, &m.Kind, &m.To, &m.Subject, &m.Text, &m.HTML); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var linkToken = regexp.MustCompile(`https?://\S+\?token=([A-Za-z0-9_-]+)`)

// MailLink returns the link of the text part of m and its token, failing
// the test when it has none.
func MailLink(t testing.TB, m widgetapi.Mail) (link, token string) {
	t.Helper()
	match := linkToken.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("mail %s to %s has no link with a token: %q", m.Kind, m.To, m.Text)
	}
	return match[0], match[1]
}
