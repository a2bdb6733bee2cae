// Package store holds every write flow of the service, written once above
// the storage engines, and names what an engine provides for them. A flow
// (create a widget, delete a user, …) begins a transaction on the engine,
// calls the statements of the engine's transaction-bound store (Tx) —
// lock or read the row, check the precondition, write, record the audit
// event — and commits. An engine (sqlite, postgres) holds those
// statements, its row scanning and locking, its hot read paths and its
// migrations, nothing else; New puts an engine and the flows together as
// the Store the binary and the tests use.
package store

import (
	"context"

	"github.com/pressly/goose/v3"

	"widgetapi"
	"widgetapi/internal/dbstats"
	"widgetapi/internal/sqlutil"
	"widgetapi/keys"
)

// Store is a storage engine with the flows: the domain stores, plus what
// operating it needs.
type Store interface {
	widgetapi.UserStore
	widgetapi.WidgetStore
	widgetapi.AuditStore
	keys.Store
	Outbox
	Operations
}

// Operations is what running an engine needs, beyond its data.
type Operations interface {
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

// Engine is what a storage engine provides: its reads (each one statement
// or one read transaction, tuned per engine), the statements that run
// outside a write transaction, the write transactions the flows run in,
// and its operations.
type Engine interface {
	Transactor
	Operations
	keys.Store
	WidgetReads
	UserReads
	AccountReads
	SessionStatements
	EventStatements
	MailStatements
	MFAReads
}

// Transactor begins write transactions.
type Transactor interface {
	// Begin starts a write transaction that holds what the engine needs
	// for its flows to read and then write without another writer in
	// between: SQLite's write lock from the start (BEGIN IMMEDIATE), or a
	// PostgreSQL transaction whose Lock statements take row locks. The
	// context it returns bounds the transaction and is the one its
	// statements are given.
	Begin(ctx context.Context) (context.Context, Tx, error)
}

// Tx is an engine's store bound to one write transaction: the statements
// of every flow. Its methods return the domain's errors (ECONFLICT for a
// unique key taken, EUNAVAILABLE for a database that did not answer).
type Tx interface {
	WidgetTx
	UserTx
	SessionTx
	EventTx
	MailTx
	AccountTx
	MFATx
	Commit() error
	Rollback() error
}

// inTx runs fn in a write transaction of e, committed when fn succeeds and
// rolled back otherwise.
func inTx(ctx context.Context, e Transactor, fn func(ctx context.Context, tx Tx) error) error {
	return sqlutil.InTx(ctx, e.Begin, fn)
}

// flows is a Store: the engine's reads and statements, and the write flows
// over its transactions.
type flows struct {
	engine
}

// engine names Engine as flows embeds it, since Engine is also one of its
// methods (the engine's name).
type engine = Engine

// New returns the Store of engine e.
func New(e Engine) Store { return flows{e} }
