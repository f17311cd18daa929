package store

import (
	"os"
	"testing"
)

// presetAllocator is the allocator options the environment gave the test
// process, read before any test opened a database.
var presetAllocator, allocatorPreset = os.LookupEnv(AllocatorEnv)

// Once a database is open, DuckDB's allocator keeps freed pages for ten
// seconds, as carematch asks, unless the environment gave it options of its
// own.
func TestAllocatorDecay(t *testing.T) {
	db, err := OpenWith("", Limits{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, ok := AllocatorDecay()
	if !ok {
		t.Fatal("DuckDB's allocator does not say its decay: a build without jemalloc?")
	}
	if allocatorPreset {
		t.Logf("%s=%q in the environment: decay %d ms", AllocatorEnv, presetAllocator, ms)
		return
	}
	if ms != allocatorDecayMS {
		t.Errorf("decay %d ms, want %d", ms, allocatorDecayMS)
	}
}
