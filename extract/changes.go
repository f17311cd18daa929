package extract

import (
	"context"
	"fmt"
	"sort"

	"github.com/selondon/carematch/store"
)

// Changes are one source's records compared with last night's.
type Changes struct {
	Source                        string
	New, Changed, Unchanged, Gone int64
}

// DetectChanges fingerprints tonight's loaded records (record_prints, kept
// in the state file) and compares them by (source_id, local_id) with the
// last committed night's (previousDB): each record of either night goes
// into record_changes (StageCatalog) as new, changed, unchanged or gone,
// and each source's counts are returned, in source order. On the first
// night every record is new. known is false when the last night has no
// fingerprints to compare with (a state written before they were kept):
// then record_changes is empty and nothing is counted.
func DetectChanges(ctx context.Context, db *store.DB, extraFields []string, previousDB string) (changes []Changes, known bool, err error) {
	if err := db.PrintRecords(ctx, extraFields); err != nil {
		return nil, false, fmt.Errorf("fingerprints: %w", err)
	}
	return CompareRecordPrints(ctx, db, previousDB)
}

// CompareRecordPrints is DetectChanges on fingerprints already written
// (tonight's record_prints in db): record_changes, and each source's
// counts. Linkage reads record_changes to know which records are unchanged;
// a test that blocks on a committed night's state makes it again so.
func CompareRecordPrints(ctx context.Context, db *store.DB, previousDB string) (changes []Changes, known bool, err error) {
	before := "(SELECT NULL::VARCHAR AS source_id, NULL::VARCHAR AS local_id, NULL::UBIGINT AS print WHERE false)"
	if previousDB != "" {
		detach, err := db.AttachReadOnly(ctx, previousDB, "prevprints")
		if err != nil {
			return nil, false, fmt.Errorf("last night's fingerprints: %w", err)
		}
		defer detach()
		if ok, err := db.HasTables(ctx, "prevprints", "record_prints"); err != nil || !ok {
			return nil, false, err
		}
		before = "prevprints.record_prints"
	}
	q := fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS
		SELECT coalesce(t.source_id, b.source_id) AS source_id, coalesce(t.local_id, b.local_id) AS local_id,
			CASE WHEN b.source_id IS NULL THEN '%s' WHEN t.source_id IS NULL THEN '%s'
			     WHEN t.print = b.print THEN '%s' ELSE '%s' END AS change
		FROM record_prints t FULL JOIN %s b ON b.source_id = t.source_id AND b.local_id = t.local_id`,
		store.Staged("record_changes"), store.RecordNew, store.RecordGone, store.RecordUnchanged, store.RecordChanged, before)
	if _, err := db.ExecContext(ctx, q); err != nil {
		return nil, false, fmt.Errorf("record changes: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT source_id, change, count(*) FROM record_changes GROUP BY ALL`)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	bySource := map[string]*Changes{}
	for rows.Next() {
		var src, change string
		var n int64
		if err := rows.Scan(&src, &change, &n); err != nil {
			return nil, false, err
		}
		c := bySource[src]
		if c == nil {
			c = &Changes{Source: src}
			bySource[src] = c
		}
		switch store.RecordChange(change) {
		case store.RecordNew:
			c.New = n
		case store.RecordChanged:
			c.Changed = n
		case store.RecordUnchanged:
			c.Unchanged = n
		case store.RecordGone:
			c.Gone = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	for _, c := range bySource {
		changes = append(changes, *c)
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Source < changes[j].Source })
	return changes, true, nil
}
