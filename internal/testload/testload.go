// Package testload runs the concurrent load of tests that check what
// readers see while writers write: goroutines that repeat a step until the
// test stops them.
package testload

import "sync"

// Repeat runs step(g, i) in n goroutines, g numbering the goroutine and i
// counting its steps, each until step returns false or stop is called.
// stop ends them all and waits for them; calling it again does nothing.
func Repeat(n int, step func(g, i int) bool) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		Each(n, func(g int) {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if !step(g, i) {
					return
				}
			}
		})
	}()
	return sync.OnceFunc(func() { close(done); <-finished })
}

// Each runs fn(0), …, fn(n-1) in n goroutines released together, so that
// they race as closely as they can, and returns once all have returned.
func Each(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}
