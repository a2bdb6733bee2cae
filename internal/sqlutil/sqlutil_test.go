package sqlutil

import (
	"slices"
	"testing"

	"widgetapi"
)

// TestPlanPageSelectsTheSameRows checks, against a plain forward slice, that
// every plan picks exactly the rows of the page.
func TestPlanPageSelectsTheSameRows(t *testing.T) {
	for _, total := range []int{0, 1, 7, 10, 11, 100, 101} {
		ids := make([]int, total)
		for i := range ids {
			ids[i] = i + 1
		}
		for _, size := range []int{5, 10} {
			for number := 1; number <= total/size+3; number++ {
				page := widgetapi.Page{Number: number, Size: size}
				q := PlanPage(page, func() (int, error) { return total, nil })
				if q.Empty {
					if page.Offset() < total || q.Total != total {
						t.Fatalf("total %d, page %d/%d: planned empty (%+v)", total, number, size, q)
					}
					continue
				}
				var got []int
				walk := slices.Clone(ids)
				if q.Direction == "DESC" {
					slices.Reverse(walk)
				}
				for i := q.Offset; i < q.Offset+q.Limit && i < len(walk); i++ {
					got = append(got, walk[i])
				}
				slices.Sort(got)
				var want []int
				for i := page.Offset(); i < page.Offset()+size && i < total; i++ {
					want = append(want, ids[i])
				}
				if !slices.Equal(got, want) {
					t.Fatalf("total %d, page %d/%d: plan %+v gives %v, want %v", total, number, size, q, got, want)
				}
				if q.Offset > total/2+size {
					t.Fatalf("total %d, page %d/%d: plan skips %d rows", total, number, size, q.Offset)
				}
			}
		}
	}
}
