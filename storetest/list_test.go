package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testload"
)

// seedWidgets creates n widgets named prefix-00000.. in creation order,
// in bulk, with deadlines over a few days so that deadline orders have ties.
func seedWidgets(t *testing.T, st testdb.Store, owner *widgetapi.User, prefix string, n int) []*widgetapi.Widget {
	t.Helper()
	var all []*widgetapi.Widget
	for start := 0; start < n; start += 2000 {
		var batch []*widgetapi.Widget
		for i := start; i < min(n, start+2000); i++ {
			w := newWidget(fmt.Sprintf("%s-%05d", prefix, i), owner, i)
			w.Deadline = w.Deadline.AddDate(0, 0, i%5)
			batch = append(batch, w)
		}
		if _, err := st.CreateWidgets(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		all = append(all, batch...)
	}
	return all
}

func names(ws []*widgetapi.Widget) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Name
	}
	return out
}

// Page numbers in creation order, either way, walk the per-bucket counts:
// every page must be exactly the slice of the list at its offset, across
// bucket boundaries and with buckets thinned or emptied by deletes.
func TestPageNumbersMatchTheListAtEveryOffset(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		all := seedWidgets(t, st, owner, "w", 13000)
		// Thin the list: every third widget, and the whole second bucket.
		var kept []*widgetapi.Widget
		for i, w := range all {
			if i%3 == 1 || w.ID>>12 == all[0].ID>>12+1 {
				must(t, st.DeleteWidget(ctx, w.Name, widgetapi.Precondition{}, nil))
				continue
			}
			kept = append(kept, w)
		}
		reversed := slices.Clone(kept)
		slices.Reverse(reversed)
		offsets := []int{0, 1, 9, 10, 1364, 1365, 2000, 2729, 2730, 4095, 4096, 5000, len(kept) - 11, len(kept) - 10, len(kept) - 1, len(kept), len(kept) + 50}
		for _, sort := range []widgetapi.WidgetSort{widgetapi.SortCreated, widgetapi.SortCreatedDesc} {
			want := kept
			if sort == widgetapi.SortCreatedDesc {
				want = reversed
			}
			for _, off := range offsets {
				l, err := st.ListWidgets(ctx, widgetapi.WidgetQuery{Sort: sort, Limit: 10, Offset: off})
				if err != nil {
					t.Fatal(err)
				}
				exp := want[min(off, len(want)):min(off+10, len(want))]
				if got := names(l.Items); !slices.Equal(got, names(exp)) || l.Total != len(kept) || l.More != (off+10 < len(want)) {
					t.Fatalf("%s offset %d: %v (total %d, more %v), want %v (total %d)", sort, off, got, l.Total, l.More, names(exp), len(kept))
				}
			}
		}
	})
}

// A walk by keyset while others create and delete widgets sees every
// widget that existed for the whole walk exactly once, and never one
// twice, in every order.
func TestKeysetWalkUnderConcurrentCreatesAndDeletes(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		for s := widgetapi.SortCreated; s.Valid(); s++ {
			t.Run(s.String(), func(t *testing.T) {
				initial := seedWidgets(t, st, owner, "seed"+s.String(), 1000)
				before, err := st.ListWidgets(ctx, widgetapi.WidgetQuery{Limit: 1 << 20})
				if err != nil {
					t.Fatal(err)
				}
				// Writers delete a random third of what exists and create
				// new widgets, while the walker walks.
				var deleted sync.Map
				var created atomic.Int64
				victims := rand.Perm(len(initial))[:len(initial)/3]
				var next atomic.Int64
				halt := testload.Repeat(4, func(g, _ int) bool {
					if g%2 == 0 {
						v := next.Add(1) - 1
						if int(v) >= len(victims) {
							time.Sleep(time.Millisecond)
							return true
						}
						time.Sleep(200 * time.Microsecond)
						w := initial[victims[v]]
						if _, done := deleted.LoadOrStore(w.Name, true); !done {
							if err := st.DeleteWidget(ctx, w.Name, widgetapi.Precondition{}, nil); err != nil {
								t.Error(err)
								return false
							}
						}
						return true
					}
					n := created.Add(1)
					if n > 400 {
						created.Add(-1)
						time.Sleep(time.Millisecond)
						return true
					}
					time.Sleep(100 * time.Microsecond)
					w := newWidget(fmt.Sprintf("new-%s-%d", s, n), owner, int(n))
					w.Deadline = w.Deadline.AddDate(0, 0, int(n%5))
					if err := st.CreateWidget(ctx, w, nil); err != nil {
						t.Error(err)
						return false
					}
					return true
				})
				defer halt()
				seen := map[string]int{}
				q := widgetapi.WidgetQuery{Sort: s, Limit: 7}
				for {
					l, err := st.ListWidgets(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, w := range l.Items {
						seen[w.Name]++
					}
					if !l.More {
						break
					}
					k := widgetapi.KeyOf(l.Items[len(l.Items)-1])
					q.After = &k
					time.Sleep(time.Millisecond) // let the writers interleave
				}
				halt()
				for name, n := range seen {
					if n != 1 {
						t.Fatalf("%s seen %d times", name, n)
					}
				}
				missed, deletes := 0, 0
				for _, w := range before.Items {
					if _, gone := deleted.Load(w.Name); gone {
						deletes++
						continue
					}
					if seen[w.Name] != 1 {
						missed++
					}
				}
				if missed > 0 || deletes == 0 || created.Load() == 0 {
					t.Fatalf("missed %d widgets that existed throughout; %d deleted and %d created during the walk", missed, deletes, created.Load())
				}
				t.Logf("%d seen, %d deleted and %d created during the walk", len(seen), deletes, created.Load())
			})
		}
	})
}

