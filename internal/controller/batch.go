package controller

import "sync"

// SlowStartInitialBatch is the size of the first batch of SlowStart.
const SlowStartInitialBatch = 1

// SlowStart calls fn count times in batches of 1, 2, 4, ... concurrent
// calls, stopping after the first batch with a failure. It returns how many
// calls were made (count minus called were skipped) and the first error.
func SlowStart(count int, fn func() error) (called int, err error) {
	remaining := count
	for batch := min(remaining, SlowStartInitialBatch); batch > 0; batch = min(2*batch, remaining) {
		errs := make(chan error, batch)
		var wg sync.WaitGroup
		for range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		called += batch
		if len(errs) > 0 {
			return called, <-errs
		}
		remaining -= batch
	}
	return called, nil
}
