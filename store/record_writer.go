package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/duckdb/duckdb-go/v2"
)

// recordBatchRows is how many records a RecordWriter gathers before handing
// them to DuckDB: one of DuckDB's row groups (about 40 MB of columns). Half
// a row group was measured to cost more and more as the table grew: every
// second insert, the one that completes a row group, took 0.6 s, then 0.9,
// then 1.2 (an insert of a whole row group takes 0.15 s throughout).
const recordBatchRows = 122_880

// RecordWriter appends Records to the records table in StageCatalog. It
// gathers them in Arrow columns and inserts each batch in one statement:
// DuckDB's row Appender took a cgo call per cell and a boxed value per field
// (a third of the load stage's CPU at two million records; see
// docs/BENCHMARKS.md). It is not safe for concurrent use; open one per
// goroutine.
type RecordWriter struct {
	ctx    context.Context
	conn   *sql.Conn
	schema *arrow.Schema
	b      *array.RecordBuilder
	extras int
	n      int
	// dataLen is each string column's bytes in the last batch: the next
	// batch's buffers are reserved at that size, where growing them by
	// doubling copied each one about twice.
	dataLen []int
}

// NewRecordWriter starts writing records whose Extra holds the values of
// extraFields, the configuration's extra fields as given to CreateSchema.
func (db *DB) NewRecordWriter(ctx context.Context, extraFields []string) (*RecordWriter, error) {
	fields := make([]arrow.Field, 0, len(recordFields)+len(extraFields))
	for _, f := range recordFields {
		fields = append(fields, arrow.Field{Name: f.Name, Type: f.typ, Nullable: true})
	}
	for _, x := range extraFields {
		fields = append(fields, arrow.Field{Name: "extra_" + x, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	schema := arrow.NewSchema(fields, nil)
	w := &RecordWriter{ctx: ctx, conn: conn, schema: schema, extras: len(extraFields),
		b: array.NewRecordBuilder(memory.NewGoAllocator(), schema), dataLen: make([]int, len(fields))}
	w.reserve()
	return w, nil
}

// reserve makes room for a batch: recordBatchRows values in every column,
// and each string column's bytes of the last batch.
func (w *RecordWriter) reserve() {
	w.b.Reserve(recordBatchRows)
	for i, f := range w.b.Fields() {
		if s, ok := f.(*array.StringBuilder); ok && w.dataLen[i] > 0 {
			s.ReserveData(w.dataLen[i] + w.dataLen[i]/8)
		}
	}
}

// Write adds one record; it reaches the table by the next batch or Close.
func (w *RecordWriter) Write(r *Record) error {
	for i, f := range recordFields {
		f.put(r, w.b.Field(i))
	}
	for i := range w.extras {
		var v string
		if i < len(r.Extra) {
			v = r.Extra[i]
		}
		putString(w.b.Field(len(recordFields)+i), v)
	}
	if w.n++; w.n == recordBatchRows {
		return w.flush()
	}
	return nil
}

func (w *RecordWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	w.n = 0
	for i, f := range w.b.Fields() {
		if s, ok := f.(*array.StringBuilder); ok {
			w.dataLen[i] = s.DataLen()
		}
	}
	rec := w.b.NewRecordBatch()
	defer rec.Release()
	w.reserve()
	return w.conn.Raw(func(dc any) error {
		return insertArrow(w.ctx, dc.(driver.Conn), "INSERT INTO "+Staged("records")+" BY NAME", w.schema, rec)
	})
}

// Close inserts the last batch and releases the connection.
func (w *RecordWriter) Close() error {
	err := w.flush()
	w.b.Release()
	if cerr := w.conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

var arrowViews atomic.Int64

// insertArrow runs `<into> SELECT * FROM` a view of rec on the connection
// dc: the way Go columns reach DuckDB without a cgo call per value.
func insertArrow(ctx context.Context, dc driver.Conn, into string, schema *arrow.Schema, rec arrow.RecordBatch) error {
	rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer rr.Release()
	a, err := duckdb.NewArrowFromConn(dc)
	if err != nil {
		return err
	}
	// Views of Arrow data are named apart: two connections' registrations
	// were seen to collide on one name.
	view := fmt.Sprintf("arrow_in_%d", arrowViews.Add(1))
	release, err := a.RegisterView(rr, view)
	if err != nil {
		return err
	}
	defer release()
	_, err = dc.(driver.ExecerContext).ExecContext(ctx, fmt.Sprintf("%s SELECT * FROM %s; DROP VIEW %s", into, view, view), nil)
	return err
}
