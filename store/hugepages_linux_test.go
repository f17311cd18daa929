package store

import (
	"context"
	"os"
	"regexp"
	"testing"
)

// With the advice on, the mappings DuckDB's memory comes from ask for
// transparent huge pages, and the kernel has them marked (VmFlags hg in
// /proc/self/smaps); with it off, a database opened after asks for none.
func TestAdviseHugePages(t *testing.T) {
	if mode := HugePages(); mode != "madvise" {
		if AdviseHugePages(true) {
			t.Errorf("advice on under the kernel's mode %q", mode)
		}
		t.Skipf("the kernel's transparent huge pages are %q: only madvise is advised", mode)
	}
	defer AdviseHugePages(false)
	// open opens a database, has it map memory and reads the process's
	// mappings while it is open.
	open := func() (smaps []byte) {
		t.Helper()
		db, err := Open("", 2)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// DuckDB maps its block allocator's memory when told to keep
		// freed blocks, as a night of KeepBlocksFrom records is; jemalloc's
		// mappings may be there already, from the databases other tests
		// opened.
		ctx := context.Background()
		if _, err := db.KeepBlockMemory(ctx, "64MiB"); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(DISTINCT i % 1000003) FROM range(3000000) t(i)").Scan(&n); err != nil {
			t.Fatal(err)
		}
		smaps, err = os.ReadFile("/proc/self/smaps")
		if err != nil {
			t.Fatal(err)
		}
		return smaps
	}
	if !AdviseHugePages(true) {
		t.Fatal("advice off under madvise")
	}
	before := advisedMappings()
	smaps := open()
	if advisedMappings() == before {
		t.Fatal("a database opened with the advice on advised no mapping")
	}
	if !regexp.MustCompile(`(?m)^VmFlags:.* hg( |$)`).Match(smaps) {
		t.Error("no mapping in /proc/self/smaps is marked for huge pages (VmFlags hg)")
	}
	if AdviseHugePages(false) {
		t.Fatal("advice still on")
	}
	before = advisedMappings()
	open()
	if n := advisedMappings() - before; n != 0 {
		t.Errorf("a database opened with the advice off advised %d mappings", n)
	}
}
