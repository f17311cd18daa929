package store

import (
	"context"
	"fmt"
	"strings"
)

// Column is one column of a table the stages share.
type Column struct {
	Name, Type string
}

// ExceptionColumns is the `exceptions` table: a row rejected at load, or a
// value rejected by a rule (the row itself is still loaded). Its columns are
// the exception CSVs' columns, after `kind`.
var ExceptionColumns = []Column{
	{"kind", "VARCHAR NOT NULL"},
	{"source_id", "VARCHAR NOT NULL"},
	{"local_id", "VARCHAR"},
	{"line", "BIGINT"},
	{"field", "VARCHAR"},
	{"reason", "VARCHAR NOT NULL"},
	{"value", "VARCHAR"},
	{"file", "VARCHAR"},
}

// FileColumns is the `source_files` table: what was read from each file.
var FileColumns = []Column{
	{"source_id", "VARCHAR NOT NULL"},
	{"path", "VARCHAR NOT NULL"},
	{"bytes", "BIGINT NOT NULL"},
	{"sha256", "VARCHAR NOT NULL"},
	{"rows_read", "BIGINT NOT NULL"},
	{"rows_loaded", "BIGINT NOT NULL"},
	{"rows_rejected", "BIGINT NOT NULL"},
}

// StageCatalog is the in-memory catalog that holds the loaded records
// during a run, and the night's working tables that no later night or
// command reads (create them as Staged("name")). A night's records are read
// again from the extracts, never from the state database, and writing a
// million of them to the file cost 4 of a run's 60 s; in memory they cost
// nothing to keep. Writing a table to the file costs three to four times
// building it in memory (prep at two million records: 6.9 s against 1.6 s;
// master_index 2.1 s against 0.4 s), so only what the next night, explain,
// evaluate and review read goes there. Every connection searches the file's
// tables first, then the stage's, so a staged table, the records among
// them, is read by its plain name, and the file holds nothing that points
// into the stage.
const StageCatalog = "stage"

// Staged is the name to create a working table under in StageCatalog: it is
// read by its plain name, and it is gone when the run ends.
func Staged(table string) string { return StageCatalog + "." + table }

// CreateSchema creates the tables of one night's run: records in
// StageCatalog, or in their staging file (StageRecordsIn) with a view of
// them in StageCatalog (written with NewRecordLoad, read by their plain name
// like every staged table); exceptions and source_files in the file.
func (db *DB) CreateSchema(ctx context.Context, extraFields []string) error {
	cols := append([]Column(nil), RecordColumns...)
	for _, f := range extraFields {
		cols = append(cols, Column{"extra_" + f, "VARCHAR"})
	}
	stmts := []string{
		createTable(db.RecordsTable(), cols),
		createTable("exceptions", ExceptionColumns),
		createTable("source_files", FileColumns),
	}
	if db.recordsFile != "" { // read by its plain name, as a staged table is
		stmts = append(stmts, "CREATE OR REPLACE VIEW "+Staged("records")+" AS SELECT * FROM "+db.RecordsTable())
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create the schema: %w", err)
		}
	}
	return nil
}

func createTable(name string, cols []Column) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", name)
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", QuoteIdent(c.Name), c.Type)
	}
	b.WriteString(")")
	return b.String()
}

// RecordCounts are the loaded records of one source, counted.
type RecordCounts struct {
	Source                string
	Records, Deleted      int64
	ValidNHS, VerifiedNHS int64
}

// CountRecords counts each source's loaded records into the table
// record_counts (source_id, records, deleted, valid_nhs, verified_nhs), in
// StageCatalog, and returns them: what the manifest and the report say of
// the records once the records themselves are gone (DropRecords).
func (db *DB) CountRecords(ctx context.Context) ([]RecordCounts, error) {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE `+Staged("record_counts")+` AS
		SELECT source_id, count(*) AS records, count(*) FILTER (deleted) AS deleted, count(nhs_number) AS valid_nhs,
			count(*) FILTER (nhs_verified) AS verified_nhs
		FROM records GROUP BY source_id`); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT source_id, records, deleted, valid_nhs, verified_nhs FROM record_counts ORDER BY source_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RecordCounts
	for rows.Next() {
		var c RecordCounts
		if err := rows.Scan(&c.Source, &c.Records, &c.Deleted, &c.ValidNHS, &c.VerifiedNHS); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DropRecords frees the loaded records once linkage has made prep from
// them (prep keeps each record's file and line): the night's largest staged
// table, kept for nothing through the index and the portal.
func (db *DB) DropRecords(ctx context.Context) error {
	if db.recordsFile == "" {
		_, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+Staged("records"))
		return err
	}
	if _, err := db.ExecContext(ctx, "DROP VIEW IF EXISTS "+Staged("records")+"; DETACH "+recordsCatalog); err != nil {
		return err
	}
	if err := RemoveRecordsFile(db.recordsFile); err != nil {
		return err
	}
	db.recordsFile = ""
	return nil
}
