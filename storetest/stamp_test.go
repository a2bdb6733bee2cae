package storetest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testload"
)

// stampOf reads the widgets' stamp as a list request does, with reader's
// subject.
func stampOf(t *testing.T, st testdb.Store, reader *widgetapi.User) widgetapi.WidgetStamp {
	t.Helper()
	sub, stamp, err := st.WidgetStampForToken(t.Context(), reader.PublicID, uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	if sub.User == nil || sub.User.ID != reader.ID || stamp == "" {
		t.Fatalf("subject %+v, stamp %q", sub.User, stamp)
	}
	return stamp
}

// Every committed write of widgets, and only such a write, gives the set a
// stamp it never had; the stamp read with a page is the one read before it
// when nothing changed in between.
func TestWidgetStampChangesWithEveryWrite(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		admin := mustCreateUser(t, st, "admin@example.com", true)
		heir := mustCreateUser(t, st, "heir@example.com", true)
		leaving := mustCreateUser(t, st, "leaving@example.com", true)
		reader := mustCreateUser(t, st, "reader@example.com", false)
		seen := map[widgetapi.WidgetStamp]string{}
		last := stampOf(t, st, reader)
		seen[last] = "start"
		step := func(what string, changes bool, write func() error) {
			t.Helper()
			if err := write(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			now := stampOf(t, st, reader)
			switch {
			case changes && now == last:
				t.Fatalf("%s: stamp still %q", what, now)
			case changes && seen[now] != "":
				t.Fatalf("%s: stamp %q was already that of %s", what, now, seen[now])
			case !changes && now != last:
				t.Fatalf("%s changed nothing but the stamp went from %q to %q", what, last, now)
			}
			l, err := st.ListWidgets(ctx, widgetapi.WidgetQuery{Limit: 10, Filter: widgetapi.WidgetFilter{NamePrefix: "s"}})
			if err != nil {
				t.Fatal(err)
			}
			if l.Stamp != now {
				t.Fatalf("%s: the page was read at %q, the stamp before it is %q", what, l.Stamp, now)
			}
			seen[now], last = what, now
		}
		day := time.Date(2099, 6, 1, 23, 59, 59, 0, time.UTC)
		step("create", true, func() error { return st.CreateWidget(ctx, newWidget("s1", admin, 1), nil) })
		step("bulk create", true, func() error {
			_, err := st.CreateWidgets(ctx, []*widgetapi.Widget{newWidget("s2", leaving, 2), newWidget("s3", leaving, 3)})
			return err
		})
		step("bulk create of taken names", false, func() error {
			_, err := st.CreateWidgets(ctx, []*widgetapi.Widget{newWidget("s2", admin, 4)})
			return err
		})
		step("put that changes", true, func() error {
			w := newWidget("s1", admin, 1)
			w.Deadline = day
			_, err := st.PutWidget(ctx, w, widgetapi.Precondition{}, nil)
			return err
		})
		step("put that creates", true, func() error {
			_, err := st.PutWidget(ctx, newWidget("s4", admin, 5), widgetapi.Precondition{}, nil)
			return err
		})
		step("patch", true, func() error {
			d := day.AddDate(0, 1, 0)
			_, err := st.PatchWidget(ctx, "s4", widgetapi.WidgetPatch{Deadline: &d}, widgetapi.NewVersion(), t0, widgetapi.Precondition{}, nil)
			return err
		})
		step("reads", false, func() error {
			_, err := st.ListWidgets(ctx, widgetapi.WidgetQuery{Limit: 100})
			return err
		})
		step("an owner's deletion moving widgets", true, func() error {
			return st.DeleteUser(ctx, leaving.PublicID, heir.PublicID, nil)
		})
		step("delete", true, func() error { return st.DeleteWidget(ctx, "s3", widgetapi.Precondition{}, nil) })
		step("delete of a missing name", false, func() error {
			if err := st.DeleteWidget(ctx, "s3", widgetapi.Precondition{}, nil); widgetapi.ErrorCode(err) != widgetapi.ENOTFOUND {
				return fmt.Errorf("got %v, want not found", err)
			}
			return nil
		})
	})
}

// Readers that see one stamp see one set of widgets, however writers race:
// every read of a filtered page records its stamp and answer, and no stamp
// may come with two different answers.
func TestOneStampOneAnswerUnderConcurrentWrites(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		admin := mustCreateUser(t, st, "admin@example.com", true)
		seedWidgets(t, st, admin, "w", 300)
		cut := time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC).AddDate(0, 0, 2)
		q := widgetapi.WidgetQuery{Limit: 5, Sort: widgetapi.SortDeadline,
			Filter: widgetapi.WidgetFilter{NamePrefix: "w-001", DeadlineTo: cut}}
		rs := make([]*rand.Rand, 4)
		for g := range rs {
			rs[g] = rand.New(rand.NewPCG(uint64(g), 1))
		}
		stopWriters := testload.Repeat(len(rs), func(g, i int) bool {
			r := rs[g]
			name := fmt.Sprintf("w-%05d", 100+r.IntN(100))
			var err error
			switch i % 3 {
			case 0: // moves a widget across the deadline bound
				d := cut.AddDate(0, 0, r.IntN(5)-2)
				_, err = st.PatchWidget(ctx, name, widgetapi.WidgetPatch{Deadline: &d}, widgetapi.NewVersion(), t0, widgetapi.Precondition{}, nil)
			case 1:
				err = st.DeleteWidget(ctx, name, widgetapi.Precondition{}, nil)
			default:
				_, err = st.PutWidget(ctx, newWidget(name, admin, i), widgetapi.Precondition{}, nil)
			}
			if err != nil && widgetapi.ErrorCode(err) != widgetapi.ENOTFOUND {
				t.Error(err)
				return false
			}
			return true
		})
		type answer struct {
			total int
			names string
		}
		var mu sync.Mutex
		answers := map[widgetapi.WidgetStamp]answer{}
		var readers sync.WaitGroup
		for range 4 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for range 150 {
					l, err := st.ListWidgets(ctx, q)
					if err != nil {
						t.Error(err)
						return
					}
					a := answer{l.Total, fmt.Sprint(names(l.Items))}
					mu.Lock()
					if prev, ok := answers[l.Stamp]; ok && prev != a {
						t.Errorf("stamp %q: %v and %v", l.Stamp, prev, a)
					}
					answers[l.Stamp] = a
					mu.Unlock()
				}
			}()
		}
		readers.Wait()
		stopWriters()
		if len(answers) < 2 {
			t.Fatalf("only %d stamps seen: the writers did not race the readers", len(answers))
		}
		t.Logf("%d stamps seen", len(answers))
	})
}
