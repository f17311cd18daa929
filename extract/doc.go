// Package extract owns reading the organisations' extracts into DuckDB: the
// file formats (CSV with any delimiter, UTF-8 with or without a BOM or
// Windows-1252, LF or CRLF; Parquet; JSON lines), mapping each source's
// columns to carematch's canonical fields, applying the rules package to every
// value, and accounting for every row read: it is either appended to
// `records` (with its file and physical line) or recorded in `exceptions` as
// a rejected row with the reason.
//
// Why Go and not DuckDB's read_csv: the contract asks for the physical line
// of every rejected row, a reader that carries on after a stray quote, and
// one definition of each rule. A hand-written reader feeding
// store.RecordLoad (Arrow batches of a row group each, one writer a source,
// the sources' short last batches gathered into whole row groups) does all
// three and loads two million rows in about 11 s on two cores (see
// docs/BENCHMARKS.md). Parquet is decoded by DuckDB and checked in Go.
//
// Values are rejected one at a time: an impossible date of birth leaves the
// record loaded with no date and an `invalid_date_of_birth` exception. A row
// is rejected whole only when it cannot be read or identified: wrong field
// count, bad quoting, invalid UTF-8, no local_id, or a local_id already seen
// in the same extract, a row that repeats the header, a row with a NUL byte.
//
// Tables written: records (store.Record, in the in-memory stage catalog),
// exceptions (its kinds: rejected rows and invalid values, source_row_drop),
// source_files, optout_forms (the opt-out forms read as records, in the
// stage catalog: OptoutForms),
// record_prints (each record's fingerprint, kept for
// the next night) and record_changes (in the stage catalog: new, changed,
// unchanged, gone). Read: last night's source_files (row drops) and
// record_prints (changes).
// Files: load.go (a source, a file, its rows), record.go (a row into a
// store.Record), csv.go (the reader), source_csv.go, source_parquet.go and
// jsonl.go (the formats), optouts.go, drops.go, changes.go.
package extract
