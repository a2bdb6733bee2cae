package widgetapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"time"
)

// WidgetSort is an order of the widget list.
type WidgetSort uint8

// The orders of the widget list. Creation order is id order; equal
// deadlines come in creation order in both directions.
const (
	SortCreated WidgetSort = iota
	SortCreatedDesc
	SortName
	SortNameDesc
	SortDeadline
	SortDeadlineDesc
	numSorts
)

var sortNames = [numSorts]string{"created_at", "-created_at", "name", "-name", "deadline", "-deadline"}

// String is the sort as the query parameter names it.
func (s WidgetSort) String() string {
	if s < numSorts {
		return sortNames[s]
	}
	return fmt.Sprintf("WidgetSort(%d)", uint8(s))
}

// Valid reports whether s is one of the orders.
func (s WidgetSort) Valid() bool { return s < numSorts }

// Desc reports whether s runs from the largest key down.
func (s WidgetSort) Desc() bool {
	return s == SortCreatedDesc || s == SortNameDesc || s == SortDeadlineDesc
}

// Date is a calendar date, as deadline_after and deadline_before give it.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether d is no date at all.
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as 2006-01-02.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Passed is the passed filter: any widget, only those whose deadline has
// passed, or only those whose deadline has not.
type Passed uint8

// The values of the passed filter.
const (
	PassedAny Passed = iota
	PassedTrue
	PassedFalse
)

// WidgetListParams are the filters and sort of a list request, as the
// client gave them (normalized); the links of a list repeat them.
type WidgetListParams struct {
	Sort WidgetSort
	// NamePrefix is lower-cased like names; "" is no filter.
	NamePrefix string
	// Owner is an owner's public_id, lower-cased; "" is no filter.
	Owner string
	// DeadlineAfter and DeadlineBefore are inclusive days in the server's
	// zone; zero is no bound.
	DeadlineAfter, DeadlineBefore Date
	Passed                        Passed
}

// Filtered reports whether p selects fewer than every widget.
func (p WidgetListParams) Filtered() bool {
	return p.NamePrefix != "" || p.Owner != "" || !p.DeadlineAfter.IsZero() || !p.DeadlineBefore.IsZero() || p.Passed != PassedAny
}

