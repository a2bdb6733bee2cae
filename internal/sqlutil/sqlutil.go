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

// PageQuery says how to walk the primary key to one page: in Direction
// ("ASC" or "DESC"), skipping Offset keys and taking Limit.
type PageQuery struct {
	Direction     string
	Offset, Limit int
	// Empty marks a page past the end: nothing to walk, Total is the count.
	Empty bool
	Total int
	Err   error
}

// PlanPage walks pages in the second half of the table from its far end, so
// that no page skips more than half of the rows. count is asked for the
// total only when the page is not the first.
func PlanPage(page widgetapi.Page, count func() (int, error)) PageQuery {
	q := PageQuery{Direction: "ASC", Offset: page.Offset(), Limit: page.Size}
	if q.Offset == 0 {
		return q
	}
	total, err := count()
	if err != nil {
		return PageQuery{Err: err}
	}
	if q.Offset >= total {
		return PageQuery{Empty: true, Total: total}
	}
	if q.Offset <= total/2 {
		return q
	}
	// Rows from the end to skip: those after this page.
	rev := total - q.Offset - page.Size
	if rev < 0 {
		return PageQuery{Direction: "DESC", Offset: 0, Limit: page.Size + rev}
	}
	return PageQuery{Direction: "DESC", Offset: rev, Limit: page.Size}
}
