package main

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"

	"widgetapi/internal/config"
	"widgetapi/internal/store"
	"widgetapi/postgres"
	"widgetapi/sqlite"
)

// openStore opens the database that DATABASE_URL names.
func openStore(ctx context.Context, c config.Config) (store.Store, error) {
	engine, path, err := config.ParseDatabaseURL(c.DatabaseURL)
	if err != nil {
		return nil, err
	}
	var e store.Engine
	switch engine {
	case "sqlite":
		e, err = sqlite.Open(ctx, path)
	case "postgres":
		e, err = postgres.Open(ctx, c.DatabaseURL, postgres.Options{MaxConns: c.DBMaxConns, Timeout: c.DBTimeout})
	default:
		return nil, fmt.Errorf("DATABASE_URL: unknown engine %q", engine)
	}
	if err != nil {
		return nil, err
	}
	return store.New(e), nil
}

// openConfigured reads the configuration from getenv and opens the store
// it names, as every command that needs the database does.
func openConfigured(ctx context.Context, getenv func(string) string) (config.Config, store.Store, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return cfg, nil, err
	}
	st, err := openStore(ctx, cfg)
	return cfg, st, err
}

// migrateUp applies every pending migration.
func migrateUp(ctx context.Context, st store.Store) ([]*goose.MigrationResult, error) {
	p, err := st.Migrations()
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("apply migrations: %w", err)
	}
	return res, nil
}
