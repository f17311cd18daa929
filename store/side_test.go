package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A side handle sees the database's tables, keeps its temporary tables to
// itself, and closing it leaves the database open.
func TestSideHandle(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "s.duckdb"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE shared AS SELECT 7 AS v; CREATE TEMP TABLE mine AS SELECT 1 AS v"); err != nil {
		t.Fatal(err)
	}
	side := db.Side()
	var v int
	if err := side.QueryRowContext(ctx, "SELECT v FROM shared").Scan(&v); err != nil || v != 7 {
		t.Errorf("the side reads shared: %d (%v)", v, err)
	}
	if _, err := side.ExecContext(ctx, "CREATE TEMP TABLE mine AS SELECT 2 AS v"); err != nil {
		t.Fatal(err)
	}
	if err := side.QueryRowContext(ctx, "SELECT v FROM mine").Scan(&v); err != nil || v != 2 {
		t.Errorf("the side's own temporary table: %d (%v)", v, err)
	}
	if err := side.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, "SELECT v FROM mine").Scan(&v); err != nil || v != 1 {
		t.Errorf("after the side closed, the night's temporary table: %d (%v)", v, err)
	}
	// The database still takes new connections: another side, and a second
	// connection of the night's own pool.
	again := db.Side()
	defer again.Close()
	if err := again.QueryRowContext(ctx, "SELECT v FROM shared").Scan(&v); err != nil || v != 7 {
		t.Errorf("a second side: %d (%v)", v, err)
	}
	held, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := db.QueryRowContext(ctx, "SELECT v FROM shared").Scan(&v); err != nil || v != 7 {
		t.Errorf("a new connection of the night's pool: %d (%v)", v, err)
	}
}

// A checkpoint beside the caller's reads writes the tables to the file: the
// WAL is empty after it, and the tables read back once the database is
// closed and opened again.
func TestCheckpointBeside(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.duckdb")
	db, err := Open(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE kept AS SELECT range AS v FROM range(50000)"); err != nil {
		t.Fatal(err)
	}
	walBefore := fileSize(t, path+".wal")
	c := db.CheckpointBeside(ctx)
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM kept").Scan(&n); err != nil || n != 50000 {
		t.Errorf("a read beside the checkpoint: %d (%v)", n, err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if after := fileSize(t, path+".wal"); walBefore == 0 || after != 0 {
		t.Errorf("the WAL held %d bytes before the checkpoint and %d after", walBefore, after)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := again.QueryRowContext(ctx, "SELECT count(*) FROM kept").Scan(&n); err != nil || n != 50000 {
		t.Errorf("after reopening: %d (%v)", n, err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
