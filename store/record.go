package store

import (
	"database/sql/driver"
	"time"
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

// recordFields are the records table's columns and how each is read from a
// Record: the one definition of both the schema and the row order.
var recordFields = []struct {
	Column
	value func(*Record) driver.Value
}{
	{Column{"source_id", "VARCHAR NOT NULL"}, func(r *Record) driver.Value { return r.SourceID }},
	{Column{"source_kind", "VARCHAR NOT NULL"}, func(r *Record) driver.Value { return r.SourceKind }},
	{Column{"local_id", "VARCHAR NOT NULL"}, func(r *Record) driver.Value { return r.LocalID }},
	{Column{"file", "VARCHAR NOT NULL"}, func(r *Record) driver.Value { return r.File }},
	{Column{"line", "BIGINT NOT NULL"}, func(r *Record) driver.Value { return r.Line }},
	{Column{"nhs_number", "VARCHAR"}, func(r *Record) driver.Value { return text(r.NHSNumber) }},
	{Column{"nhs_number_status", "VARCHAR"}, func(r *Record) driver.Value { return text(r.NHSNumberStatus) }},
	{Column{"nhs_verified", "BOOLEAN NOT NULL"}, func(r *Record) driver.Value { return r.NHSVerified }},
	{Column{"title", "VARCHAR"}, func(r *Record) driver.Value { return text(r.Title) }},
	{Column{"given_name", "VARCHAR"}, func(r *Record) driver.Value { return text(r.GivenName) }},
	{Column{"middle_names", "VARCHAR"}, func(r *Record) driver.Value { return text(r.MiddleNames) }},
	{Column{"family_name", "VARCHAR"}, func(r *Record) driver.Value { return text(r.FamilyName) }},
	{Column{"previous_family_name", "VARCHAR"}, func(r *Record) driver.Value { return text(r.PreviousFamily) }},
	{Column{"given_name_display", "VARCHAR"}, func(r *Record) driver.Value { return text(r.GivenDisplay) }},
	{Column{"family_name_display", "VARCHAR"}, func(r *Record) driver.Value { return text(r.FamilyDisplay) }},
	{Column{"date_of_birth", "DATE"}, func(r *Record) driver.Value { return date(r.DateOfBirth) }},
	{Column{"sex", "VARCHAR"}, func(r *Record) driver.Value { return text(r.Sex) }},
	{Column{"address", "VARCHAR"}, func(r *Record) driver.Value { return text(r.Address) }},
	{Column{"address_display", "VARCHAR"}, func(r *Record) driver.Value { return text(r.AddressDisplay) }},
	{Column{"postcode", "VARCHAR"}, func(r *Record) driver.Value { return text(r.Postcode) }},
	{Column{"postcode_kind", "VARCHAR"}, func(r *Record) driver.Value { return text(r.PostcodeKind) }},
	{Column{"sensitive", "BOOLEAN NOT NULL"}, func(r *Record) driver.Value { return r.Sensitive }},
	{Column{"consent", "BOOLEAN"}, func(r *Record) driver.Value {
		if r.Consent == nil {
			return nil
		}
		return *r.Consent
	}},
	{Column{"date_of_death", "DATE"}, func(r *Record) driver.Value { return date(r.DateOfDeath) }},
	{Column{"deleted", "BOOLEAN NOT NULL"}, func(r *Record) driver.Value { return r.Deleted }},
	{Column{"given_phonetic", "VARCHAR"}, func(r *Record) driver.Value { return text(r.GivenPhonetic) }},
	{Column{"family_phonetic", "VARCHAR"}, func(r *Record) driver.Value { return text(r.FamilyPhonetic) }},
	{Column{"nhs_test_number", "BOOLEAN NOT NULL"}, func(r *Record) driver.Value { return r.NHSTestNumber }},
	{Column{"address_key", "VARCHAR"}, func(r *Record) driver.Value { return text(r.AddressKey) }},
	{Column{"address_number", "VARCHAR"}, func(r *Record) driver.Value { return text(r.AddressNumber) }},
	{Column{"updated", "DATE"}, func(r *Record) driver.Value { return date(r.Updated) }},
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

// Values is the record as a row of the records table with extras extra
// fields, written into dst (which it grows as needed) and returned.
func (r *Record) Values(dst []driver.Value, extras int) []driver.Value {
	dst = dst[:0]
	for _, f := range recordFields {
		dst = append(dst, f.value(r))
	}
	for i := range extras {
		var v driver.Value
		if i < len(r.Extra) {
			v = text(r.Extra[i])
		}
		dst = append(dst, v)
	}
	return dst
}

func text(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

func date(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	return t
}
