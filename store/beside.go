package store

import "context"

// Beside is work running on a side handle (Side) in a goroutine of its own,
// beside the caller's: the training sample a one-thread night draws while
// it blocks and compares, the checkpoint it runs while the portal's files
// are written. Both wanted the same few things — a handle of their own,
// closed when the work ends, its error kept, a way to wait and to stop —
// so they are here once.
type Beside struct {
	done   chan struct{}
	cancel context.CancelFunc
	err    error
}

// RunBeside runs f on a side handle of its own in a new goroutine and
// closes the handle when f returns. f's context is cancelled by Stop, or
// by ctx.
func (db *DB) RunBeside(ctx context.Context, f func(ctx context.Context, side *DB) error) *Beside {
	ctx, cancel := context.WithCancel(ctx)
	b := &Beside{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(b.done)
		side := db.Side()
		b.err = f(ctx, side)
		if err := side.Close(); b.err == nil {
			b.err = err
		}
	}()
	return b
}

// Wait waits for the work to end and returns its error.
func (b *Beside) Wait() error {
	<-b.done
	b.cancel()
	return b.err
}

// Stop abandons the work: it cancels its statements and waits for them to
// end, so that none outlives the caller's use of the database.
func (b *Beside) Stop() {
	b.cancel()
	<-b.done
}

// CheckpointBeside starts writing the database's tables to its file beside
// the caller's work, once the night has written the last of them: closing
// the database checkpoints whatever is not yet in the file, and on a small
// night that was about 90 ms of the end of the night, the portal's files
// and the report (which only read the tables) on the other core meanwhile
// (docs/BENCHMARKS.md, the twentieth session). Close still checkpoints
// what a later write leaves, so a table written after this is not lost;
// and DuckDB refuses a checkpoint while another write to the database is
// under way (its error comes back from Wait), which Close then does
// instead. Reads beside it go on: DuckDB checkpoints concurrently with
// them.
func (db *DB) CheckpointBeside(ctx context.Context) *Beside {
	return db.RunBeside(ctx, func(ctx context.Context, side *DB) error {
		_, err := side.ExecContext(ctx, "CHECKPOINT")
		return err
	})
}
