package store

/*
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

// DuckDB's built-in jemalloc, prefixed duckdb_je_; weak, so that a build of
// DuckDB without it links and reports nothing.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// carematch_je_decay sets how long jemalloc keeps freed pages, for the
// arenas it has and the ones it makes later; where there is no jemalloc, or
// it refuses, nothing changes (AllocatorDecay says what is in effect).
static void carematch_je_decay(long long ms) {
	ssize_t v = (ssize_t)ms;
	if (!duckdb_je_mallctl || duckdb_je_mallctl("arenas.dirty_decay_ms", NULL, NULL, &v, sizeof v) != 0 ||
		duckdb_je_mallctl("arenas.muzzy_decay_ms", NULL, NULL, &v, sizeof v) != 0) {
		return;
	}
	unsigned n = 0;
	size_t len = sizeof n;
	if (duckdb_je_mallctl("arenas.narenas", &n, &len, NULL, 0) != 0) {
		return;
	}
	char name[64];
	for (unsigned i = 0; i < n; i++) {
		// An arena not made yet refuses; it takes the default above.
		snprintf(name, sizeof name, "arena.%u.dirty_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &v, sizeof v);
		snprintf(name, sizeof name, "arena.%u.muzzy_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &v, sizeof v);
	}
}

// carematch_je_decay_now is the decay jemalloc gives arenas, in ms (-1:
// never), or 0 in ok where it cannot say.
static long long carematch_je_decay_now(int *ok) {
	ssize_t v = 0;
	size_t len = sizeof v;
	*ok = duckdb_je_mallctl && duckdb_je_mallctl("arenas.dirty_decay_ms", &v, &len, NULL, 0) == 0;
	return (long long)v;
}
*/
import "C"

import (
	"os"
	"sync"
)

// AllocatorEnv is where DuckDB's built-in jemalloc reads its options when
// the process starts (before any Go code runs, so carematch cannot set it
// for itself).
const AllocatorEnv = "DUCKDB_JE_MALLOC_CONF"

// allocatorDecayMS is how long the pages a query frees are kept before
// jemalloc hands them back to the system, instead of the second DuckDB
// sets. A night's statements allocate and free several times the memory
// they hold at once — every hash join's and aggregate's table, zeroed when
// it is made — and memory handed back is faulted in page by page again by
// the next statement: on the benchmark machine ten seconds took a fifth of
// the page faults away at one, two and ten million records, for 0.1–0.23 GiB
// more at the peak of one and two million and none at ten million, where
// DuckDB's memory limit sets the peak (docs/BENCHMARKS.md, the eighteenth
// session); never handing them back took the two million's peak to 2.9
// GiB. This memory is outside DuckDB's buffer blocks, so
// block_allocator_memory (KeepBlockMemory) does not cover it.
const allocatorDecayMS = 10_000

var allocatorOnce sync.Once

// configureAllocator sets the allocator's decay once, when the first
// database opens, unless the environment gave the allocator options of its
// own (an administrator's choice wins).
func configureAllocator() {
	allocatorOnce.Do(func() {
		if _, set := os.LookupEnv(AllocatorEnv); !set {
			C.carematch_je_decay(allocatorDecayMS)
		}
	})
}

// AllocatorDecay is how long, in milliseconds, DuckDB's allocator keeps
// freed pages before handing them back to the system (-1: never), as the
// allocator itself says; ok is false where it cannot say (a DuckDB built
// without jemalloc). It only reads: a database opened first sets it.
func AllocatorDecay() (ms int64, ok bool) {
	var k C.int
	v := C.carematch_je_decay_now(&k)
	return int64(v), k != 0
}
