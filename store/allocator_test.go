package store

import (
	"context"
	"os"
	"testing"
)

// presetAllocator is the allocator options the environment gave the test
// process, read before any test opened a database.
var presetAllocator, allocatorPreset = os.LookupEnv(allocatorEnv)

// DuckDB's allocator keeps freed pages for ten seconds, as carematch asks,
// unless the environment gave it options of its own.
func TestAllocatorDecay(t *testing.T) {
	db, err := OpenWith("", Limits{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE TEMP TABLE t AS SELECT range AS i FROM range(100000)"); err != nil {
		t.Fatal(err)
	}
	ms, ok := AllocatorDecay()
	if !ok {
		t.Fatal("DuckDB's allocator does not say its decay: a build without jemalloc?")
	}
	if allocatorPreset {
		t.Logf("%s=%q in the environment: decay %d ms", allocatorEnv, presetAllocator, ms)
		return
	}
	if ms != allocatorDecayMS {
		t.Errorf("decay %d ms, want %d", ms, allocatorDecayMS)
	}
}
