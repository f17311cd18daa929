package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
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

// firstBatchRows is the room a writer's first batch starts with.
const firstBatchRows = 4096

// RecordLoad is one load's way into the records table: any number of
// RecordWriters, one per goroutine, gather records in Arrow columns, and
// the load inserts their batches one at a time on one connection, each a
// whole row group. DuckDB's row Appender took a cgo call per cell and a
// boxed value per field (a third of the load stage's CPU at two million
// records; see docs/BENCHMARKS.md).
//
// Why whole row groups only: a source's last batch is short, and an insert
// that starts in a table's unfinished row group and runs past its end was
// measured at 0.6 to 2.0 s (81,791 rows, against 0.2 s for a whole row
// group), about a quarter of the load stage's wall time at two million
// records. So the writers' short last batches are kept back and gathered
// here; whenever they add up to a row group they are inserted as one, and
// Close inserts what remains, the table's only short row group.
type RecordLoad struct {
	ctx    context.Context
	table  string // the records' table (recordsTable), unless NewRecordLoadInto named another
	schema *arrow.Schema
	extras int

	mu   sync.Mutex // held while inserting: one insert at a time
	conn *sql.Conn
	// short are the writers' last batches, not yet inserted; shortRows
	// their rows.
	short     []arrow.RecordBatch
	shortRows int64
	// inserted is each insert's rows, in order.
	inserted []int64
}

// NewRecordLoad starts a load of records whose Extra holds the values of
// extraFields, the configuration's extra fields as given to CreateSchema.
func (db *DB) NewRecordLoad(ctx context.Context, extraFields []string) (*RecordLoad, error) {
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
	return &RecordLoad{ctx: ctx, table: db.RecordsTable(), conn: conn, schema: arrow.NewSchema(fields, nil), extras: len(extraFields)}, nil
}

// NewRecordLoadInto starts a load of records, without extra fields, into
// another table with the records table's columns (the opt-out forms are
// read as records and matched to persons, never linked or published).
func (db *DB) NewRecordLoadInto(ctx context.Context, table string) (*RecordLoad, error) {
	l, err := db.NewRecordLoad(ctx, nil)
	if err != nil {
		return nil, err
	}
	l.table = table
	return l, nil
}

// insert inserts rec into the records table.
func (l *RecordLoad) insert(rec arrow.RecordBatch) error {
	l.inserted = append(l.inserted, rec.NumRows())
	return l.conn.Raw(func(dc any) error {
		return insertArrow(l.ctx, dc.(driver.Conn), "INSERT INTO "+l.table+" BY NAME", l.schema, rec)
	})
}

// full inserts a writer's whole batch.
func (l *RecordLoad) full(rec arrow.RecordBatch) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.insert(rec)
}

// keep takes a writer's short last batch (and a reference to it), and
// inserts a row group whenever the kept batches add up to one.
func (l *RecordLoad) keep(rec arrow.RecordBatch) error {
	rec.Retain()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.short = append(l.short, rec)
	l.shortRows += rec.NumRows()
	if l.shortRows < recordBatchRows {
		return nil
	}
	all, err := l.joinShort()
	if err != nil {
		return err
	}
	defer all.Release()
	head, tail := all.NewSlice(0, recordBatchRows), all.NewSlice(recordBatchRows, all.NumRows())
	defer head.Release()
	l.short, l.shortRows = []arrow.RecordBatch{tail}, tail.NumRows()
	return l.insert(head)
}

// joinShort makes the kept batches one and releases them.
func (l *RecordLoad) joinShort() (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, len(l.schema.Fields()))
	for c := range cols {
		parts := make([]arrow.Array, len(l.short))
		for i, rec := range l.short {
			parts[i] = rec.Column(c)
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			for _, done := range cols[:c] {
				done.Release()
			}
			return nil, err
		}
		cols[c] = a
	}
	rec := array.NewRecordBatch(l.schema, cols, l.shortRows)
	for _, a := range cols {
		a.Release()
	}
	l.releaseShort()
	return rec, nil
}

