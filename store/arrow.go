package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/duckdb/duckdb-go/v2"
)

// Bulk reads and writes through Arrow. Reading a large result through
// database/sql converts it a value at a time (a cgo call per cell, an
// allocation per string); DuckDB's Arrow interface hands over whole
// columns of a chunk at once. Stages that read millions of rows into Go read
// them as Batches, and stages that hand millions of rows to DuckDB hand them
// over as columns (CreateTableFrom). Arrow stays inside store: the other
// packages see typed columns only.

// Batch is one chunk of a query's result (about 2,000 rows) as columns.
// Its columns are views of DuckDB's memory for the chunk, which is freed
// when the next chunk is fetched: a batch, its columns and the strings read
// from them are valid only during the callback that received it (copy a
// string with strings.Clone to keep it).
type Batch struct{ rec arrow.RecordBatch }

// Len is the number of rows.
func (b Batch) Len() int { return int(b.rec.NumRows()) }

func (b Batch) wrong(i int, want string) error {
	return fmt.Errorf("column %s is %s, not %s", b.rec.ColumnName(i), b.rec.Column(i).DataType(), want)
}

// StringColumn is a column of strings.
type StringColumn interface {
	IsNull(i int) bool
	Value(i int) string
}

// Strings is column i as strings.
func (b Batch) Strings(i int) (StringColumn, error) {
	switch c := b.rec.Column(i).(type) {
	case *array.String:
		return c, nil
	case *array.LargeString:
		return c, nil
	}
	return nil, b.wrong(i, "a string")
}

// Int32s is column i's values, which must be INTEGER and not NULL.
func (b Batch) Int32s(i int) ([]int32, error) {
	c, ok := b.rec.Column(i).(*array.Int32)
	if !ok || c.NullN() > 0 {
		return nil, b.wrong(i, "INTEGER without NULLs")
	}
	return c.Int32Values(), nil
}

// Int64s is column i's values, which must be BIGINT and not NULL.
func (b Batch) Int64s(i int) ([]int64, error) {
	c, ok := b.rec.Column(i).(*array.Int64)
	if !ok || c.NullN() > 0 {
		return nil, b.wrong(i, "BIGINT without NULLs")
	}
	return c.Int64Values(), nil
}

// Float64sOrNaN is column i's values, NULL as NaN; it must be DOUBLE.
func (b Batch) Float64sOrNaN(i int) ([]float64, error) {
	c, ok := b.rec.Column(i).(*array.Float64)
	if !ok {
		return nil, b.wrong(i, "DOUBLE")
	}
	out := slices.Clone(c.Float64Values())
	for j := range out {
		if c.IsNull(j) {
			out[j] = math.NaN()
		}
	}
	return out, nil
}

// Float64s is column i's values, which must be DOUBLE and not NULL.
func (b Batch) Float64s(i int) ([]float64, error) {
	c, ok := b.rec.Column(i).(*array.Float64)
	if !ok || c.NullN() > 0 {
		return nil, b.wrong(i, "DOUBLE without NULLs")
	}
	return c.Float64Values(), nil
}

// BoolColumn is a column of booleans.
type BoolColumn interface {
	IsNull(i int) bool
	Value(i int) bool
}

// Bools is column i as booleans.
func (b Batch) Bools(i int) (BoolColumn, error) {
	if c, ok := b.rec.Column(i).(*array.Boolean); ok {
		return c, nil
	}
	return nil, b.wrong(i, "a boolean")
}

// DateColumn is a column of dates.
type DateColumn struct{ c *array.Date32 }

// IsNull holds when row i has no date.
func (d DateColumn) IsNull(i int) bool { return d.c.IsNull(i) }

// Time is row i's date, at midnight UTC.
func (d DateColumn) Time(i int) time.Time { return d.c.Value(i).ToTime() }

// Dates is column i as dates.
func (b Batch) Dates(i int) (DateColumn, error) {
	if c, ok := b.rec.Column(i).(*array.Date32); ok {
		return DateColumn{c}, nil
	}
	return DateColumn{}, b.wrong(i, "a date")
}

// ListOfStrings is a column of lists of strings.
type ListOfStrings struct {
	offsets func(i int) (int64, int64)
	values  StringColumn
}

// Each calls f for each string of row i's list, in order.
func (l ListOfStrings) Each(i int, f func(string)) {
	start, end := l.offsets(i)
	for j := start; j < end; j++ {
		f(l.values.Value(int(j)))
	}
}

// Len is the length of row i's list (0 for NULL).
func (l ListOfStrings) Len(i int) int {
	start, end := l.offsets(i)
	return int(end - start)
}

