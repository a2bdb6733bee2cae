// Package store names what the binary and the tests need of a storage
// engine, so that sqlite and postgres are used through one interface.
package store

import (
	"context"

	"github.com/pressly/goose/v3"

	"widgetapi"
	"widgetapi/internal/dbstats"
	"widgetapi/keys"
)

// Store is a storage engine: the domain stores, plus what operating it needs.
type Store interface {
	widgetapi.UserStore
	widgetapi.WidgetStore
	widgetapi.AuditStore
	keys.Store
	Ping(ctx context.Context) error
	// Analyze refreshes the query planner's statistics, after a bulk load.
	Analyze(ctx context.Context) error
	Close() error
	// Migrations returns the engine's embedded migrations.
	Migrations() (*goose.Provider, error)
	// Throttle is the engine's throttling policy of limits: shared by every
	// process where the engine is shared, else in this process's memory.
	Throttle(limits widgetapi.Limits) widgetapi.Throttle
	// PoolStats describes every pool of connections the engine holds.
	PoolStats() []dbstats.Pool
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
}
