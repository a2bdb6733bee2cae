// Package sqlutil holds the engine-agnostic helpers the storage engines
// share; each engine keeps its own SQL.
package sqlutil

import (
	"database/sql"
	"strings"
)

// Affected returns the rows a statement changed, or its error.
func Affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// EscapeLike escapes s for a LIKE pattern whose ESCAPE character is '\\',
// so that a filter's % and _ match themselves.
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
