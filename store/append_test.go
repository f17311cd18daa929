package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "t.duckdb"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// schemaDB is a test database with a night's schema, the records' extra
// fields extras.
func schemaDB(t testing.TB, extras ...string) *DB {
	t.Helper()
	db := testDB(t)
	if err := db.CreateSchema(context.Background(), extras); err != nil {
		t.Fatal(err)
	}
	return db
}

// Every column type the stages append, and NULLs, arrive as they were given.
func TestAppenderRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (s VARCHAR, b BIGINT, i INTEGER, h SMALLINT, y TINYINT, d DOUBLE, ok BOOLEAN, day DATE, ts TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	ts := time.Date(2026, 11, 24, 2, 15, 0, 123456000, time.UTC)
	n := 150_000
	if err := db.AppendEach(ctx, "t", n, func(i int) []driver.Value {
		if i%7 == 3 {
			return []driver.Value{nil, nil, nil, nil, nil, nil, nil, nil, nil}
		}
		return []driver.Value{"row" + strings.Repeat("é", i%3), int64(i), int32(-i), int16(i % 1000), int8(i % 100), float64(i) / 2, i%2 == 0, day.AddDate(0, 0, i%400), ts}
	}); err != nil {
		t.Fatal(err)
	}
	var rows, nulls, sumB int64
	var maxDay time.Time
	var check bool
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (s IS NULL AND b IS NULL AND day IS NULL AND ts IS NULL), sum(b), max(day),
		bool_and(s = 'row' || repeat('é', (b % 3)::INTEGER) AND i = -b AND h = b % 1000 AND y = b % 100 AND d = b / 2 AND ok = (b % 2 = 0)
			AND day = DATE '2026-11-24' + (b % 400)::INTEGER AND ts = TIMESTAMP '2026-11-24 02:15:00.123456')
		FROM t`).Scan(&rows, &nulls, &sumB, &maxDay, &check); err != nil {
		t.Fatal(err)
	}
	var wantSum, wantNulls int64
	for i := 0; i < n; i++ {
		if i%7 == 3 {
			wantNulls++
		} else {
			wantSum += int64(i)
		}
	}
	if rows != int64(n) || nulls != wantNulls || sumB != wantSum || !check || !maxDay.Equal(day.AddDate(0, 0, 399)) {
		t.Errorf("rows %d nulls %d sum %d max day %v values ok %v; want %d, %d, %d", rows, nulls, sumB, maxDay, check, n, wantNulls, wantSum)
	}
}

// A value of the wrong type is an error, and so is a table that is not there.
func TestAppenderRejectsWrongType(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (s VARCHAR, b BIGINT)`); err != nil {
		t.Fatal(err)
	}
	a, err := db.NewAppender(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Append("ok", int64(1)); err != nil {
		t.Fatal(err)
	}
	if err := a.Append("bad", "not a number"); err == nil {
		t.Error("a string appended to a BIGINT column")
	}
	a.Close()
	if _, err := db.NewAppender(ctx, "no_such_table"); err == nil {
		t.Error("appending to a missing table")
	}
}

func testRecord() *Record {
	d := time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	yes := true
	return &Record{SourceID: "src", SourceKind: "gp", LocalID: "L0000001", File: "f.csv", Line: 1, NHSNumber: "9434765919",
		NHSNumberStatus: "01", NHSVerified: true, Title: "MR", GivenName: "ROBERT", MiddleNames: "JAMES", FamilyName: "SMITH",
		GivenDisplay: "Robert", FamilyDisplay: "Smith", DateOfBirth: d, Sex: "male", Address: "12 LEE HIGH ROAD",
		AddressDisplay: "12 Lee High Road, London", Postcode: "SE13 6XY", PostcodeKind: "standard", Consent: &yes,
		GivenPhonetic: "RABAD", FamilyPhonetic: "SNAT", AddressKey: "12 HIGH LEE ROAD", AddressNumber: "12", Updated: d,
		Extra: []string{"x1"}}
}