func (l *RecordLoad) releaseShort() {
	for _, rec := range l.short {
		rec.Release()
	}
	l.short, l.shortRows = nil, 0
}

// Close inserts the kept batches and releases the connection. Every writer
// must be closed first.
func (l *RecordLoad) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if l.shortRows > 0 {
		var rec arrow.RecordBatch
		if rec, err = l.joinShort(); err == nil {
			err = l.insert(rec)
			rec.Release()
		}
	}
	l.releaseShort()
	if cerr := l.conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// RecordWriter gathers Records for a RecordLoad. It is not safe for
// concurrent use; open one per goroutine.
type RecordWriter struct {
	load *RecordLoad
	// own is set when the writer made its load (NewRecordWriter), and
	// closes it.
	own bool
	b   *array.RecordBuilder
	n   int
	// dataLen is each string column's bytes in the last whole batch: the
	// next batch's buffers are reserved at that size, where growing them by
	// doubling copied each one about twice. It is nil until the writer has
	// handed over a whole batch.
	dataLen []int
}

// NewRecordWriter starts writing records alone: a RecordLoad with one
// writer, closed with it.
func (db *DB) NewRecordWriter(ctx context.Context, extraFields []string) (*RecordWriter, error) {
	l, err := db.NewRecordLoad(ctx, extraFields)
	if err != nil {
		return nil, err
	}
	w := l.NewWriter()
	w.own = true
	return w, nil
}

// NewWriter starts a writer of the load's records.
func (l *RecordLoad) NewWriter() *RecordWriter {
	w := &RecordWriter{load: l, b: array.NewRecordBuilder(memory.NewGoAllocator(), l.schema)}
	w.reserve()
	return w
}

// reserve makes room for a batch: recordBatchRows values in every column,
// and each string column's bytes of the last batch. A writer's first batch
// starts at firstBatchRows and grows as rows come: reserving a whole row
// group up front zeroed about 20 MB per writer, 45 ms of a 5,000-record
// night's 1.3 s (FEBRL3), where a big source pays for the growth once.
func (w *RecordWriter) reserve() {
	if w.dataLen == nil {
		w.b.Reserve(firstBatchRows)
		return
	}
	w.b.Reserve(recordBatchRows)
	for i, f := range w.b.Fields() {
		if s, ok := f.(*array.StringBuilder); ok && w.dataLen[i] > 0 {
			s.ReserveData(w.dataLen[i] + w.dataLen[i]/8)
		}
	}
}

// Write adds one record; it reaches the table by the next batch or the
// load's Close.
func (w *RecordWriter) Write(r *Record) error {
	for i, f := range recordFields {
		f.put(r, w.b.Field(i))
	}
	for i := range w.load.extras {
		var v string
		if i < len(r.Extra) {
			v = r.Extra[i]
		}
		putString(w.b.Field(len(recordFields)+i), v)
	}
	if w.n++; w.n == recordBatchRows {
		w.n = 0
		if w.dataLen == nil {
			w.dataLen = make([]int, len(w.b.Fields()))
		}
		for i, f := range w.b.Fields() {
			if s, ok := f.(*array.StringBuilder); ok {
				w.dataLen[i] = s.DataLen()
			}
		}
		rec := w.b.NewRecordBatch()
		defer rec.Release()
		w.reserve()
		return w.load.full(rec)
	}
	return nil
}

// Close hands the last batch to the load (and closes the load, if the
// writer made it).
func (w *RecordWriter) Close() error {
	var err error
	if w.n > 0 {
		rec := w.b.NewRecordBatch()
		err = w.load.keep(rec)
		rec.Release()
		w.n = 0
	}
	w.b.Release()
	if w.own {
		if cerr := w.load.Close(); err == nil {
			err = cerr
		}
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
