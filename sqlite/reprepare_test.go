package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"widgetapi"
	"widgetapi/internal/store"
)

// openWith returns a migrated database at path with two users and 1,000
// widgets; analyze runs a plain ANALYZE on it, as an operator might by hand.
func openWith(t testing.TB, path string, analyze bool) (*DB, []*widgetapi.User) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var users []*widgetapi.User
	for i := range 2 {
		u := &widgetapi.User{Email: fmt.Sprintf("u%d@example.com", i), PasswordHash: []byte("h"),
			PublicID: fmt.Sprintf("8b6f1a52-3c57-4bd0-9a6a-1f2e3d4c5b6%d", i), RegisteredOn: time.Unix(0, 0)}
		if err := store.New(db).CreateUser(ctx, u, nil, nil); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	var ws []*widgetapi.Widget
	for i := range 1000 {
		ws = append(ws, &widgetapi.Widget{Name: fmt.Sprintf("w%07d", i), InfoURL: "https://example.com",
			CreatedAt: time.Unix(int64(i), 0), Deadline: time.Unix(1e9, 0), Owner: widgetapi.WidgetOwner{ID: users[0].ID}})
	}
	if _, err := db.CreateWidgets(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if analyze {
		if _, err := db.write.ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
	}
	return db, users
}

// reprepares runs the per-request reads over many names and returns how
// often SQLite prepared their statements again.
func reprepares(db *DB, users []*widgetapi.User) int {
	ctx := context.Background()
	for i := range 200 {
		_, _, _ = db.FindWidgetForToken(ctx, users[1].PublicID, "x", fmt.Sprintf("w%07d", i))
		_, _ = db.FindTokenSubject(ctx, users[i%2].PublicID, fmt.Sprint(i))
	}
	n := 0
	for _, hc := range db.hot.all {
		for _, hs := range hc.stmts {
			n += hs.st.Status(sqlite3.STMTSTATUS_REPREPARE, false)
		}
	}
	return n
}

// The statements of every request are prepared once per connection, not
// again on each request, also once the database has planner statistics:
// STAT4 samples made SQLite prepare the widget read anew at every bind.
func TestPerRequestStatementsAreNotPreparedAgain(t *testing.T) {
	t.Run("after Analyze", func(t *testing.T) {
		db, users := openWith(t, filepath.Join(t.TempDir(), "x.db"), false)
		defer db.Close()
		if err := db.Analyze(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := reprepares(db, users); n != 0 {
			t.Fatalf("%d re-preparations", n)
		}
	})
	t.Run("after an ANALYZE by hand and a restart", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.db")
		db, users := openWith(t, path, true)
		db.Close()
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if n := reprepares(db, users); n != 0 {
			t.Fatalf("%d re-preparations", n)
		}
	})
	// The control: with the samples left in place, the statements are
	// prepared again, so the test above can tell.
	t.Run("control: samples left in place", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.db")
		db, users := openWith(t, path, true)
		defer db.Close()
		if n := reprepares(db, users); n == 0 {
			t.Fatal("no re-preparations with STAT4 samples: the test cannot see them")
		}
	})
}

// BenchmarkFindWidgetForToken reads widgets as the API does, without and
// with planner statistics.
func BenchmarkFindWidgetForToken(b *testing.B) {
	for _, analyze := range []bool{false, true} {
		b.Run(fmt.Sprint("analyzed=", analyze), func(b *testing.B) {
			db, users := openWith(b, filepath.Join(b.TempDir(), "x.db"), false)
			defer db.Close()
			if analyze {
				if err := db.Analyze(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, _, _ = db.FindWidgetForToken(context.Background(), users[1].PublicID, "x", fmt.Sprintf("w%07d", i%1000))
			}
		})
	}
}
