package reports

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/selondon/carematch/store"
)

// FileMode is the mode of files analysts may read and the portal must not.
const FileMode = 0o640

// WriteExceptions writes exceptions/<kind>.csv for every kind (the known ones
// and any other found in the table) and exceptions/summary.csv (kind,
// source_id, count). It returns the count per kind.
func WriteExceptions(ctx context.Context, db *store.DB, dir string) (map[string]int64, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	rows, err := db.QueryContext(ctx, "SELECT kind, count(*) FROM exceptions GROUP BY kind")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			return nil, err
		}
		counts[k] = n
	}
	rows.Close()
	var kinds []string
	for _, k := range store.ExceptionKinds {
		kinds = append(kinds, string(k))
	}
	for k := range counts {
		if !contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, k := range kinds {
		q := fmt.Sprintf(`SELECT source_id, local_id, line, field, reason, value, file FROM exceptions
			WHERE kind = %s ORDER BY source_id, file, line, field, reason`, store.QuoteString(k))
		if err := writeCSV(ctx, db, q, filepath.Join(dir, k+".csv")); err != nil {
			return nil, err
		}
		counts[k] += 0
	}
	q := `SELECT kind, source_id, count(*) AS count FROM exceptions GROUP BY ALL ORDER BY kind, source_id`
	if err := writeCSV(ctx, db, q, filepath.Join(dir, "summary.csv")); err != nil {
		return nil, err
	}
	return counts, nil
}

func writeCSV(ctx context.Context, db *store.DB, query, path string) error {
	if err := db.CopyCSV(ctx, query, path); err != nil {
		return err
	}
	return os.Chmod(path, FileMode)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
