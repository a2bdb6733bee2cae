package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop the benchmark's database

	"widgetapi"
	"widgetapi/internal/store"
	"widgetapi/postgres"
	"widgetapi/sqlite"
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
	if err := seedWidgets(ctx, engine, db.url, n); err != nil {
		db.drop()
		return nil, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "%s: seeded %d widgets in %s\n", engine, n, time.Since(start).Round(time.Millisecond))
	return db, nil
}

// seedBatch is how many widgets one bulk create inserts.
const seedBatch = 10_000

// seedWidgets creates n widgets owned by the admin, named widgetName(1..n)
// in creation order, through the engine's CreateWidgets.
func seedWidgets(ctx context.Context, engine, dbURL string, n int) error {
	st, err := openEngine(ctx, engine, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	admin, err := st.FindUserByEmail(ctx, adminEmail)
	if err != nil {
		return err
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	deadline := time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)
	batch := make([]*widgetapi.Widget, 0, seedBatch)
	for i := 1; i <= n; i++ {
		batch = append(batch, &widgetapi.Widget{Name: widgetName(i), InfoURL: fmt.Sprintf("https://example.com/%d", i),
			CreatedAt: base.Add(time.Duration(i) * time.Second), Deadline: deadline, Owner: widgetapi.WidgetOwner{ID: admin.ID}})
		if len(batch) == seedBatch || i == n {
			if _, err := st.CreateWidgets(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return st.Analyze(ctx)
}

func openEngine(ctx context.Context, engine, dbURL string) (store.Store, error) {
	if engine == "sqlite" {
		return sqlite.Open(ctx, strings.TrimPrefix(dbURL, "sqlite:///"))
	}
	return postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 2, Timeout: time.Minute})
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
