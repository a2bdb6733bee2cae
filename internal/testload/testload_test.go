package testload

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestRepeat(t *testing.T) {
	var steps [3]atomic.Int64
	var ended atomic.Int64
	stop := Repeat(3, func(g, i int) bool {
		if int64(i) != steps[g].Load() {
			t.Errorf("goroutine %d: step %d after %d steps", g, i, steps[g].Load())
		}
		steps[g].Add(1)
		if g == 2 && i == 4 {
			ended.Add(1)
			return false // this goroutine ends on its own
		}
		return true
	})
	// Goroutine 2 may not have begun when the others are far along; the
	// scheduler owes it nothing, so wait for its end as well.
	for steps[0].Load() < 10 || steps[1].Load() < 10 || ended.Load() == 0 {
		runtime.Gosched()
	}
	// stop returns once every goroutine has returned; a second call too.
	stop()
	stop()
	if steps[2].Load() != 5 || ended.Load() != 1 {
		t.Fatalf("the goroutine that returned false took %d steps", steps[2].Load())
	}
}
