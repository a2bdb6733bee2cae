package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"widgetapi/internal/config"
	"widgetapi/sqlite"
)

const backupUsage = `Usage: widgetapi backup [--force] PATH

Writes a consistent copy of the SQLite database that DATABASE_URL (or
DATA_DIR and APP_ENV) names to PATH, while serve keeps reading and writing it.
The copy is the database as it was when the backup began. It is written to a
temporary file beside PATH (mode 0600), checked with PRAGMA integrity_check
and for its migration table, fsynced, then renamed to PATH, so PATH is either
absent or a complete, checked copy. An existing PATH is kept unless --force
is given. Prints one line (path, size, duration) on success.

On PostgreSQL it refuses: use pg_dump. To restore, see docs/operations.md.
`

func runBackup(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	force := fs.Bool("force", false, "replace PATH if it exists")
	env := vars{"APP_ENV", "DATA_DIR", "DATABASE_URL"}
	config.AddFlags(fs, env...)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), backupUsage+"\nFlags (each overrides its variable):\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), env.help())
	}
	// Flags may come before or after PATH.
	var path string
	rest := args
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		path, rest = rest[0], rest[1:]
	}
	if help, err := parseFlags(fs, rest, stdout, stderr); help || err != nil {
		return err
	}
	if path == "" && fs.NArg() > 0 {
		path = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return usageError(stderr, "backup", "%v", err)
		}
	}
	if path == "" || fs.NArg() > 0 {
		return usageError(stderr, "backup", "give one PATH to write the copy to")
	}
	cfg, err := config.Load(config.WithFlags(fs, env.only(getenv)))
	if err != nil {
		return err
	}
	engine, src, err := config.ParseDatabaseURL(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if engine != "sqlite" {
		return errors.New("backup: DATABASE_URL is PostgreSQL; back it up with pg_dump instead, e.g. pg_dump -Fc \"$DATABASE_URL\" > widgetapi.dump")
	}
	res, err := sqlite.Backup(ctx, src, path, *force)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "backed up %s to %s: %d bytes, schema version %d, integrity ok, in %s\n",
		src, res.Path, res.Size, res.SchemaVersion, res.Duration.Round(10*time.Microsecond))
	return err
}
