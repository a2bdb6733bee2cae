package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/store"
)

// The database, its WAL and its shared-memory file hold password hashes:
// only their owner may read them, whatever the umask and whoever made the
// directory, and files an earlier version left open to others are closed.
func TestDatabaseFilesAreReadableByTheirOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.db")
	check := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("%s: %s has mode %o", when, filepath.Base(p), perm)
			}
		}
	}
	open := func() *DB {
		t.Helper()
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := db.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Up(context.Background()); err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	u := &widgetapi.User{Email: "a@example.com", PasswordHash: []byte("hash"), PublicID: "8b6f1a52-3c57-4bd0-9a4c-1f2e3d4c5b6a", RegisteredOn: time.Unix(0, 0)}
	if err := store.New(db).CreateUser(context.Background(), u, nil, nil); err != nil {
		t.Fatal(err)
	}
	check("while open")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// As a version that made them 0644 would have left them.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db = open()
	defer db.Close()
	check("after reopening")
	if _, err := db.FindUserByEmail(context.Background(), "a@example.com"); err != nil {
		t.Fatalf("the user is gone after reopening: %v", err)
	}
}

// One holder at a time; a waiter gives up when its context ends.
func TestFileLockIsExclusive(t *testing.T) {
	l := fileLock{filepath.Join(t.TempDir(), "x.lock")}
	release, err := l.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder: %v, want the wait to end with its context", err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := l.acquire(context.Background())
		if err == nil {
			err = r()
		}
		got <- err
	}()
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiter after release: %v", err)
	}
}
