package linkage

import (
	"context"

	"github.com/selondon/carematch/store"
)

// sampleBeside draws and compares the training sample on a handle of its
// own (store.DB.RunBeside) while the night's own connection blocks and
// compares the candidate pairs: the sample needs only prep and det_links,
// and nothing before training reads it. A night DuckDB works on one thread
// (store.ThreadsFor) draws it so, its second core otherwise idle through
// blocking and comparing: u's random pairs were a sixth of a 5,000-record
// night (docs/BENCHMARKS.md, the twentieth session). Other nights draw it
// when training starts, on the night's handle as before.
type sampleBeside struct {
	run *store.Beside
	s   *trainingSample // set before run ends
}

// startSample starts drawing the training sample beside the caller's work.
func startSample(ctx context.Context, db *store.DB, comps []Comparison, randomPairs int) *sampleBeside {
	b := &sampleBeside{}
	b.run = db.RunBeside(ctx, func(ctx context.Context, side *store.DB) (err error) {
		b.s, err = drawSample(ctx, side, comps, randomPairs)
		return err
	})
	return b
}

// wait returns the sample once it is drawn.
func (b *sampleBeside) wait() (*trainingSample, error) {
	err := b.run.Wait()
	return b.s, err
}

// stop abandons the sample (the night failed before training) and waits
// for its statements to end, so none outlives the night's connection.
func (b *sampleBeside) stop() { b.run.Stop() }
