package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pressly/goose/v3/lock"
)

// fileLock is an exclusive lock on a file beside the database, held by
// one process at a time; the operating system drops it when its process
// dies, so a crash never leaves it taken. Processes that start together on
// an empty database take it to create the file and switch it to WAL, and
// to run the migrations, one after the other.
type fileLock struct{ path string }

// lockPoll is how often a waiting process tries the lock again: the lock
// is held for milliseconds, and a blocking lock could not be given up
// when ctx ends.
const lockPoll = 10 * time.Millisecond

// acquire takes the lock, waiting until ctx ends, and returns the function
// that releases it.
func (l fileLock) acquire(ctx context.Context) (release func() error, err error) {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open lock file %s: %w", l.path, err)
	}
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("sqlite: lock %s: %w", l.path, err)
		}
		if ok {
			return func() error { return errors.Join(unlock(f), f.Close()) }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("sqlite: wait for %s: %w", l.path, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// migrationLocker holds the file lock while goose migrates. goose runs the
// migrations on the connection it passes here, so the lock needs no
// connection of its own (SQLite's writer pool has one).
type migrationLocker struct {
	lock    fileLock
	release func() error
}

var _ lock.SessionLocker = (*migrationLocker)(nil)

func (m *migrationLocker) SessionLock(ctx context.Context, _ *sql.Conn) error {
	release, err := m.lock.acquire(ctx)
	if err != nil {
		return err
	}
	m.release = release
	return nil
}

func (m *migrationLocker) SessionUnlock(context.Context, *sql.Conn) error {
	if m.release == nil {
		return nil
	}
	release := m.release
	m.release = nil
	return release()
}
