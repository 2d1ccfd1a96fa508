package pipeline

import (
	"context"
	"errors"

	"github.com/closesync/closesync/pkg/extract"
)

// fetchAhead runs the walk ext on its own goroutine and writes its batches
// with emit on this one, so that the walk fetches the next page while a
// batch is written. It is one page ahead at most: the walk hands a batch
// over only when the last one has been written (an unbuffered hand-over),
// so memory stays bounded by two pages (the one written, the one fetched)
// whatever the report's size; batches are written in the walk's order,
// which keeps each bookmark committed with its rows. An error from emit
// stops the walk and is what fetchAhead returns; else the walk's error.
func fetchAhead(ctx context.Context, ext ExtractFunc, req extract.Request, emit func(extract.Batch) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan extract.Batch)
	walked := make(chan error, 1)
	go func() {
		defer close(batches)
		walked <- ext(ctx, req, func(b extract.Batch) error {
			select {
			case batches <- b:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
	}()
	var werr error
	for b := range batches {
		if werr != nil {
			continue // the walk is stopping
		}
		if err := emit(b); err != nil {
			werr = err
			cancel(err)
		}
	}
	err := <-walked
	if werr != nil && !errors.Is(err, werr) {
		return werr
	}
	return err
}
