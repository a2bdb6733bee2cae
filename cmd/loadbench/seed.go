package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop the benchmark's database
)

// database is a fresh database of one engine, with the benchmark's users and
// widgets, and the environment that serves it.
type database struct {
	url  string
	env  []string
	drop func()
}

// prepareDatabase creates a fresh database, migrates it and adds the users
// with the built binary, and seeds n widgets through the engine's own bulk
// create, as `widgetapi widget import` does.
func prepareDatabase(ctx context.Context, dir, bin, engine string, n int, o options) (*database, error) {
	db := &database{drop: func() {}}
	switch engine {
	case "sqlite":
		db.url = "sqlite:///" + filepath.Join(dir, "bench.db") // absolute: sqlite:////tmp/...
	case "postgres":
		var err error
		if db.url, db.drop, err = createPostgresDB(o.pgURL); err != nil {
			return nil, err
		}
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	db.env = append(os.Environ(), "APP_ENV=production", "SECRET_KEY="+hex.EncodeToString(secret),
		fmt.Sprintf("BCRYPT_COST=%d", prodCost), "TOKEN_TTL=1h", "DATA_DIR="+dir, "DATABASE_URL="+db.url,
		// All load comes from one address; throttling would turn it into 429s.
		"AUTH_RATE_LIMIT=0", "LOGIN_FAILURE_LIMIT=0", "LOG_LEVEL=info", "LOG_FORMAT=json")
	for _, args := range [][]string{{"migrate", "up"}, {"user", "add", adminEmail, "--admin", "--password-stdin"}, {"user", "add", userEmail, "--password-stdin"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Dir = db.env, dir
		cmd.Stdin = strings.NewReader(benchPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			db.drop()
			return nil, fmt.Errorf("%v: %v: %s", args, err, out)
		}
	}
	start := time.Now()
	if err := seedWidgets(ctx, bin, dir, db.env, n); err != nil {
		db.drop()
		return nil, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "%s: seeded %d widgets in %s\n", engine, n, time.Since(start).Round(time.Millisecond))
	return db, nil
}

// seedWidgets creates n widgets owned by the admin, named widgetName(1..n)
// in creation order, by piping them as JSON Lines into the built binary's
// `widgetapi widget import`: the benchmark seeds through the import's own
// path (validation, batches, the engines' CreateWidgets, ANALYZE).
func seedWidgets(ctx context.Context, bin, dir string, env []string, n int) error {
	if n == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, bin, "widget", "import", "--owner", adminEmail, "-")
	cmd.Env, cmd.Dir = env, dir
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(in, 64<<10)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var werr error
	for i := 1; i <= n && werr == nil; i++ {
		_, werr = fmt.Fprintf(w, `{"name":%q,"info_url":"https://example.com/%d","deadline":%q,"created_at_iso8601":%q}`+"\n",
			widgetName(i), i, widgetDeadline(i), base.Add(time.Duration(i)*time.Second).Format(time.RFC3339))
	}
	werr = errors.Join(werr, w.Flush(), in.Close())
	if err := cmd.Wait(); err != nil || werr != nil {
		return fmt.Errorf("widget import: %v %v: %s", err, werr, out.String())
	}
	return nil
}

// widgetDeadline is widget i's deadline: one of the 365 days of 2099,
// (i*7919) mod 365, so that deadlines do not follow ids and a bound on
// them selects a share of the widgets spread over the whole list
// (deadline_before=2099-03-31 about a quarter), as cmd/loadbench/wrk's
// prepare seeds them.
func widgetDeadline(i int) string {
	return time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i*7919%365).Format(time.DateOnly)
}

// createPostgresDB makes a fresh database on the server at base and returns
// its URL and a function that drops it.
func createPostgresDB(base string) (string, func(), error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "widgetapi_bench_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			fmt.Fprintln(os.Stderr, "drop database:", err)
		}
		admin.Close()
	}, nil
}