// An add-only workload never changes an earlier page: the page at 80 % of
// the list, read again and again while widgets are added, is always the
// same widgets, and its total never below what it shows.
func TestEarlierPagesHoldStillUnderAdds(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		all := seedWidgets(t, st, owner, "w", 5000)
		const size = 10
		off := len(all) * 8 / 10
		want := names(all[off : off+size])
		var added atomic.Int64
		halt := testload.Repeat(3, func(g, i int) bool {
			var batch []*widgetapi.Widget
			for j := range 1 + i%20 {
				batch = append(batch, newWidget(fmt.Sprintf("add-%d-%d-%d", g, i, j), owner, i))
			}
			if _, err := st.CreateWidgets(ctx, batch); err != nil {
				t.Error(err)
				return false
			}
			added.Add(int64(len(batch)))
			return true
		})
		defer halt()
		deadline := time.Now().Add(2 * time.Second)
		reads := 0
		for time.Now().Before(deadline) {
			l, err := st.ListWidgets(ctx, widgetapi.WidgetQuery{Limit: size, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(l.Items); !slices.Equal(got, want) || l.Total < off+size || !l.More {
				t.Fatalf("read %d: page at %d is %v (total %d), want %v", reads, off, got, l.Total, want)
			}
			// The last page of that snapshot ends at its total.
			last := widgetapi.Page{Number: (l.Total + size - 1) / size, Size: size}
			ll, err := st.ListWidgets(ctx, widgetapi.WidgetQuery{Limit: size, Offset: last.Offset()})
			if err != nil {
				t.Fatal(err)
			}
			if len(ll.Items) == 0 || ll.Total < l.Total {
				t.Fatalf("read %d: last page of total %d is empty (total now %d)", reads, l.Total, ll.Total)
			}
			reads++
		}
		halt()
		if added.Load() == 0 || reads < 10 {
			t.Fatalf("%d reads while %d widgets were added", reads, added.Load())
		}
		t.Logf("%d reads while %d widgets were added", reads, added.Load())
	})
}

// Creates and deletes from many goroutines at once keep the total and
// every bucket exact: the total equals the widgets listed, and every page
// by number is the list's slice.
func TestCountsExactUnderConcurrentCreatesAndDeletes(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		seedWidgets(t, st, owner, "w", 5000)
		testload.Each(8, func(g int) {
			for i := range 60 {
				name := fmt.Sprintf("c-%d-%d", g, i)
				if err := st.CreateWidget(ctx, newWidget(name, owner, i), nil); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if err := st.DeleteWidget(ctx, name, widgetapi.Precondition{}, nil); err != nil {
						t.Error(err)
						return
					}
				}
				victim := fmt.Sprintf("w-%05d", g*600+i)
				if err := st.DeleteWidget(ctx, victim, widgetapi.Precondition{}, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
		all, err := st.ListWidgets(ctx, widgetapi.WidgetQuery{Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if want := 5000 + 8*30 - 8*60; all.Total != want || len(all.Items) != want {
			t.Fatalf("total %d, %d listed; want %d", all.Total, len(all.Items), want)
		}
		for off := 0; off < all.Total; off += 97 {
			l, err := st.ListWidgets(ctx, widgetapi.WidgetQuery{Limit: 10, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names(l.Items), names(all.Items[off:min(off+10, len(all.Items))])) {
				t.Fatalf("page at %d: %v", off, names(l.Items))
			}
		}
	})
}
