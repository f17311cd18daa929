package extract

import (
	"context"
	"fmt"

	"github.com/selondon/carematch/store"
)

// CheckDrops compares each source's rows loaded tonight with the last
// committed night's (previousDB) and records a `source_row_drop` exception
// for a source that fell below minRatio of it — an extract cut short at
// 2 a.m., or one whose every row is rejected, looks like thousands of
// people leaving. It returns how many sources
// dropped. The first night, or a previous night without the table, checks
// nothing.
func CheckDrops(ctx context.Context, db *store.DB, previousDB string, minRatio float64) (int, error) {
	if previousDB == "" {
		return 0, nil
	}
	detach, err := db.AttachReadOnly(ctx, previousDB, "prevrows")
	if err != nil {
		return 0, fmt.Errorf("previous night's row counts: %w", err)
	}
	defer detach()
	q := fmt.Sprintf(`
		INSERT INTO exceptions
		WITH now AS (SELECT source_id, sum(rows_loaded) AS n FROM source_files GROUP BY 1),
		     before AS (SELECT source_id, sum(rows_loaded) AS n FROM prevrows.source_files GROUP BY 1)
		SELECT %s, b.source_id, NULL, NULL, NULL,
			'rows loaded fell from ' || b.n || ' last night to ' || coalesce(n.n, 0) || ' (' ||
			round(100.0 * coalesce(n.n, 0) / b.n, 1) || '%%, below the %.0f%% expected)', NULL, NULL
		FROM before b LEFT JOIN now n USING (source_id)
		WHERE coalesce(n.n, 0) < %g * b.n`, store.ExcRowDrop.SQL(), minRatio*100, minRatio)
	res, err := db.ExecContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("row drops: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
