package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"
)

// BackupResult describes a finished backup.
type BackupResult struct {
	Path string
	// Size is the copy's size in bytes.
	Size int64
	// SchemaVersion is the newest migration applied in the copy.
	SchemaVersion int64
	Duration      time.Duration
}

// backupStep is how many pages one step of the online backup copies
// between checks of the context: 1024 pages of 4 KiB are 4 MiB.
const backupStep = 1024

// Backup writes a consistent copy of the database file at src to a new file
// at dst, while other connections, in this process or others, go on reading
// and writing src.
//
// It uses SQLite's online backup API inside one read transaction on src:
// in WAL mode that transaction sees one snapshot of the database from start
// to end and blocks no writer, so the copy is the database as it was when
// the backup began. The copy is written to a temporary file beside dst
// (created 0600), checked with PRAGMA integrity_check and for its migration
// table, fsynced, and only then moved to dst, so dst is either absent or a
// complete, checked copy. An existing dst is replaced only when replace is
// true; dst may never be src itself, nor a database that has a -wal or -shm
// file beside it.
func Backup(ctx context.Context, src, dst string, replace bool) (BackupResult, error) {
	start := time.Now()
	res := BackupResult{Path: dst}
	if err := checkBackupPaths(src, dst, replace); err != nil {
		return res, err
	}

	tmpFile, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return res, fmt.Errorf("create temporary file beside %s: %w", dst, err)
	}
	tmp := tmpFile.Name()
	// CreateTemp makes the file 0600; SQLite writes into it, so the copy
	// never exists with wider permissions.
	if err := tmpFile.Close(); err != nil {
		removeDatabaseFiles(tmp)
		return res, fmt.Errorf("create temporary file beside %s: %w", dst, err)
	}
	done := false
	defer func() {
		if !done {
			removeDatabaseFiles(tmp)
		}
	}()

	if err := copyDatabase(ctx, src, tmp); err != nil {
		return res, err
	}
	if res.SchemaVersion, err = checkCopy(tmp); err != nil {
		return res, err
	}
	if err := syncFile(tmp); err != nil {
		return res, fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := moveIntoPlace(tmp, dst, replace); err != nil {
		return res, err
	}
	done = true
	// The rename is durable once the directory is.
	if err := syncFile(filepath.Dir(dst)); err != nil {
		return res, fmt.Errorf("fsync directory of %s: %w", dst, err)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return res, err
	}
	res.Size, res.Duration = fi.Size(), time.Since(start)
	return res, nil
}

// checkBackupPaths refuses what would lose data or make a misleading copy.
func checkBackupPaths(src, dst string, replace bool) error {
	sfi, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no database at %s", src)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if !sfi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a database file", src)
	}
	dfi, err := os.Stat(dst)
	switch {
	case err == nil && os.SameFile(sfi, dfi):
		return fmt.Errorf("%s is the database being backed up", dst)
	case err == nil && !dfi.Mode().IsRegular():
		return fmt.Errorf("%s exists and is not a regular file", dst)
	case err == nil && !replace:
		return fmt.Errorf("%s exists; pass --force to replace it", dst)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("check %s: %w", dst, err)
	}
	// A stale WAL beside dst would be replayed into the copy when it is
	// next opened.
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Lstat(dst + suffix); err == nil {
			return fmt.Errorf("%s%s exists: %s looks like a database in use; choose another path", dst, suffix, dst)
		}
	}
	return nil
}

