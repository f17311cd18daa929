package store

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// DefaultMemoryShare is the share of the machine's memory DuckDB may use
// when the configuration sets no memory_limit: a sixth, so that with the
// freed blocks it keeps (blockShare) and the Go side's few hundred
// megabytes the whole job stays under a quarter of the machine (DuckDB's
// own default is 80%). Work beyond it spills to disk. A fifth (4.7 GiB on
// the 24 GiB benchmark machine) let ten million records peak at 6.1–6.7
// GiB, over the quarter's 5.9, once DuckDB's memory had huge pages; a
// sixth (3.9 GiB) held three such nights to 5.5–5.6 GiB for 5% more time
// (docs/BENCHMARKS.md, the thirty-third session).
const DefaultMemoryShare = 6

// Without a configured memory_limit, once the records are loaded DuckDB is
// given what a night of that many records needs, not all of its share:
// memoryPerRecord a record, at least minMemoryLimit. DuckDB keeps whatever
// its limit allows as a cache of table blocks it may read again, so a limit
// of a fifth of this machine (4.7 GiB) let a night of two million records
// peak at 3.1–3.7 GiB, and one of 2 GiB at 2.9 GiB in the same time
// (docs/BENCHMARKS.md); ten million records still get the whole share.
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

// MemoryPastShare is, for a night of records with no memory_limit
// configured, what a kilobyte a record would have given it, when the
// sixth of the machine (DefaultMemoryShare) held it to less; "" when it did
// not, or the machine's memory cannot be read. Such a night spills where
// it need not: at ten million records on the benchmark machine (24 GiB) a
// fifth, 4.7 GiB, made the night 417 s, and 9.4 GiB 365 s at a peak of
// 10.5 GiB (docs/BENCHMARKS.md, the twenty-third session). The default
// keeps the quarter; an operator with memory to spare is told.
func MemoryPastShare(records int64) string { return memoryPastShare(records, physicalMemory()) }

// memoryPastShare is MemoryPastShare on a machine of total bytes.
func memoryPastShare(records int64, total uint64) string {
	want := uint64(max(records, 0)) * memoryPerRecord
	if total == 0 || want <= total/DefaultMemoryShare {
		return ""
	}
	return fmt.Sprintf("%dMiB", want>>20)
}

// KeepBlockMemory lets DuckDB keep up to size of the buffer blocks (256 KiB
// each) its queries free, for the next query to reuse, instead of handing
// them back to the operating system and having every page of the next
// block zeroed and mapped again: a night's queries allocate and free
// several times the memory they hold at once, and at two million records
// those page faults were 2.4–2.7 million and a seventh of the night's CPU
// (docs/BENCHMARKS.md, "Pages faulted in again"). Blocks in use count
// against memory_limit; blocks kept free do not, so a night keeps what
// BlockMemoryFor allows, and only a night of KeepBlocksFrom records or
// more. The size can be raised but never lowered while the database is
// open, so a night sets it once. It returns the size as DuckDB now reports
// it.
func (db *DB) KeepBlockMemory(ctx context.Context, size string) (string, error) {
	if _, err := db.ExecContext(ctx, "SET block_allocator_memory = "+QuoteString(size)); err != nil {
		return "", fmt.Errorf("block memory %s: %w", size, err)
	}
	var kept string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('block_allocator_memory')").Scan(&kept); err != nil {
		return "", fmt.Errorf("block memory: %w", err)
	}
	return kept, nil
}

// KeepBlocksFrom is the fewest records for which a night keeps DuckDB's
// freed blocks: at a million records keeping them saved 15% of the time, at
// half a million 3%, at 100,000 nothing, and at FEBRL3's 5,000 it cost a
// tenth more (every page of a new block is touched when it is first handed
// out, where a small night writes few of them) and 70 MB.
const KeepBlocksFrom = 500_000

// blockShare bounds the freed blocks DuckDB keeps to a tenth of the
// machine's memory, so that beside memory_limit's share and the Go side the
// job stays near a quarter: at ten million records (a limit of 4.7 GiB on
// 24 GiB) blocks kept up to the whole limit made the night peak at 6.9 GiB,
// up to a tenth at 5.9 GiB.
const blockShare = 10

// BlockMemoryFor is how much of its freed blocks DuckDB keeps under the
// memory limit given: the limit, at most a tenth of the machine; "" (none)
// when the limit is not a size.
func BlockMemoryFor(limit string) string { return blockMemoryFor(limit, physicalMemory()) }

// blockMemoryFor is BlockMemoryFor on a machine of total bytes (0: not
// known, the limit alone).
func blockMemoryFor(limit string, total uint64) string {
	size, ok := parseSize(limit)
	if !ok {
		return ""
	}
	if total > 0 {
		size = min(size, total/blockShare)
	}
	return fmt.Sprintf("%dMiB", size>>20)
}

// sizeForm is the form memory_limit takes (config checks it the same way):
// a number, then KiB, MiB, GiB or TiB in powers of 1024, or KB, MB, GB or
// TB in powers of 1000.
var sizeForm = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?) ?([KMGT])(i?)B$`)

// parseSize reads a size in sizeForm ("6GiB", "512MB", "1.5 GB").
func parseSize(s string) (uint64, bool) {
	m := sizeForm.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	base := 1000.0
	if m[3] == "i" {
		base = 1024
	}
	return uint64(n * math.Pow(base, float64(strings.Index("KMGT", m[2])+1))), true
}

// SetMemoryLimit changes DuckDB's memory limit for the rest of the run.
func (db *DB) SetMemoryLimit(ctx context.Context, limit string) error {
	if _, err := db.ExecContext(ctx, "SET memory_limit = "+QuoteString(limit)); err != nil {
		return fmt.Errorf("memory limit %s: %w", limit, err)
	}
	return nil
}

// selectedMode is the bracketed word of a kernel setting that lists its
// choices, "always [madvise] never" → "madvise"; "" if none is.
func selectedMode(s string) string {
	_, rest, ok := strings.Cut(s, "[")
	if !ok {
		return ""
	}
	mode, _, ok := strings.Cut(rest, "]")
	if !ok || strings.ContainsAny(mode, " \n") {
		return ""
	}
	return mode
}
