// Package sqlutil holds the engine-agnostic helpers the storage engines
// share; each engine keeps its own SQL.
package sqlutil

import (
	"database/sql"
	"strings"

	"widgetapi"
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
