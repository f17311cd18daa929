package store

/*
#cgo LDFLAGS: -Wl,--wrap=mmap
#include <stddef.h>
#include <sys/mman.h>
#include <sys/types.h>

// Every call to mmap in the objects linked into carematch — DuckDB's block
// allocator and its jemalloc among them — comes here instead (the linker's
// --wrap), and goes on to the C library's mmap (__real_mmap).
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

static int carematch_advise;
static long long carematch_advised;

// __wrap_mmap maps as asked and, while advice is on, asks for transparent
// huge pages over a new private anonymous writable mapping of a huge page
// or more. A mapping at a fixed address is left alone: that is how the Go
// runtime commits parts of the heap it reserved, and the Go heap is not
// the memory this is for.
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
	void *p = __real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && __atomic_load_n(&carematch_advise, __ATOMIC_RELAXED) && len >= ((size_t)2 << 20) &&
		(flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) && !(flags & MAP_FIXED) && (prot & PROT_WRITE) &&
		madvise(p, len, MADV_HUGEPAGE) == 0) {
		__atomic_add_fetch(&carematch_advised, 1, __ATOMIC_RELAXED);
	}
	return p;
}

static void carematch_set_advise(int on) { __atomic_store_n(&carematch_advise, on, __ATOMIC_RELAXED); }
static long long carematch_advised_mappings(void) { return __atomic_load_n(&carematch_advised, __ATOMIC_RELAXED); }
*/
import "C"

// AdviseHugePages turns on, or off, the advice that DuckDB's new memory be
// backed by transparent huge pages (madvise MADV_HUGEPAGE), and says
// whether it is now on. It is on only where asked and the kernel's mode is
// madvise: under always the kernel gives huge pages without being asked
// (and advising would change how hard it tries, an administrator's
// choice), under never it refuses them. The advice covers the mappings
// made after the call, so a night turns it on before it opens its
// database; the mappings already advised keep it.
//
// Why: a night's statements fault in millions of fresh 4 KiB pages —
// DuckDB's block allocator touches every page of a block it hands out for
// the first time, and jemalloc's extents are zeroed and faulted page by
// page — and on the benchmark machine, whose kernel has madvise as many
// distributions do, that was a seventh of a two-million-record night's CPU
// (docs/BENCHMARKS.md, the thirtieth session). DuckDB cannot ask for huge
// pages itself (its jemalloc is built without them), so carematch asks for
// it, for the mappings DuckDB's memory comes from: the night took 11–15%
// less time, about what the kernel's always gave (docs/BENCHMARKS.md, the
// thirty-second session).
func AdviseHugePages(on bool) bool {
	on = on && HugePages() == "madvise"
	var flag C.int
	if on {
		flag = 1
	}
	C.carematch_set_advise(flag)
	return on
}

// advisedMappings is how many mappings have been advised since the process
// began.
func advisedMappings() int64 { return int64(C.carematch_advised_mappings()) }