// Query appends p to a query string as parameters, in a fixed order, each
// only when set; the default sort is left out, so that a list without
// parameters keeps the links of the original API.
func (p WidgetListParams) Query(b *strings.Builder) {
	add := func(k, v string) {
		b.WriteByte('&')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	if p.NamePrefix != "" {
		add("name_prefix", p.NamePrefix)
	}
	if p.Owner != "" {
		add("owner", p.Owner)
	}
	if !p.DeadlineAfter.IsZero() {
		add("deadline_after", p.DeadlineAfter.String())
	}
	if !p.DeadlineBefore.IsZero() {
		add("deadline_before", p.DeadlineBefore.String())
	}
	switch p.Passed {
	case PassedTrue:
		add("passed", "true")
	case PassedFalse:
		add("passed", "false")
	}
	if p.Sort != SortCreated {
		add("sort", p.Sort.String())
	}
}

// Filter resolves p's filters to instants: the deadline days in loc, and
// passed as of now.
func (p WidgetListParams) Filter(now time.Time, loc *time.Location) WidgetFilter {
	if loc == nil {
		loc = time.UTC
	}
	f := WidgetFilter{NamePrefix: p.NamePrefix, Owner: p.Owner, Passed: p.Passed}
	// A day's deadlines are the instants from its start to its end in loc,
	// whatever loc's clock does around its midnights.
	if d := p.DeadlineAfter; !d.IsZero() {
		f.DeadlineFrom = startOfDay(d.Year, d.Month, d.Day, loc).UTC()
	}
	if d := p.DeadlineBefore; !d.IsZero() {
		f.DeadlineTo = endOfDay(d.Year, d.Month, d.Day, loc).UTC()
	}
	if p.Passed != PassedAny {
		f.PassedAt = now.UTC().Truncate(time.Second)
	}
	return f
}

// WidgetFilter selects widgets; its zero value selects every one.
type WidgetFilter struct {
	// NamePrefix selects names that start with it (names are lower-case).
	NamePrefix string
	// Owner selects the widgets of the user with this public_id.
	Owner string
	// DeadlineFrom and DeadlineTo, when not zero, select deadlines in
	// [DeadlineFrom, DeadlineTo].
	DeadlineFrom, DeadlineTo time.Time
	// Passed selects deadlines at or before PassedAt (PassedTrue), or
	// after it (PassedFalse): a deadline has passed once no time remains.
	Passed   Passed
	PassedAt time.Time
}

// Filtered reports whether f selects fewer than every widget.
func (f WidgetFilter) Filtered() bool {
	return f.NamePrefix != "" || f.Owner != "" || !f.DeadlineFrom.IsZero() || !f.DeadlineTo.IsZero() || f.Passed != PassedAny
}

// NamePrefixEnd is the smallest string above every name that starts with
// prefix, for a range scan: prefix with its last byte incremented. Valid
// names and prefixes are ASCII [a-z0-9_-], so the increment never carries.
func NamePrefixEnd(prefix string) string {
	if prefix == "" {
		return ""
	}
	b := []byte(prefix)
	b[len(b)-1]++
	return string(b)
}

// WidgetKey is a widget's position in every order: its id (creation
// order), name and deadline. A cursor carries the key of the last widget
// it returned.
type WidgetKey struct {
	ID       int64
	Name     string
	Deadline time.Time
}

// KeyOf is w's position.
func KeyOf(w *Widget) WidgetKey { return WidgetKey{ID: w.ID, Name: w.Name, Deadline: w.Deadline} }

// WidgetQuery asks for one page of a filtered, sorted list: Limit widgets
// after skipping Offset, or, with After, the Limit widgets that follow
// After's position in Sort (keyset pagination: no skipping, and a widget
// created or deleted meanwhile shifts nothing).
type WidgetQuery struct {
	Filter WidgetFilter
	Sort   WidgetSort
	Limit  int
	Offset int
	After  *WidgetKey
}

// WidgetList is one page of a list: its items, whether more follow them,
// how many widgets the filter selects in all, and the stamp of the widget
// set they were read at, all read from one snapshot of the database.
type WidgetList struct {
	Items []*Widget
	More  bool
	Total int
	Stamp WidgetStamp
}

// WidgetStamp identifies a state of the set of widgets: every committed
// create, change or delete of widgets, by any process, gives the set a
// stamp it never had, and two reads that see the same stamp see the same
// widgets. A page read at a stamp is therefore the answer of every later
// request that reads that stamp. Owners' emails and public ids never
// change, so the widgets alone decide a page.
type WidgetStamp string

// WidgetLister reads filtered, sorted pages of widgets.
type WidgetLister interface {
	// ListWidgets returns the page q asks for, read from one snapshot,
	// with the stamp of that snapshot.
	ListWidgets(ctx context.Context, q WidgetQuery) (WidgetList, error)
	// WidgetStampForToken reads what UserStore.FindTokenSubject does and
	// the current stamp of the widgets, in one statement: what a list
	// request reads before it knows whether the page it asks for is one
	// already read at that stamp.
	WidgetStampForToken(ctx context.Context, publicID, jti string) (TokenSubject, WidgetStamp, error)
}

// Messages of the list parameters.
const (
	msgSort       = "sort must be one of created_at, -created_at, name, -name, deadline, -deadline"
	msgNamePrefix = "name_prefix must contain only letters, numbers, '-' and '_' (at most 100 characters), e.g. name_prefix=my-"
	msgOwner      = "owner must be a user's public_id, a UUID such as 0b5e8f1c-8d33-4a6e-9d0c-2f1b6e7a9c41"
	msgPassed     = "passed must be true or false"
)

// ParseWidgetList reads the page and list parameters of GET /widgets from
// get ("" means absent), naming every parameter that is out of range. The
// deadline days take any deadline format, without the "today or later"
// rule of a widget's own deadline.
func ParseWidgetList(get func(name string) string) (Page, WidgetListParams, error) {
	problems := map[string]string{}
	page, err := ParsePage(get("page"), get("per_page"))
	var pe *Error
	if errors.As(err, &pe) {
		maps.Copy(problems, pe.Fields)
	}
	var p WidgetListParams
	if s := get("sort"); s != "" {
		p.Sort = numSorts
		for i, name := range sortNames {
			if s == name {
				p.Sort = WidgetSort(i)
			}
		}
		if p.Sort == numSorts {
			problems["sort"] = msgSort
		}
	}
	if s := get("name_prefix"); s != "" {
		p.NamePrefix = NormalizeWidgetName(s)
		if p.NamePrefix == "" || ValidateWidgetName(p.NamePrefix) != "" {
			problems["name_prefix"] = msgNamePrefix
		}
	}
	if s := get("owner"); s != "" {
		if p.Owner = strings.ToLower(s); !IsPublicID(p.Owner) {
			problems["owner"] = msgOwner
		}
	}
	for _, b := range []struct {
		name string
		day  *Date
	}{{"deadline_after", &p.DeadlineAfter}, {"deadline_before", &p.DeadlineBefore}} {
		s := get(b.name)
		if s == "" {
			continue
		}
		d, why := ParseDay(s)
		if why != "" {
			problems[b.name] = strings.Replace(why, "deadline", b.name, 1)
			continue
		}
		*b.day = d
	}
	switch get("passed") {
	case "":
	case "true":
		p.Passed = PassedTrue
	case "false":
		p.Passed = PassedFalse
	default:
		problems["passed"] = msgPassed
	}
	if err := Invalid(problems); err != nil {
		return Page{}, WidgetListParams{}, err
	}
	return page, p, nil
}

// ParseDay reads a date in any deadline format, with the deadline's range
// of years but without its "today or later" rule; the message, for a
// field named deadline, says why it is not one.
func ParseDay(s string) (Date, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, msgMissing
	}
	y, m, d, ok := parseDeadlineDate(s)
	if !ok {
		return Date{}, fmt.Sprintf("'%s' is not a recognized date; use e.g. %s", Echo(s), deadlineFormats)
	}
	day := Date{y, m, d}
	if got := day.String(); y < minDeadlineYear || got > maxDeadlineDate {
		return Date{}, fmt.Sprintf("deadline must be a date from 1000-01-01 to %s; got %s", maxDeadlineDate, got)
	}
	return day, ""
}
