package store

import (
	"context"
	"fmt"
	"strings"
)

// AttachReadOnly attaches the database file at path, read only, as the
// catalog alias — a previous night's state, most often — and returns how to
// detach it. Detaching does not take the caller's context: a cancelled
// night must still let go of the file, or the next attach under the alias
// fails.
func (db *DB) AttachReadOnly(ctx context.Context, path, alias string) (detach func(), err error) {
	if _, err := db.ExecContext(ctx, fmt.Sprintf("ATTACH %s AS %s (READ_ONLY)", QuoteString(path), QuoteIdent(alias))); err != nil {
		return nil, fmt.Errorf("attach %s: %w", path, err)
	}
	return func() { db.ExecContext(context.Background(), "DETACH "+QuoteIdent(alias)) }, nil
}

// HasTables says whether the catalog alias holds every one of tables: a
// state written by an older carematch may lack some.
func (db *DB) HasTables(ctx context.Context, alias string, tables ...string) (bool, error) {
	quoted := make([]string, len(tables))
	for i, t := range tables {
		quoted[i] = QuoteString(t)
	}
	var n int
	err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(DISTINCT table_name) FROM duckdb_tables() WHERE database_name = %s AND table_name IN (%s)`,
		QuoteString(alias), strings.Join(quoted, ", "))).Scan(&n)
	return n == len(tables), err
}
