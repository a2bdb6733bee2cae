// Package listmemo remembers pages of the widget list, each with the stamp
// of the widget set it was read at, so that a list request whose page was
// already read at the current stamp costs a read of the stamp, never a
// count of the matching widgets again. The stamp is read from the database
// on every request, so a write acknowledged by any process is seen by the
// next request: the memo only ever answers with what a fresh read would.
package listmemo

import (
	"context"
	"errors"
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
	// reads are the pages being read, by key and the stamp their readers
	// saw: requests that miss together wait for one read rather than each
	// counting the same matches at once.
	reads map[flight]*read
}

var errUnfinished = errors.New("listmemo: the shared read did not finish")

type flight struct {
	key   Key
	stamp widgetapi.WidgetStamp
}

// read is one page being read; done is closed when l and err are set.
type read struct {
	done chan struct{}
	l    widgetapi.WidgetList
	err  error
}

// New returns a memo of at most max pages (a page of 100 widgets is about
// 40 KB; of 10, 4 KB).
func New(max int) *Memo {
	return &Memo{max: max, m: make(map[Key]widgetapi.WidgetList), reads: make(map[flight]*read)}
}

// Page returns the page of k as of stamp, the stamp the caller has just
// read: the page kept at that stamp, else the one a concurrent caller with
// the same key and stamp is reading, else what load reads (and the memo
// keeps). A read shared that way started after the waiting caller's stamp
// was current, so it holds every write acknowledged before that caller's
// request. When the shared read fails (its own request may have been
// cancelled), each waiter reads for itself.
func (m *Memo) Page(ctx context.Context, k Key, stamp widgetapi.WidgetStamp, load func() (widgetapi.WidgetList, error)) (widgetapi.WidgetList, error) {
	if m == nil || stamp == "" {
		return load()
	}
	if l, ok := m.Get(k, stamp); ok {
		return l, nil
	}
	f := flight{k, stamp}
	m.mu.Lock()
	// A read may have finished between Get and this lock: it puts its page
	// before it leaves reads, so the page is looked for again here, or a
	// caller that just missed it would count the matches once more.
	if l, ok := m.m[k]; ok && l.Stamp == stamp {
		m.mu.Unlock()
		return l, nil
	}
	if r, ok := m.reads[f]; ok {
		m.mu.Unlock()
		select {
		case <-r.done:
			if r.err == nil {
				return r.l, nil
			}
			return load()
		case <-ctx.Done():
			return widgetapi.WidgetList{}, ctx.Err()
		}
	}
	// Until load returns, the read has failed: a load that panics leaves
	// its waiters to read for themselves.
	r := &read{done: make(chan struct{}), err: errUnfinished}
	m.reads[f] = r
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.reads, f)
		m.mu.Unlock()
		close(r.done)
	}()
	r.l, r.err = load()
	if r.err == nil {
		m.Put(k, r.l)
	}
	return r.l, r.err
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