// copyDatabase copies the database at src into the empty file at tmp.
func copyDatabase(ctx context.Context, src, tmp string) error {
	// The connection below may create src's -wal and -shm files (when serve
	// is stopped); they are the owner's alone, as Open makes them.
	if err := restrictFiles(src); err != nil {
		return err
	}
	// Read-write, though it only reads, and never creating: a read-only
	// connection would leave the -wal and -shm files it needs behind when
	// the service is stopped, where a read-write one that closes last
	// checkpoints and removes them, as serve does.
	conn, err := sqlite3.OpenFlags(fileURI(src), sqlite3.OPEN_READWRITE|sqlite3.OPEN_URI)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer conn.Close()
	if err := firstError(conn.BusyTimeout(5*time.Second), conn.Exec(`PRAGMA query_only = on`)); err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	// The read transaction is opened here, not by the backup, so that it
	// spans every step: the backup then copies one snapshot, and writers in
	// other processes never make it start over.
	if err := conn.Exec(`BEGIN; SELECT count(*) FROM sqlite_schema`); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	defer func() { _ = conn.Exec(`ROLLBACK`) }()

	b, err := conn.BackupInit("main", fileURI(tmp))
	if err != nil {
		return fmt.Errorf("start backup of %s: %w", src, err)
	}
	// Errors are one line: the first one is the cause, the close after it
	// only adds noise.
	for {
		if err := ctx.Err(); err != nil {
			_ = b.Close()
			return fmt.Errorf("backup of %s stopped: %w", src, err)
		}
		finished, err := b.Step(backupStep)
		if err != nil {
			_ = b.Close()
			return fmt.Errorf("copy %s: %w", src, err)
		}
		if finished {
			break
		}
	}
	if err := b.Close(); err != nil {
		return fmt.Errorf("finish backup of %s: %w", src, err)
	}
	return nil
}

// checkCopy runs SQLite's integrity check on the copy and returns the
// newest migration applied in it.
func checkCopy(path string) (int64, error) {
	conn, err := sqlite3.OpenFlags(fileURI(path), sqlite3.OPEN_READWRITE|sqlite3.OPEN_URI)
	if err != nil {
		return 0, fmt.Errorf("open the copy %s: %w", path, err)
	}
	defer conn.Close()

	st, _, err := conn.Prepare(`PRAGMA integrity_check`)
	if err != nil {
		return 0, fmt.Errorf("PRAGMA integrity_check on the copy failed: %w", err)
	}
	var problems []string
	for st.Step() {
		if msg := st.ColumnText(0); msg != "ok" {
			// One row can hold several lines ("*** in database main ***"
			// and each damaged tree); the error stays one line.
			problems = append(problems, strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " / ")), " "))
		}
	}
	if err := firstError(st.Err(), st.Close()); err != nil {
		return 0, fmt.Errorf("PRAGMA integrity_check on the copy failed: %w", err)
	}
	if len(problems) > 0 {
		return 0, fmt.Errorf("the copy failed PRAGMA integrity_check: %s", strings.Join(problems, "; "))
	}

	st, _, err = conn.Prepare(`SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`)
	if err != nil {
		return 0, fmt.Errorf("the copy has no migration table (goose_db_version), so it is not a widgetapi database: %w", err)
	}
	defer st.Close()
	if !st.Step() {
		return 0, fmt.Errorf("read the copy's schema version: %w", st.Err())
	}
	v := st.ColumnInt64(0)
	if v < 1 {
		return 0, errors.New("the copy's migration table records no applied migration, so it is not a widgetapi database")
	}
	return v, nil
}

// moveIntoPlace renames tmp to dst. Without replace it links instead, which
// fails if dst appeared since it was checked, then drops the temporary name.
func moveIntoPlace(tmp, dst string, replace bool) error {
	if !replace {
		err := os.Link(tmp, dst)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; pass --force to replace it", dst)
		}
		if err == nil {
			return os.Remove(tmp)
		}
		// A file system without hard links: fall back to the rename,
		// after checking once more.
		if _, serr := os.Lstat(dst); serr == nil {
			return fmt.Errorf("%s exists; pass --force to replace it", dst)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("move the copy to %s: %w", dst, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return firstError(f.Sync(), f.Close())
}

// removeDatabaseFiles removes a failed copy and what SQLite kept beside it.
func removeDatabaseFiles(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
}

// firstError returns the first error that is not nil: a backup's errors
// are reported on one line, and the first is the cause.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func fileURI(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath()
}
