package store

import "context"

// Checkpoint is a checkpoint of the database's tables to its file, run on
// a side handle (Side) beside the caller's work.
type Checkpoint struct {
	done chan struct{}
	err  error
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
func (db *DB) CheckpointBeside(ctx context.Context) *Checkpoint {
	c := &Checkpoint{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		side := db.Side()
		_, c.err = side.ExecContext(ctx, "CHECKPOINT")
		if err := side.Close(); c.err == nil {
			c.err = err
		}
	}()
	return c
}

// Wait waits for the checkpoint and returns its error.
func (c *Checkpoint) Wait() error {
	<-c.done
	return c.err
}
