// Package storetest is the contract test suite that every storage engine
// passes: the same tests run on SQLite and, when available, PostgreSQL.
package storetest
