package linkage

import (
	"context"

	"github.com/selondon/carematch/store"
)

// sampleBeside draws and compares the training sample on a handle of its
// own (store.DB.Side) while the night's own connection blocks and compares
// the candidate pairs: the sample needs only prep and det_links, and
// nothing before training reads it. A night DuckDB works on one thread
// (store.ThreadsFor) draws it so, its second core otherwise idle through
// blocking and comparing: u's random pairs were a sixth of a 5,000-record
// night (docs/BENCHMARKS.md, the twentieth session). Other nights draw it
// when training starts, on the night's handle as before.
type sampleBeside struct {
	done   chan struct{}
	cancel context.CancelFunc
	s      *trainingSample
	err    error
}

// startSample starts drawing the training sample beside the caller's work.
func startSample(ctx context.Context, db *store.DB, comps []Comparison, randomPairs int) *sampleBeside {
	ctx, cancel := context.WithCancel(ctx)
	b := &sampleBeside{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(b.done)
		side := db.Side()
		b.s, b.err = drawSample(ctx, side, comps, randomPairs)
		if err := side.Close(); b.err == nil {
			b.err = err
		}
	}()
	return b
}

// wait returns the sample once it is drawn.
func (b *sampleBeside) wait() (*trainingSample, error) {
	<-b.done
	b.cancel()
	return b.s, b.err
}

// stop abandons the sample (the night failed before training) and waits
// for its statements to end, so none outlives the night's connection.
func (b *sampleBeside) stop() {
	b.cancel()
	<-b.done
}
