package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// A query that cannot fit under the memory limit (a list cannot spill) fails
// with an error OutOfMemory marks, so the stage can say what happened.
func TestMemoryLimit(t *testing.T) {
	db, err := OpenWith(filepath.Join(t.TempDir(), "m.duckdb"), Limits{Threads: 1, MemoryLimit: "32MB", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var limit string
	if err := db.QueryRowContext(context.Background(), "SELECT current_setting('memory_limit')").Scan(&limit); err != nil || !strings.Contains(limit, "MiB") {
		t.Fatalf("memory_limit %q (%v)", limit, err)
	}
	var n int64
	err = db.QueryRowContext(context.Background(), "SELECT len(list(range || repeat('x', 100))) FROM range(5000000)").Scan(&n)
	if !errors.Is(OutOfMemory(err), ErrOutOfMemory) {
		t.Fatalf("got %v (n %d), want an out-of-memory error", err, n)
	}
	if OutOfMemory(nil) != nil || errors.Is(OutOfMemory(errors.New("Binder Error")), ErrOutOfMemory) {
		t.Error("OutOfMemory marks what is not")
	}
	if _, err := OpenWith("", Limits{MemoryLimit: "lots"}); err == nil {
		t.Error("a bad memory limit opened")
	}
}

// With no memory_limit configured a night gives DuckDB a sixth of the
// machine's memory, not DuckDB's own 80%.
func TestDefaultMemoryLimit(t *testing.T) {
	lim := DefaultMemoryLimit()
	if physicalMemory() == 0 {
		t.Skip("the machine's memory is not known here")
	}
	db, err := OpenWith("", Limits{MemoryLimit: lim})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var shown string // as DuckDB shows it: "4.7 GiB"
	if err := db.QueryRowContext(context.Background(), "SELECT current_setting('memory_limit')").Scan(&shown); err != nil {
		t.Fatal(err)
	}
	size, ok := parseSize(shown)
	if !ok {
		t.Fatalf("memory_limit %q is not a size", shown)
	}
	bytes := float64(size)
	share := bytes / float64(physicalMemory())
	if share < 0.15 || share > 0.19 {
		t.Errorf("default memory_limit %s is %.0f%% of the machine's memory, want a sixth (17%%)", lim, share*100)
	}
}

// Without a configured limit: a sixth of the machine before the records are
// known, then 1 KiB a record, at least 1 GiB, at most the sixth; and a night
// is told what its kilobyte a record would be (past) only when the sixth
// held it to less.
func TestMemoryLimitFor(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		records    int64
		total      uint64
		want, past string
	}{
		{0, 24 * gib, "4096MiB", ""},
		{0, 0, "", ""},
		{1000, 24 * gib, "1024MiB", ""},
		{2_030_454, 24 * gib, "1982MiB", ""},
		{4_061_433, 24 * gib, "3966MiB", ""},
		{4_194_304, 24 * gib, "4096MiB", ""}, // the kilobyte is exactly the sixth
		{4_194_305, 24 * gib, "4096MiB", "4096MiB"},
		{10_065_651, 24 * gib, "4096MiB", "9829MiB"},
		{10_065_651, 0, "", ""},
		{1000, 4 * gib, "682MiB", ""}, // the 1 GiB floor is over the sixth, but the night's kilobyte is not
		{2_030_454, 4 * gib, "682MiB", "1982MiB"},
	} {
		if got := memoryLimitFor(c.records, c.total); got != c.want {
			t.Errorf("%d records on %d bytes: %q, want %q", c.records, c.total, got, c.want)
		}
		if got := memoryPastShare(c.records, c.total); got != c.past {
			t.Errorf("%d records on %d bytes: past the share %q, want %q", c.records, c.total, got, c.past)
		}
	}
}

// The limit changes for the rest of the run.
func TestSetMemoryLimit(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	if err := db.SetMemoryLimit(ctx, "1500MiB"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('memory_limit')").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "1.4 GiB" && got != "1.5 GiB" {
		t.Errorf("memory_limit %q after setting 1500MiB", got)
	}
	if err := db.SetMemoryLimit(ctx, "lots"); err == nil {
		t.Error("a limit that is not a size was taken")
	}
}

// DuckDB keeps freed blocks up to the size set, which can grow but not
// shrink.
func TestKeepBlockMemory(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	kept, err := db.KeepBlockMemory(ctx, "64MiB")
	if err != nil || kept != "64.0 MiB" {
		t.Fatalf("kept %q (%v) after 64MiB", kept, err)
	}
	if kept, err := db.KeepBlockMemory(ctx, "128MiB"); err != nil || kept != "128.0 MiB" {
		t.Errorf("kept %q (%v) after raising it to 128MiB", kept, err)
	}
	if _, err := db.KeepBlockMemory(ctx, "32MiB"); err == nil {
		t.Error("the blocks kept were lowered")
	}
	if _, err := db.KeepBlockMemory(ctx, "lots"); err == nil {
		t.Error("a size that is not one was taken")
	}
}

// The freed blocks kept: the memory limit, at most a tenth of the machine.
func TestBlockMemoryFor(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		limit string
		total uint64
		want  string
	}{
		{"1988MiB", 24 * gib, "1988MiB"},
		{"4915MiB", 24 * gib, "2457MiB"},
		{"2GiB", 24 * gib, "2048MiB"},
		{"2GiB", 0, "2048MiB"},
		{"2GiB", 4 * gib, "409MiB"},
		{"512MB", 24 * gib, "488MiB"},
		{"1.5 GB", 24 * gib, "1430MiB"},
		{"1TiB", 24 * gib, "2457MiB"},
		{"8MB", 24 * gib, "7MiB"},
		{"", 24 * gib, ""},
		{"lots", 24 * gib, ""},
		{"12", 24 * gib, ""},
		{"12XB", 24 * gib, ""},
		{"-1GiB", 24 * gib, ""},
	} {
		if got := blockMemoryFor(c.limit, c.total); got != c.want {
			t.Errorf("limit %q on %d bytes: %q, want %q", c.limit, c.total, got, c.want)
		}
	}
}

