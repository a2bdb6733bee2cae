// Package dbstats describes the connection pools of a storage engine, for
// metrics, without tying the engines to a metrics library.
package dbstats

import "time"

// Pool is a snapshot of one pool of database connections.
type Pool struct {
	Name    string // e.g. "sqlite_write", "postgres"
	MaxOpen int    // the most it may hold
	Open    int
	InUse   int
	Idle    int
	// Waits counts acquisitions that found no free connection, and
	// WaitTime is the time they spent waiting, since the pool opened.
	Waits    int64
	WaitTime time.Duration
}
