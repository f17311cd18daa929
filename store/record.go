package store

import (
	"context"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Record is one loaded source record, standardised: a row of the records
// table. An empty string or a zero time is NULL.
type Record struct {
	SourceID, SourceKind, LocalID string
	File                          string // base name of the file the row came from
	Line                          int64  // physical line where the record starts; header is line 1
	NHSNumber                     string // a valid, usable number
	NHSNumberStatus               string // "01".."08"
	NHSVerified                   bool   // valid number with status 01
	Title, GivenName, MiddleNames string
	FamilyName, PreviousFamily    string
	GivenDisplay, FamilyDisplay   string // as the source wrote them, trimmed
	DateOfBirth                   time.Time
	Sex                           string // male | female | other | unknown
	Address                       string // standardised address lines, joined
	AddressDisplay                string // as written, lines joined with ", "
	Postcode                      string // normalised; empty when missing or invalid
	PostcodeKind                  string // standard | pseudo | bfpo | invalid
	Sensitive                     bool
	Consent                       *bool // nil: no answer recorded
	DateOfDeath                   time.Time
	Deleted                       bool
	GivenPhonetic, FamilyPhonetic string // rules.Phonetic, for blocking
	NHSTestNumber                 bool   // a valid 9xxxxxxxxx test number: a test record, not indexed
	AddressKey                    string // rules.AddressKey: the address's distinct words, sorted
	AddressNumber                 string // its first word with a digit
	Updated                       time.Time
	Extra                         []string // extra fields, in the configuration's order
}

// recordField is a column of the records table and how a Record fills it:
// the one definition of the schema, the column order and each value.
type recordField struct {
	Column
	typ arrow.DataType
	put func(*Record, array.Builder)
}

// varchar is a VARCHAR column in which "" is NULL (required: NOT NULL).
func varchar(name string, required bool, v func(*Record) string) recordField {
	typ := "VARCHAR"
	if required {
		typ += " NOT NULL"
	}
	return recordField{Column{name, typ}, arrow.BinaryTypes.String, func(r *Record, b array.Builder) {
		putString(b, v(r))
	}}
}

func putString(b array.Builder, s string) {
	if s == "" {
		b.AppendNull()
		return
	}
	b.(*array.StringBuilder).Append(s)
}

// boolean is a BOOLEAN NOT NULL column.
func boolean(name string, v func(*Record) bool) recordField {
	return recordField{Column{name, "BOOLEAN NOT NULL"}, arrow.FixedWidthTypes.Boolean, func(r *Record, b array.Builder) {
		b.(*array.BooleanBuilder).Append(v(r))
	}}
}

// date is a DATE column in which the zero time is NULL.
func date(name string, v func(*Record) time.Time) recordField {
	return recordField{Column{name, "DATE"}, arrow.FixedWidthTypes.Date32, func(r *Record, b array.Builder) {
		t := v(r)
		if t.IsZero() {
			b.AppendNull()
			return
		}
		b.(*array.Date32Builder).Append(arrow.Date32(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400))
	}}
}

var recordFields = []recordField{
	varchar("source_id", true, func(r *Record) string { return r.SourceID }),
	varchar("source_kind", true, func(r *Record) string { return r.SourceKind }),
	varchar("local_id", true, func(r *Record) string { return r.LocalID }),
	varchar("file", true, func(r *Record) string { return r.File }),
	{Column{"line", "BIGINT NOT NULL"}, arrow.PrimitiveTypes.Int64, func(r *Record, b array.Builder) {
		b.(*array.Int64Builder).Append(r.Line)
	}},
	varchar("nhs_number", false, func(r *Record) string { return r.NHSNumber }),
	varchar("nhs_number_status", false, func(r *Record) string { return r.NHSNumberStatus }),
	boolean("nhs_verified", func(r *Record) bool { return r.NHSVerified }),
	varchar("title", false, func(r *Record) string { return r.Title }),
	varchar("given_name", false, func(r *Record) string { return r.GivenName }),
	varchar("middle_names", false, func(r *Record) string { return r.MiddleNames }),
	varchar("family_name", false, func(r *Record) string { return r.FamilyName }),
	varchar("previous_family_name", false, func(r *Record) string { return r.PreviousFamily }),
	varchar("given_name_display", false, func(r *Record) string { return r.GivenDisplay }),
	varchar("family_name_display", false, func(r *Record) string { return r.FamilyDisplay }),
	date("date_of_birth", func(r *Record) time.Time { return r.DateOfBirth }),
	varchar("sex", false, func(r *Record) string { return r.Sex }),
	varchar("address", false, func(r *Record) string { return r.Address }),
	varchar("address_display", false, func(r *Record) string { return r.AddressDisplay }),
	varchar("postcode", false, func(r *Record) string { return r.Postcode }),
	varchar("postcode_kind", false, func(r *Record) string { return r.PostcodeKind }),
	boolean("sensitive", func(r *Record) bool { return r.Sensitive }),
	{Column{"consent", "BOOLEAN"}, arrow.FixedWidthTypes.Boolean, func(r *Record, b array.Builder) {
		if r.Consent == nil {
			b.AppendNull()
			return
		}
		b.(*array.BooleanBuilder).Append(*r.Consent)
	}},
	date("date_of_death", func(r *Record) time.Time { return r.DateOfDeath }),
	boolean("deleted", func(r *Record) bool { return r.Deleted }),
	varchar("given_phonetic", false, func(r *Record) string { return r.GivenPhonetic }),
	varchar("family_phonetic", false, func(r *Record) string { return r.FamilyPhonetic }),
	boolean("nhs_test_number", func(r *Record) bool { return r.NHSTestNumber }),
	varchar("address_key", false, func(r *Record) string { return r.AddressKey }),
	varchar("address_number", false, func(r *Record) string { return r.AddressNumber }),
	date("updated", func(r *Record) time.Time { return r.Updated }),
}

// RecordColumns is the canonical records table, one row per loaded source
// record; extra fields follow as extra_<name> VARCHAR columns.
var RecordColumns = func() []Column {
	cols := make([]Column, len(recordFields))
	for i, f := range recordFields {
		cols[i] = f.Column
	}
	return cols
}()

// RecordPrintColumns is the `record_prints` table, kept in the state file
// from night to night: each loaded record's fingerprint, a hash of its
// standardised fields (every records column but its key and where it was
// read: a row that moves down its file is the same record), by which the
// next night tells new, changed, unchanged and gone records apart.
var RecordPrintColumns = []Column{
	{"source_id", "VARCHAR NOT NULL"},
	{"local_id", "VARCHAR NOT NULL"},
	{"print", "UBIGINT NOT NULL"},
}

// printExcluded are the records columns a fingerprint leaves out.
var printExcluded = map[string]bool{"source_id": true, "local_id": true, "file": true, "line": true}

// PrintRecords writes record_prints for tonight's records (whose extra
// fields are extraFields, as given to CreateSchema).
func (db *DB) PrintRecords(ctx context.Context, extraFields []string) error {
	var cols []string
	for _, c := range RecordColumns {
		if !printExcluded[c.Name] {
			cols = append(cols, QuoteIdent(c.Name))
		}
	}
	for _, f := range extraFields {
		cols = append(cols, QuoteIdent("extra_"+f))
	}
	// hash() of NULL is a constant: a value emptied is a change like any.
	q := createTable("record_prints", RecordPrintColumns) + ";\n" +
		"INSERT INTO record_prints SELECT source_id, local_id, hash(" + strings.Join(cols, ", ") + ") FROM records"
	_, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS record_prints;\n"+q)
	return err
}

// RecordChange is what happened to a record since the last night.
type RecordChange string

// The record changes, as record_changes.change holds them.
const (
	RecordNew       RecordChange = "new"       // not in last night's extract
	RecordChanged   RecordChange = "changed"   // there, with another fingerprint
	RecordUnchanged RecordChange = "unchanged" // there, the same
	RecordGone      RecordChange = "gone"      // in last night's extract, not tonight's
)

// RecordChangeColumns is the `record_changes` table, in StageCatalog: each
// record of tonight or last night and what happened to it.
var RecordChangeColumns = []Column{
	{"source_id", "VARCHAR NOT NULL"},
	{"local_id", "VARCHAR NOT NULL"},
	{"change", "VARCHAR NOT NULL"},
}

// CleanRecords names the table, in StageCatalog, of the records that are
// as they were last night — the same fields and the same flags set across
// records — with two columns, prev_rid (last night's rid) and rid
// (tonight's). An incremental night's blocking
// makes it (linkage); comparing carries these records' pairs, and
// clustering (mpi) keeps last night's persons where nothing they were made
// from changed. A full night has none.
const CleanRecords = "clean_records"