// A Record goes into the records table and comes back field by field, by
// column name: the schema and the row order are one definition.
func TestRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := schemaDB(t, "ref")
	r := testRecord()
	r.DateOfDeath = time.Date(1931, 12, 31, 0, 0, 0, 0, time.UTC) // before 1970: days count back from the epoch
	w, err := db.NewRecordWriter(ctx, []string{"ref"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var local, nhs, given, prev, pc, extra string
	var prevNull, consent bool
	var dob, dod time.Time
	err = db.QueryRowContext(ctx, `SELECT local_id, nhs_number, given_name, coalesce(previous_family_name, ''), previous_family_name IS NULL,
		postcode, consent, date_of_birth, date_of_death, extra_ref FROM records`).Scan(&local, &nhs, &given, &prev, &prevNull, &pc, &consent, &dob, &dod, &extra)
	if err != nil {
		t.Fatal(err)
	}
	if local != r.LocalID || nhs != r.NHSNumber || given != r.GivenName || !prevNull || pc != r.Postcode || !consent ||
		!dob.Equal(r.DateOfBirth) || !dod.Equal(r.DateOfDeath) || extra != "x1" {
		t.Errorf("read back %q %q %q %q/%v %q %v %v %v %q", local, nhs, given, prev, prevNull, pc, consent, dob, dod, extra)
	}
}

// The cost of writing a million records (31 columns) where a run puts
// them, in StageCatalog.
func BenchmarkWriteRecords(b *testing.B) {
	ctx := context.Background()
	db := testDB(b)
	if err := db.CreateSchema(ctx, nil); err != nil {
		b.Fatal(err)
	}
	r := testRecord()
	for b.Loop() {
		w, err := db.NewRecordWriter(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for range 1_000_000 {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// Each source's records are counted before the records are dropped, and the
// counts outlive them.
func TestCountThenDropRecords(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	if err := db.CreateSchema(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w, err := db.NewRecordWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, src := range []string{"gp", "gp", "asc"} {
		r := testRecord()
		r.SourceID, r.LocalID, r.Deleted = src, fmt.Sprint(i), i == 1
		if src == "asc" {
			r.NHSNumber, r.NHSVerified = "", false
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	counts, err := db.CountRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []RecordCounts{{"asc", 1, 0, 0, 0}, {"gp", 2, 1, 2, 2}}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("counts %+v, want %+v", counts, want)
	}
	if err := db.DropRecords(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "SELECT * FROM records"); err == nil {
		t.Error("the records are still there")
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT sum(records) FROM record_counts").Scan(&n); err != nil || n != 3 {
		t.Errorf("record_counts after the drop: %d, %v", n, err)
	}
}

// Writers sharing a load, each ending in a short batch: every record
// arrives once with its values, and every insert but the last is a whole
// row group: the short batches are gathered until they make one.
func TestRecordLoadWriters(t *testing.T) {
	ctx := context.Background()
	db := schemaDB(t, "ref")
	load, err := db.NewRecordLoad(ctx, []string{"ref"})
	if err != nil {
		t.Fatal(err)
	}
	// 50,000 + 60,000 short rows stay kept; the third writer's 70,000 make
	// a row group of the three and keep the rest; the fourth writes a whole
	// row group and a short batch.
	sizes := []int{50_000, 60_000, 70_000, recordBatchRows + 1_000}
	total := 0
	for w, n := range sizes {
		wr := load.NewWriter()
		for i := range n {
			r := testRecord()
			r.SourceID, r.LocalID, r.Line, r.Extra = fmt.Sprintf("s%d", w), fmt.Sprint(i), int64(i+1), []string{fmt.Sprintf("x%d-%d", w, i)}
			if err := wr.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := wr.Close(); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if err := load.Close(); err != nil {
		t.Fatal(err)
	}
	var rows, distinct, wrong int
	err = db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT (source_id, local_id)),
		count(*) FILTER (extra_ref <> 'x' || substr(source_id, 2) || '-' || local_id OR line <> local_id::BIGINT + 1 OR given_name <> 'ROBERT')
		FROM records`).Scan(&rows, &distinct, &wrong)
	if err != nil {
		t.Fatal(err)
	}
	if rows != total || distinct != total || wrong != 0 {
		t.Errorf("%d rows, %d distinct, %d with a wrong value; want %d, %d, 0", rows, distinct, wrong, total, total)
	}
	want := []int64{recordBatchRows, recordBatchRows, int64(total - 2*recordBatchRows)}
	if !reflect.DeepEqual(load.inserted, want) {
		t.Errorf("inserts of %v rows, want %v", load.inserted, want)
	}
}

// A record's fingerprint is of its standardised fields: where it was read
// (file, line) does not move it, any value does, an extra field's too.
func TestRecordPrints(t *testing.T) {
	ctx := context.Background()
	db := schemaDB(t, "ref")
	w, err := db.NewRecordWriter(ctx, []string{"ref"})
	if err != nil {
		t.Fatal(err)
	}
	variants := []func(r *Record){
		func(r *Record) {},
		func(r *Record) { r.File, r.Line = "other.csv", 99 },
		func(r *Record) { r.Extra = []string{"x2"} },
		func(r *Record) { r.Postcode = "" },
		func(r *Record) { r.Deleted = true },
	}
	for i, change := range variants {
		r := testRecord()
		change(r)
		r.LocalID = fmt.Sprint(i)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.PrintRecords(ctx, []string{"ref"}); err != nil {
		t.Fatal(err)
	}
	var prints []uint64
	rows, err := db.QueryContext(ctx, "SELECT print FROM record_prints ORDER BY local_id::INTEGER")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p uint64
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		prints = append(prints, p)
	}
	if len(prints) != len(variants) {
		t.Fatalf("%d prints", len(prints))
	}
	if prints[0] != prints[1] {
		t.Error("the file and line changed the fingerprint")
	}
	for i := 2; i < len(prints); i++ {
		if prints[i] == prints[0] {
			t.Errorf("variant %d has the original's fingerprint", i)
		}
	}
}

// A previous night's file is attached read only under an alias, asked which
// tables it holds, and let go of: the alias is free again after.
func TestAttachReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	prev, err := Open(filepath.Join(dir, "prev.duckdb"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prev.ExecContext(ctx, "CREATE TABLE xref AS SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	prev.Close()
	db := testDB(t)
	for range 2 {
		detach, err := db.AttachReadOnly(ctx, filepath.Join(dir, "prev.duckdb"), "prev")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := db.HasTables(ctx, "prev", "xref"); !ok || err != nil {
			t.Errorf("HasTables(xref) = %v, %v", ok, err)
		}
		if ok, err := db.HasTables(ctx, "prev", "xref", "history"); ok || err != nil {
			t.Errorf("HasTables(xref, history) = %v, %v: there is no history", ok, err)
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE prev.y (a INTEGER)"); err == nil {
			t.Error("wrote to a file attached read only")
		}
		detach()
	}
}