// Lists is column i as lists of strings.
func (b Batch) Lists(i int) (ListOfStrings, error) {
	var l ListOfStrings
	var values arrow.Array
	switch c := b.rec.Column(i).(type) {
	case *array.List:
		l.offsets, values = c.ValueOffsets, c.ListValues()
	case *array.LargeList:
		l.offsets, values = c.ValueOffsets, c.ListValues()
	default:
		return l, b.wrong(i, "a list")
	}
	switch v := values.(type) {
	case *array.String:
		l.values = v
	case *array.LargeString:
		l.values = v
	default:
		return l, b.wrong(i, "a list of strings")
	}
	return l, nil
}

// QueryBatches runs query and calls f with each batch of its result, in
// order. A batch is valid only during f.
func (db *DB) QueryBatches(ctx context.Context, query string, f func(Batch) error) error {
	return db.withArrow(ctx, func(a *duckdb.Arrow, _ driver.Conn) error {
		rr, err := a.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rr.Release()
		for rr.Next() {
			if err := f(Batch{rr.RecordBatch()}); err != nil {
				return err
			}
		}
		return rr.Err()
	})
}

// QueryPairs runs query, whose rows are two record ids (INTEGER) and a
// weight (DOUBLE), and calls f with each row, in order: how clustering and
// scoring read millions of pairs without a value at a time.
func (db *DB) QueryPairs(ctx context.Context, query string, f func(l, r int32, w float64)) error {
	return db.QueryBatches(ctx, query, func(b Batch) error {
		l, errL := b.Int32s(0)
		r, errR := b.Int32s(1)
		w, errW := b.Float64s(2)
		if err := errors.Join(errL, errR, errW); err != nil {
			return err
		}
		for i := range b.Len() {
			f(l[i], r[i], w[i])
		}
		return nil
	})
}

// withArrow calls f with DuckDB's Arrow interface on a connection of its own.
func (db *DB) withArrow(ctx context.Context, f func(*duckdb.Arrow, driver.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		a, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		return f(a, dc.(driver.Conn))
	})
}

// BulkColumn is a named column of Go values for CreateTableFrom.
type BulkColumn struct {
	name  string
	typ   arrow.DataType
	null  bool
	build func(memory.Allocator) arrow.Array
	n     int
}

// builder is what an Arrow builder of T offers.
type builder[T any] interface {
	AppendValues(v []T, valid []bool)
	NewArray() arrow.Array
	Release()
}

// column is a BulkColumn of v built by newBuilder; valid, if set, says
// which values are not NULL.
func column[T any, B builder[T]](name string, typ arrow.DataType, v []T, valid func() []bool, newBuilder func(memory.Allocator) B) BulkColumn {
	return BulkColumn{name: name, typ: typ, null: valid != nil, n: len(v), build: func(mem memory.Allocator) arrow.Array {
		bl := newBuilder(mem)
		defer bl.Release()
		var ok []bool
		if valid != nil {
			ok = valid()
		}
		bl.AppendValues(v, ok)
		return bl.NewArray()
	}}
}

// Int32Column is a column of INTEGER.
func Int32Column(name string, v []int32) BulkColumn {
	return column(name, arrow.PrimitiveTypes.Int32, v, nil, array.NewInt32Builder)
}

// Int64Column is a column of BIGINT.
func Int64Column(name string, v []int64) BulkColumn {
	return column(name, arrow.PrimitiveTypes.Int64, v, nil, array.NewInt64Builder)
}

// StringColumnOf is a column of VARCHAR.
func StringColumnOf(name string, v []string) BulkColumn {
	return column(name, arrow.BinaryTypes.String, v, nil, array.NewStringBuilder)
}

// Float64Column is a column of DOUBLE in which NaN is NULL.
func Float64Column(name string, v []float64) BulkColumn {
	return column(name, arrow.PrimitiveTypes.Float64, v, func() []bool {
		valid := make([]bool, len(v))
		for i, x := range v {
			valid[i] = !math.IsNaN(x)
		}
		return valid
	}, array.NewFloat64Builder)
}

// CreateTableFrom creates (or replaces) table (a plain name, or a Staged
// one) from columns of equal length, handing them to DuckDB as Arrow arrays
// through a view it scans.
func (db *DB) CreateTableFrom(ctx context.Context, table string, cols ...BulkColumn) error {
	mem := memory.NewGoAllocator()
	fields := make([]arrow.Field, len(cols))
	arrays := make([]arrow.Array, len(cols))
	for i, c := range cols {
		if c.n != cols[0].n {
			return fmt.Errorf("%s: column %s has %d rows, %s %d", table, c.name, c.n, cols[0].name, cols[0].n)
		}
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: c.null}
		arrays[i] = c.build(mem)
		defer arrays[i].Release()
	}
	schema := arrow.NewSchema(fields, nil)
	var n int
	if len(cols) > 0 {
		n = cols[0].n
	}
	rec := array.NewRecordBatch(schema, arrays, int64(n))
	defer rec.Release()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		return insertArrow(ctx, dc.(driver.Conn), "CREATE OR REPLACE TABLE "+quoteName(table)+" AS", schema, rec)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	return nil
}

// quoteName quotes a table name that may be qualified by its catalog.
func quoteName(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}
