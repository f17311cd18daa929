package mpi

import (
	"context"
	"testing"
)

// TestSourceCountSQL counts a person's distinct sources both ways — as bits
// where a UBIGINT holds them, as a list beyond — on the same records, the
// highest source number a bit can take among them.
func TestSourceCountSQL(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	// Person a: sources 1, 1, 63; b: 2; c: 5, 6, 7, 63, 5; d: one record,
	// source 40.
	if _, err := db.ExecContext(ctx, `CREATE TABLE g AS SELECT * FROM (VALUES
		('a', 1), ('a', 1), ('a', 63), ('b', 2), ('c', 5), ('c', 6), ('c', 7), ('c', 63), ('c', 5), ('d', 40))
		AS v(person, n);
		CREATE TABLE g2 AS SELECT person, n::USMALLINT AS source_no FROM g`); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"a": 2, "b": 1, "c": 4, "d": 1}
	for _, sources := range []int{1, maxSourceBits, maxSourceBits + 1, 500} {
		got := map[string]int{}
		rows, err := db.QueryContext(ctx, "SELECT person, "+sourceCountSQL(sources)+" FROM g2 g GROUP BY person")
		if err != nil {
			t.Fatalf("%d sources: %v", sources, err)
		}
		for rows.Next() {
			var p string
			var n int
			if err := rows.Scan(&p, &n); err != nil {
				t.Fatal(err)
			}
			got[p] = n
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		for p, n := range want {
			if got[p] != n {
				t.Errorf("%d sources (%s): person %s has %d sources, want %d", sources, sourceCountSQL(sources), p, got[p], n)
			}
		}
	}
}
