package store

import (
	"context"
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
