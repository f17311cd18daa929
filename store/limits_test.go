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
