package store

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

// Columns handed over in bulk come back as written, NaN as NULL; batches
// read every column type the stages read, and a column of the wrong type is
// an error naming it.
func TestBulkRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, err := Open("", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 5000 // more than one batch
	ids, names, weights := make([]int32, n), make([]string, n), make([]float64, n)
	for i := range n {
		ids[i], names[i], weights[i] = int32(i), strings.Repeat("é", i%4), float64(i)/2
	}
	weights[7] = math.NaN()
	if err := db.CreateTableFrom(ctx, "bulk", Int32Column("id", ids), StringColumnOf("name", names), Float64Column("w", weights)); err != nil {
		t.Fatal(err)
	}
	var rows, nulls int
	var sum float64
	if err := db.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (w IS NULL), sum(w) FROM bulk").Scan(&rows, &nulls, &sum); err != nil {
		t.Fatal(err)
	}
	if rows != n || nulls != 1 || sum != float64(n*(n-1))/4-3.5 {
		t.Fatalf("%d rows, %d NULL, sum %v", rows, nulls, sum)
	}
	seen := 0
	err = db.QueryBatches(ctx, `SELECT id, name, id % 2 = 0 AS even, DATE '2000-01-01' + id AS d, [name, 'x'] AS l, CASE WHEN id = 3 THEN NULL ELSE name END AS maybe
		FROM bulk ORDER BY id`, func(b Batch) error {
		id, err := b.Int32s(0)
		if err != nil {
			return err
		}
		name, _ := b.Strings(1)
		even, _ := b.Bools(2)
		d, _ := b.Dates(3)
		l, _ := b.Lists(4)
		maybe, _ := b.Strings(5)
		for i := range b.Len() {
			k := int(id[i])
			if k != seen || name.Value(i) != names[k] || even.Value(i) != (k%2 == 0) || !d.Time(i).Equal(time.Date(2000, 1, 1+k, 0, 0, 0, 0, time.UTC)) || l.Len(i) != 2 || maybe.IsNull(i) != (k == 3) {
				t.Fatalf("row %d read back wrong", k)
			}
			var got []string
			l.Each(i, func(s string) { got = append(got, s) })
			if got[0] != names[k] || got[1] != "x" {
				t.Fatalf("row %d list %q", k, got)
			}
			seen++
		}
		if _, err := b.Strings(0); err == nil || !strings.Contains(err.Error(), "column id") {
			t.Fatalf("an INTEGER column read as strings: %v", err)
		}
		return nil
	})
	if err != nil || seen != n {
		t.Fatalf("%d rows read: %v", seen, err)
	}
	if err := db.CreateTableFrom(ctx, "bad", Int32Column("a", ids), StringColumnOf("b", names[:3])); err == nil {
		t.Fatal("columns of different lengths accepted")
	}
}
