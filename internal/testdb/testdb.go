// Package testdb gives tests a fresh, migrated database on every storage
// engine that the machine has: SQLite always, PostgreSQL when
// WIDGETAPI_TEST_POSTGRES_URL is set (and always under CI=true).
package testdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"widgetapi/internal/store"
	"widgetapi/sqlite"
)

// Store is what every engine provides.
type Store = store.Store

// Engine opens fresh databases of one storage engine.
type Engine struct {
	Name string
	// Open returns a fresh, migrated store, closed when the test ends.
	Open func(t testing.TB) Store
}

// Engines returns every engine available to this test run.
func Engines(t testing.TB) []Engine {
	engines := []Engine{{Name: "sqlite", Open: OpenSQLite}}
	if pg, ok := postgresEngine(t); ok {
		engines = append(engines, pg)
	}
	return engines
}

// Each runs fn as a subtest, named for the engine, on every engine
// available to this test run.
func Each(t *testing.T, fn func(t *testing.T, e Engine)) {
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, e) })
	}
}

// EachStore runs fn as a subtest with a fresh, migrated store of every
// engine available to this test run.
func EachStore(t *testing.T, fn func(t *testing.T, st Store)) {
	Each(t, func(t *testing.T, e Engine) { fn(t, e.Open(t)) })
}

// OpenSQLite returns a fresh, migrated SQLite store in a temporary directory.
func OpenSQLite(t testing.TB) Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(context.Background(), path)
	st := opened(t, db, err)
	remember(st, "sqlite3", "file:"+path+"?_pragma=busy_timeout(5000)")
	return st
}

// opened is the store of an engine just opened, closed when the test ends
// and migrated.
func opened(t testing.TB, e store.Engine, err error) Store {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	st := store.New(e)
	Migrate(t, st)
	return st
}

// Migrator is a store or an engine: what has migrations.
type Migrator interface {
	Migrations() (*goose.Provider, error)
}

// Migrate applies every migration to st.
func Migrate(t testing.TB, st Migrator) {
	t.Helper()
	p, err := st.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
}
