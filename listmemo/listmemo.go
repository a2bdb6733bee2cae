// Package listmemo remembers pages of the widget list, each with the stamp
// of the widget set it was read at, so that a list request whose page was
// already read at the current stamp costs a read of the stamp, never a
// count of the matching widgets again. The stamp is read from the database
// on every request, so a write acknowledged by any process is seen by the
// next request: the memo only ever answers with what a fresh read would.
package listmemo

import (
	"sync"

	"widgetapi"
)

// Key is what decides a page besides the widgets: the filter (its instants
// in Unix seconds), the sort, the page size and either an offset or the
// key of the cursor continued from.
type Key struct {
	namePrefix, owner        string
	deadlineFrom, deadlineTo int64
	hasFrom, hasTo           bool
	passed                   widgetapi.Passed
	passedAt                 int64
	sort                     widgetapi.WidgetSort
	limit, offset            int
	after                    bool
	afterID, afterDeadline   int64
	afterName                string
}

// KeyOf is the key of q.
func KeyOf(q widgetapi.WidgetQuery) Key {
	f := q.Filter
	k := Key{namePrefix: f.NamePrefix, owner: f.Owner, passed: f.Passed,
		sort: q.Sort, limit: q.Limit, offset: q.Offset}
	if k.hasFrom = !f.DeadlineFrom.IsZero(); k.hasFrom {
		k.deadlineFrom = f.DeadlineFrom.Unix()
	}
	if k.hasTo = !f.DeadlineTo.IsZero(); k.hasTo {
		k.deadlineTo = f.DeadlineTo.Unix()
	}
	if f.Passed != widgetapi.PassedAny {
		k.passedAt = f.PassedAt.Unix()
	}
	if a := q.After; a != nil {
		k.after, k.afterID, k.afterName, k.afterDeadline = true, a.ID, a.Name, a.Deadline.Unix()
	}
	return k
}

// Memo holds at most max pages. It is safe for concurrent use; the pages
// it returns are shared and must not be changed.
type Memo struct {
	max int

	mu sync.RWMutex
	m  map[Key]widgetapi.WidgetList
}

// New returns a memo of at most max pages (a page of 100 widgets is about
// 40 KB; of 10, 4 KB).
func New(max int) *Memo {
	return &Memo{max: max, m: make(map[Key]widgetapi.WidgetList)}
}

// Get returns the page of k read at stamp, if the memo holds it.
func (m *Memo) Get(k Key, stamp widgetapi.WidgetStamp) (widgetapi.WidgetList, bool) {
	if m == nil || stamp == "" {
		return widgetapi.WidgetList{}, false
	}
	m.mu.RLock()
	l, ok := m.m[k]
	m.mu.RUnlock()
	if !ok || l.Stamp != stamp {
		return widgetapi.WidgetList{}, false
	}
	return l, true
}

// Put remembers l as the page of k, replacing the page of an older stamp.
// A page without a stamp is not kept.
func (m *Memo) Put(k Key, l widgetapi.WidgetList) {
	if m == nil || l.Stamp == "" || m.max <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[k]; !ok && len(m.m) >= m.max {
		// Drop about half, at random (map order): cheap, and a page
		// dropped by mistake only costs one more read of it.
		n := 0
		for old := range m.m {
			delete(m.m, old)
			if n++; n >= m.max/2 {
				break
			}
		}
	}
	m.m[k] = l
}

// Len is how many pages the memo holds.
func (m *Memo) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.m)
}
