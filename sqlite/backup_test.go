package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/store"
	"widgetapi/internal/testdb"
	"widgetapi/sqlite"
)

func openMigrated(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	testdb.Migrate(t, db)
	return db
}

func addUser(ctx context.Context, db *sqlite.DB, email string) error {
	return store.New(db).CreateUser(ctx, &widgetapi.User{Email: email, PasswordHash: []byte("x"),
		PublicID: "id-" + email, RegisteredOn: time.Unix(1e9, 0)}, nil, nil)
}

// The copy holds every row committed before the backup started, while a
// writer keeps committing during it; the copy is 0600 and passes the checks.
func TestBackupUnderWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	db := openMigrated(t, live)
	// About 12 MiB, so that the backup takes several steps while the
	// writer commits between them.
	bulk, err := sql.Open("sqlite3", "file:"+live)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bulk.ExecContext(ctx, `
		WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
		INSERT INTO users (email, password_hash, registered_on, public_id)
		SELECT 'before-' || i || '@example.com', printf('%.1000c', 'x'), 1000000000, 'before-' || i FROM n`); err != nil {
		t.Fatal(err)
	}
	bulk.Close()

	var stop atomic.Bool
	var during atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if err := addUser(ctx, db, fmt.Sprintf("during-%d@example.com", i)); err != nil {
				t.Error(err)
				return
			}
			during.Add(1)
		}
	}()
	dst := filepath.Join(dir, "copy.db")
	res, err := sqlite.Backup(ctx, live, dst, false)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes copied in %v while %d users were added", res.Size, res.Duration, during.Load())
	p, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	sources := p.ListSources()
	if res.Path != dst || res.Size < 10<<20 || res.SchemaVersion != sources[len(sources)-1].Version {
		t.Fatalf("result %+v", res)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != res.Size {
		t.Fatalf("copy is %v, %d bytes; want 0600, %d", fi.Mode(), fi.Size(), res.Size)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".copy.db.tmp-*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	cp := openMigrated(t, dst)
	for i := range 10000 {
		if _, err := cp.FindUserByEmail(ctx, fmt.Sprintf("before-%d@example.com", i)); err != nil {
			t.Fatalf("user %d missing from the copy: %v", i, err)
		}
	}
}

func TestBackupRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	db := openMigrated(t, live)
	if err := addUser(ctx, db, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "copy.db")
	if _, err := sqlite.Backup(ctx, live, dst, false); err != nil {
		t.Fatal(err)
	}
	if err := addUser(ctx, db, "b@example.com"); err != nil {
		t.Fatal(err)
	}

	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database\n", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.db")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, src, dst string
		replace        bool
		want           string
	}{
		{"existing destination", live, dst, false, "exists; pass --force"},
		{"the live database itself", live, live, true, "is the database being backed up"},
		{"a directory", live, dir, true, "not a regular file"},
		{"missing source", filepath.Join(dir, "absent.db"), filepath.Join(dir, "x.db"), false, "no database at"},
		{"not a database", notDB, filepath.Join(dir, "y.db"), false, "not a database"},
		{"no migrations", plain, filepath.Join(dir, "z.db"), false, "no migration table"},
		{"destination beside a WAL", live, live + "-copy", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				if err := os.WriteFile(tc.dst+"-wal", nil, 0o600); err != nil {
					t.Fatal(err)
				}
				tc.want = "-wal exists"
			}
			_, err := sqlite.Backup(ctx, tc.src, tc.dst, tc.replace)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v; want one line containing %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "absent.db")); !os.IsNotExist(err) {
		t.Fatalf("a backup of a missing database created it: %v", err)
	}
	for _, f := range []string{"y.db", "z.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("a failed backup left %s: %v", f, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(left) > 0 {
		t.Errorf("failed backups left temporary files: %v", left)
	}

	// With replace, the old copy gives way to a new one.
	if _, err := sqlite.Backup(ctx, live, dst, true); err != nil {
		t.Fatal(err)
	}
	if _, err := openMigrated(t, dst).FindUserByEmail(ctx, "b@example.com"); err != nil {
		t.Fatalf("the replaced copy is not the newer one: %v", err)
	}
}

func TestBackupStopsWithItsContext(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	openMigrated(t, live)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sqlite.Backup(ctx, live, filepath.Join(dir, "copy.db"), false); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "copy.db")); !os.IsNotExist(err) {
		t.Fatalf("a stopped backup left its destination: %v", err)
	}
}
