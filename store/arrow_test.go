package store

import (
	"context"
	"errors"
	"math"
	"strconv"
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

// A reader that stops early gets its own error back, the batch DuckDB had
// already fetched ahead is let go, and the database goes on answering.
func TestQueryBatchesStopsEarly(t *testing.T) {
	ctx := context.Background()
	db, err := Open("", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stop := errors.New("enough")
	for _, after := range []int{1, 2, 5} {
		batches := 0
		err := db.QueryBatches(ctx, "SELECT range AS id FROM range(100000)", func(b Batch) error {
			if batches++; batches == after {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || batches != after {
			t.Fatalf("stopping at batch %d: %d read, %v", after, batches, err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM range(10)").Scan(&n); err != nil || n != 10 {
		t.Fatalf("after stopping: %d, %v", n, err)
	}
}

// BenchmarkQueryBatches reads a million rows of an integer and two strings
// that DuckDB computes as it goes, copying each row's strings out as an
// encoder would: DuckDB's side and the reader's, in turn or overlapped.
func BenchmarkQueryBatches(b *testing.B) {
	ctx := context.Background()
	db, err := Open("", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const query = `SELECT range::INTEGER AS id, 'person ' || range AS name, md5(range::VARCHAR) AS print FROM range(1000000)`
	buf := make([]byte, 0, 1<<20)
	for b.Loop() {
		rows := 0
		err := db.QueryBatches(ctx, query, func(bt Batch) error {
			ids, err := bt.Int32s(0)
			if err != nil {
				return err
			}
			names, _ := bt.Strings(1)
			prints, _ := bt.Strings(2)
			for i := range bt.Len() {
				buf = strconv.AppendInt(buf[:0], int64(ids[i]), 10)
				buf = append(append(buf, names.Value(i)...), prints.Value(i)...)
				rows++
			}
			return nil
		})
		if err != nil || rows != 1000000 {
			b.Fatalf("%d rows: %v", rows, err)
		}
	}
}
