// Package sqlutil holds the engine-agnostic helpers the storage engines
// share; each engine keeps its own SQL.
package sqlutil

import (
	"database/sql"

	"widgetapi"
)

// ExpectOne turns the result of an UPDATE or DELETE by name into ENOTFOUND
// when it touched no row. mapError maps the engine's errors.
func ExpectOne(op, name string, res sql.Result, err error, mapError func(string, error) error) error {
	if err != nil {
		return mapError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapError(op, err)
	}
	if n == 0 {
		return widgetapi.WidgetNotFound(name)
	}
	return nil
}
