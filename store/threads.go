package store

import (
	"context"
	"fmt"
)

// OneThreadBelow is the size of night, in records loaded, under which
// DuckDB works on one thread when the configuration sets no threads. A
// query's pipelines are scheduled as tasks on every thread whatever the
// data's size, and on a few thousand records that scheduling is most of the
// work: FEBRL3's 5,000 records took 1.13 s on one thread against 1.25 s on
// two, and a 3,500-record fixture night 1.24 against 1.31 s; at 14,000
// records two threads were faster (1.97 against 2.07 s), at 35,000 by 7%
// and at 177,000 by 14% (docs/BENCHMARKS.md, the nineteenth session).
const OneThreadBelow = 10_000

// ThreadsFor is the number of threads DuckDB is given, when none is
// configured, once a night's records are counted: 1 under OneThreadBelow,
// else 0 (DuckDB's default, one a core).
func ThreadsFor(records int64) int {
	if records < OneThreadBelow {
		return 1
	}
	return 0
}

// SetThreads sets how many threads DuckDB works on, for every connection
// of the database.
func (db *DB) SetThreads(ctx context.Context, threads int) error {
	if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", threads)); err != nil {
		return fmt.Errorf("threads %d: %w", threads, err)
	}
	return nil
}

// WithThreads runs f with DuckDB working on n threads, for every
// connection, and then sets back the threads it worked on before, whether
// or not f failed.
func (db *DB) WithThreads(ctx context.Context, n int, f func() error) error {
	before, err := db.Threads(ctx)
	if err != nil {
		return err
	}
	if before == n {
		return f()
	}
	if err := db.SetThreads(ctx, n); err != nil {
		return err
	}
	ferr := f()
	if err := db.SetThreads(context.WithoutCancel(ctx), before); ferr == nil {
		ferr = err
	}
	return ferr
}

// Threads is how many threads DuckDB works on now.
func (db *DB) Threads(ctx context.Context) (int, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT current_setting('threads')::INTEGER").Scan(&n); err != nil {
		return 0, fmt.Errorf("threads: %w", err)
	}
	return n, nil
}
