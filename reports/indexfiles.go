package reports

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/store"
)

// WriteIndex writes index/: xref, master_index and history, each as Parquet
// and CSV, readable by analysts only.
func WriteIndex(ctx context.Context, db *store.DB, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	// xref and master_index are made in the files' order (master_id, then
	// rid: (source_id, local_id) as one integer), and are written as they
	// are; history grows from night to night and is sorted here.
	files := []struct {
		name, query string
		sorted      bool
	}{
		{"xref", `SELECT master_id, source_id, local_id, link_method, round(match_weight, 3) AS match_weight, withheld_reason FROM xref`, true},
		{"master_index", `SELECT * FROM master_index`, true},
		{"history", `SELECT run_id, master_id, event, other_id, reason FROM history ORDER BY run_id, master_id, event`, false},
	}
	var steps []store.Step
	for _, f := range files {
		pq, csv := filepath.Join(dir, f.name+".parquet"), filepath.Join(dir, f.name+".csv")
		steps = append(steps, store.Step{Name: f.name + " files", Go: func(ctx context.Context) error {
			write := db.CopyParquetAndCSV
			if f.sorted {
				write = db.CopyScanParquetAndCSV
			}
			if err := write(ctx, f.query, pq, csv); err != nil {
				return err
			}
			for _, p := range []string{pq, csv} {
				if err := os.Chmod(p, FileMode); err != nil {
					return err
				}
			}
			return nil
		}})
	}
	return db.RunSteps(ctx, "index", steps...)
}

// WriteReviewQueue writes exceptions/review_queue.csv: each pair in the
// review band, strongest first, with both records' values and every
// comparison's level and weight — the evidence an analyst decides on.
func WriteReviewQueue(ctx context.Context, db *store.DB, m *linkage.Model, path string) error {
	var cols []string
	for c, cmp := range m.Comparisons {
		labels := make([]string, len(cmp.Levels))
		weights := make([]string, len(cmp.Levels))
		for l, lv := range cmp.Levels {
			labels[l] = store.QuoteString(lv.Label)
			weights[l] = fmt.Sprintf("%.2f", m.Weight(c, l))
		}
		g := "s." + linkage.LevelColumn(cmp)
		cols = append(cols, fmt.Sprintf("[%s][%s + 1] AS %s_level, [%s][%s + 1] AS %s_weight",
			strings.Join(labels, ", "), g, cmp.Name, strings.Join(weights, ", "), g, cmp.Name))
	}
	var kinds []string // the analysts' order of the kinds
	for _, k := range store.ReviewKinds {
		kinds = append(kinds, k.SQL())
	}
	var values []string
	for _, v := range []string{"nhs_number", "given_name", "middle_names", "family_name", "dob", "sex", "postcode", "address_key"} {
		values = append(values, fmt.Sprintf("l.%s AS left_%s, r.%s AS right_%s", v, v, v, v))
	}
	q := fmt.Sprintf(`SELECT s.kind, l.source_id AS left_source_id, l.local_id AS left_local_id,
			r.source_id AS right_source_id, r.local_id AS right_local_id,
			round(s.weight, 2) AS match_weight, round(1 / (1 + pow(2, -s.weight)), 4) AS probability, s.guard,
			%s, %s
		FROM review_pairs s JOIN (SELECT * FROM prep UNION ALL BY NAME SELECT * FROM %s) l ON l.rid = s.rid_l JOIN prep r ON r.rid = s.rid_r
		ORDER BY list_position([%s], s.kind), s.weight DESC NULLS LAST, l.source_id, l.local_id, r.source_id, r.local_id`,
		strings.Join(values, ", "), strings.Join(cols, ", "), linkage.OptoutPrep, strings.Join(kinds, ", "))
	return writeCSV(ctx, db, q, path)
}
