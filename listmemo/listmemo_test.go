package listmemo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"widgetapi"
)

func page(stamp string, total int) widgetapi.WidgetList {
	return widgetapi.WidgetList{Items: []*widgetapi.Widget{{Name: "w"}}, Total: total, Stamp: widgetapi.WidgetStamp(stamp)}
}

func TestAPageAnswersOnlyAtItsStamp(t *testing.T) {
	m := New(8)
	k := KeyOf(widgetapi.WidgetQuery{Filter: widgetapi.WidgetFilter{NamePrefix: "w0"}, Limit: 10})
	m.Put(k, page("7", 42))
	if l, ok := m.Get(k, "7"); !ok || l.Total != 42 {
		t.Fatalf("at its stamp: %v %v", l, ok)
	}
	if _, ok := m.Get(k, "8"); ok {
		t.Fatal("a page answered at another stamp")
	}
	if _, ok := m.Get(k, ""); ok {
		t.Fatal("a page answered without a stamp")
	}
	m.Put(k, widgetapi.WidgetList{Total: 1})
	if l, _ := m.Get(k, "7"); l.Total != 42 {
		t.Fatal("a page without a stamp replaced one")
	}
}

func TestKeysTellEveryPartOfTheQueryApart(t *testing.T) {
	day := time.Date(2099, 3, 31, 23, 59, 59, 0, time.UTC)
	base := widgetapi.WidgetQuery{Limit: 10}
	variants := []widgetapi.WidgetQuery{base}
	for _, change := range []func(*widgetapi.WidgetQuery){
		func(q *widgetapi.WidgetQuery) { q.Filter.NamePrefix = "w001" },
		func(q *widgetapi.WidgetQuery) { q.Filter.Owner = "0b5e8f1c-8d33-4a6e-9d0c-2f1b6e7a9c41" },
		func(q *widgetapi.WidgetQuery) { q.Filter.DeadlineFrom = day },
		func(q *widgetapi.WidgetQuery) { q.Filter.DeadlineTo = day },
		func(q *widgetapi.WidgetQuery) { q.Filter.Passed, q.Filter.PassedAt = widgetapi.PassedTrue, day },
		func(q *widgetapi.WidgetQuery) {
			q.Filter.Passed, q.Filter.PassedAt = widgetapi.PassedTrue, day.Add(time.Second)
		},
		func(q *widgetapi.WidgetQuery) { q.Filter.Passed, q.Filter.PassedAt = widgetapi.PassedFalse, day },
		func(q *widgetapi.WidgetQuery) { q.Sort = widgetapi.SortDeadlineDesc },
		func(q *widgetapi.WidgetQuery) { q.Limit = 11 },
		func(q *widgetapi.WidgetQuery) { q.Offset = 10 },
		func(q *widgetapi.WidgetQuery) { q.After = &widgetapi.WidgetKey{ID: 5} },
		func(q *widgetapi.WidgetQuery) { q.After = &widgetapi.WidgetKey{ID: 5, Name: "w5"} },
		func(q *widgetapi.WidgetQuery) { q.After = &widgetapi.WidgetKey{ID: 5, Deadline: day} },
	} {
		q := base
		change(&q)
		variants = append(variants, q)
	}
	seen := map[Key]int{}
	for i, q := range variants {
		k := KeyOf(q)
		if j, ok := seen[k]; ok {
			t.Errorf("queries %d and %d have one key", j, i)
		}
		seen[k] = i
	}
}

func TestTheMemoKeepsAtMostItsSize(t *testing.T) {
	m := New(16)
	for i := range 1000 {
		m.Put(KeyOf(widgetapi.WidgetQuery{Limit: 10, Offset: i}), page("1", i))
		if m.Len() > 16 {
			t.Fatalf("%d pages held, at most 16 allowed", m.Len())
		}
	}
	if l, ok := m.Get(KeyOf(widgetapi.WidgetQuery{Limit: 10, Offset: 999}), "1"); !ok || l.Total != 999 {
		t.Fatal("the page just kept is gone")
	}
}

// Requests that miss one page at one stamp together read it once.
func TestConcurrentMissesShareOneRead(t *testing.T) {
	m := New(8)
	k := KeyOf(widgetapi.WidgetQuery{Filter: widgetapi.WidgetFilter{NamePrefix: "w"}, Limit: 10})
	var loads atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	load := func() (widgetapi.WidgetList, error) {
		if loads.Add(1) == 1 {
			close(entered)
			<-release
		}
		return page("3", 10000), nil
	}
	var wg sync.WaitGroup
	results := make([]int, 20)
	wg.Add(1)
	go func() {
		defer wg.Done()
		l, _ := m.Page(context.Background(), k, "3", load)
		results[0] = l.Total
	}()
	<-entered
	for i := 1; i < len(results); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := m.Page(context.Background(), k, "3", load)
			if err != nil {
				t.Error(err)
			}
			results[i] = l.Total
		}()
	}
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d reads for one page at one stamp", n)
	}
	for i, total := range results {
		if total != 10000 {
			t.Fatalf("caller %d got total %d", i, total)
		}
	}
	// At another stamp the page is read again.
	if l, _ := m.Page(context.Background(), k, "4", func() (widgetapi.WidgetList, error) { return page("4", 9999), nil }); l.Total != 9999 {
		t.Fatalf("at a new stamp: total %d", l.Total)
	}
}

// A shared read that fails (its request cancelled, say) makes each waiter
// read for itself rather than inherit the failure.
func TestWaitersReadForThemselvesWhenTheSharedReadFails(t *testing.T) {
	m := New(8)
	k := KeyOf(widgetapi.WidgetQuery{Limit: 10})
	entered, release := make(chan struct{}), make(chan struct{})
	var leaderErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, leaderErr = m.Page(context.Background(), k, "1", func() (widgetapi.WidgetList, error) {
			close(entered)
			<-release
			return widgetapi.WidgetList{}, context.Canceled
		})
	}()
	<-entered
	got := make(chan widgetapi.WidgetList)
	go func() {
		l, err := m.Page(context.Background(), k, "1", func() (widgetapi.WidgetList, error) { return page("1", 5), nil })
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	close(release)
	if l := <-got; l.Total != 5 {
		t.Fatalf("waiter got total %d", l.Total)
	}
	<-done
	if !errors.Is(leaderErr, context.Canceled) {
		t.Fatalf("leader got %v", leaderErr)
	}
}

func TestANilMemoReadsEveryTime(t *testing.T) {
	var m *Memo
	var loads int
	for i := range 3 {
		l, err := m.Page(context.Background(), Key{}, "1", func() (widgetapi.WidgetList, error) {
			loads++
			return page(fmt.Sprint(i), i), nil
		})
		if err != nil || l.Total != i {
			t.Fatalf("read %d: %v %v", i, l, err)
		}
	}
	if loads != 3 {
		t.Fatalf("%d reads, want 3", loads)
	}
}