func TestSelectedMode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"always [madvise] never\n", "madvise"},
		{"[always] madvise never\n", "always"},
		{"always madvise [never]", "never"},
		{"always defer defer+madvise [madvise] never\n", "madvise"},
		{"always madvise never\n", ""}, // none chosen
		{"[always madvise never", ""},  // unclosed
		{"", ""},
	} {
		if got := selectedMode(tc.in); got != tc.want {
			t.Errorf("selectedMode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// On Linux the kernel's file names one of its three modes.
	if m := HugePages(); m != "" && m != "always" && m != "madvise" && m != "never" {
		t.Errorf("HugePages() = %q", m)
	}
}

func TestThreadsFor(t *testing.T) {
	for _, tc := range []struct {
		records int64
		want    int
	}{{0, 1}, {5_000, 1}, {OneThreadBelow - 1, 1}, {OneThreadBelow, 0}, {2_000_000, 0}} {
		if got := ThreadsFor(tc.records); got != tc.want {
			t.Errorf("ThreadsFor(%d) = %d, want %d", tc.records, got, tc.want)
		}
	}
	db, err := Open(filepath.Join(t.TempDir(), "t.duckdb"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.SetThreads(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Threads(ctx); err != nil || n != 1 {
		t.Errorf("threads %d (%v) after setting one", n, err)
	}
}

// WithThreads works on the threads asked for while its function runs, on
// every connection, and sets back the threads before, also when the
// function fails.
func TestWithThreads(t *testing.T) {
	ctx := context.Background()
	db, err := OpenWith(filepath.Join(t.TempDir(), "t.duckdb"), Limits{Threads: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	failed := errors.New("the function failed")
	for _, want := range []error{nil, failed} {
		err := db.WithThreads(ctx, 1, func() error {
			side := db.Side()
			defer side.Close()
			for _, h := range []*DB{db, side} {
				if n, err := h.Threads(ctx); err != nil || n != 1 {
					t.Errorf("threads %d (%v) inside WithThreads(1)", n, err)
				}
			}
			return want
		})
		if err != want {
			t.Errorf("WithThreads returned %v, want %v", err, want)
		}
		if n, err := db.Threads(ctx); err != nil || n != 3 {
			t.Errorf("threads %d (%v) after WithThreads (the function's error %v), want the 3 before", n, err, want)
		}
	}
}
