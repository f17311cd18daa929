package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// recordsCatalog is the file the loaded records are staged in on a night
// too big to hold them in memory (StageRecordsIn).
const recordsCatalog = "records_file"

// StageRecordsIn makes CreateSchema stage the loaded records in a database
// file of their own at path, not in StageCatalog's memory, and DropRecords
// delete it. In memory the records are uncompressed — about 4 GiB at ten
// million records, most of the default memory limit — so every step beside
// them spilled; in a file DuckDB compresses each row group as it is written
// and can let it go from memory without spilling. A file of their own, not
// the state's: the state file would keep the dropped table's blocks as free
// space (0.8 GiB at ten million records). At two million records, where
// nothing spilled, compressing on loading made the night slower
// (docs/BENCHMARKS.md, the twenty-second session), hence RecordsInFile.
//
// A file left at path by a night that was killed is deleted first
// (RemoveRecordsFile). Call it before CreateSchema, on the handle the night
// keeps.
func (db *DB) StageRecordsIn(ctx context.Context, path string) error {
	if err := RemoveRecordsFile(path); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("records' staging file: %w", err)
	}
	if _, err := db.ExecContext(ctx, "ATTACH "+QuoteString(path)+" AS "+recordsCatalog); err != nil {
		return fmt.Errorf("records' staging file %s: %w", path, err)
	}
	db.recordsFile = path
	return nil
}

// RecordsTable is where the loaded records are written: the staging file's
// table, or StageCatalog's. Either is read as "records" (for the file's, a
// view); a statement that needs the table itself, its rowid, names this.
func (db *DB) RecordsTable() string {
	if db.recordsFile != "" {
		return recordsCatalog + ".records"
	}
	return Staged("records")
}

// RecordsInFile says whether a night whose extracts hold extractBytes
// should stage its records in a file (StageRecordsIn) under a memory limit
// of limit ("" or not a size: DuckDB's own, which is not bounded here): when
// the records in memory, about stagedPerExtractByte times the extracts,
// would take more than half the limit.
func RecordsInFile(extractBytes int64, limit string) bool {
	size, ok := parseSize(limit)
	if !ok {
		return false
	}
	return float64(extractBytes)*stagedPerExtractByte > float64(size)/2
}

// stagedPerExtractByte is about the memory the staged records take for each
// byte of the extracts they are read from: as loading 1.26 GiB of fixture
// extracts (ten million records) ended, the process held 4.5 GiB, nearly
// all of it the records — a 16-byte string header for every value, most
// values short or empty. An estimate from that, not a measure of the table.
const stagedPerExtractByte = 3.3

// RemoveRecordsFile deletes a records' staging file and its write-ahead
// log, if there: DropRecords's, and a night's first step, so that a file
// left by a night that was killed goes whether or not this night stages
// its records in one.
func RemoveRecordsFile(path string) error {
	for _, p := range []string{path, path + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("records' staging file: %w", err)
		}
	}
	return nil
}
