package store

import (
	"context"
	"fmt"
)

// DefaultMemoryShare is the share of the machine's memory DuckDB may use
// when the configuration sets no memory_limit: a fifth, so that with the Go
// side's few hundred megabytes the whole job stays under a quarter of the
// machine (DuckDB's own default is 80%). Work beyond it spills to disk.
const DefaultMemoryShare = 5

// Without a configured memory_limit, once the records are loaded DuckDB is
// given what a night of that many records needs, not all of its share:
// memoryPerRecord a record, at least minMemoryLimit. DuckDB keeps whatever
// its limit allows as a cache of table blocks it may read again, so a limit
// of a fifth of this machine (4.7 GiB) let a night of two million records
// peak at 3.1–3.7 GiB, and one of 2 GiB at 2.9 GiB in the same time
// (docs/BENCHMARKS.md); ten million records still get the whole fifth.
const (
	memoryPerRecord = 1 << 10
	minMemoryLimit  = 1 << 30
)

// DefaultMemoryLimit is the memory_limit used when none is configured: a
// DefaultMemoryShare-th of the machine's memory, or "" (DuckDB's default)
// where the machine's memory cannot be read.
func DefaultMemoryLimit() string { return memoryLimitFor(0, physicalMemory()) }

// MemoryLimitFor is the memory_limit used when none is configured, once
// records are loaded: memoryPerRecord a record, at least minMemoryLimit, at
// most DefaultMemoryLimit.
func MemoryLimitFor(records int64) string { return memoryLimitFor(records, physicalMemory()) }

// memoryLimitFor is the limit for records on a machine of total bytes;
// records 0 means not yet known.
func memoryLimitFor(records int64, total uint64) string {
	if total == 0 {
		return ""
	}
	limit := total / DefaultMemoryShare
	if records > 0 {
		limit = min(limit, max(uint64(records)*memoryPerRecord, minMemoryLimit))
	}
	return fmt.Sprintf("%dMiB", limit>>20)
}

// SetMemoryLimit changes DuckDB's memory limit for the rest of the run.
func (db *DB) SetMemoryLimit(ctx context.Context, limit string) error {
	if _, err := db.ExecContext(ctx, "SET memory_limit = "+QuoteString(limit)); err != nil {
		return fmt.Errorf("memory limit %s: %w", limit, err)
	}
	return nil
}
