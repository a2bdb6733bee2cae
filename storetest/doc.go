// Package storetest is the contract test suite that every storage engine
// passes: the same tests run on SQLite and, when available, PostgreSQL.
// The widget list is checked whole, through the API as serve wires it,
// against a brute-force oracle (list_oracle_test.go): its answer is what
// the engines' list queries are for.
package storetest
