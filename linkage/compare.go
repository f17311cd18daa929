package linkage

import (
	"context"
	"fmt"
	"strings"

	"github.com/selondon/carematch/store"
)

// LevelColumn is the column of scores (and the gamma tables) holding a
// comparison's level for a pair.
func LevelColumn(c Comparison) string { return "g_" + c.Name }

// compare evaluates every comparison for every pair in from (rid_l, rid_r),
// into table to.
func compare(ctx context.Context, db *store.DB, comps []Comparison, from, to string) error {
	return compareWith(ctx, db, comps, "prep", from, to)
}

// compareWith is compare with the left records taken from table left (prep's
// columns): the opt-out forms are compared with records so.
func compareWith(ctx context.Context, db *store.DB, comps []Comparison, left, from, to string) error {
	none, err := noPairs(ctx, db, from)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	var cols strings.Builder
	for _, c := range comps {
		fmt.Fprintf(&cols, ", %s AS %s", levelSQL(c, none), LevelColumn(c))
	}
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS SELECT p.rid_l, p.rid_r %s FROM %s`, to, cols.String(), pairJoins(from, left))
	if none {
		q = fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS SELECT p.rid_l, p.rid_r %s FROM %s p LIMIT 0`, to, cols.String(), from)
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	return nil
}

// noPairs says whether table holds no pairs. A statement of the
// comparisons' expressions costs 15–20 ms to set up even on no rows (a
// sixtieth of a 5,000-record night, whose opt-out forms, verified numbers
// and NHS-stage pairs are often none: FEBRL's are), so where there are none
// the levels are written as NULL (levelSQL).
func noPairs(ctx context.Context, db *store.DB, table string) (bool, error) {
	var none bool
	err := db.QueryRowContext(ctx, "SELECT NOT EXISTS (SELECT 1 FROM "+table+")").Scan(&none)
	return none, err
}

// levelSQL is a comparison's level as a TINYINT expression over a pair's
// records l and r, or NULL where there are no pairs (noPairs).
func levelSQL(c Comparison, none bool) string {
	if none {
		return "NULL::TINYINT"
	}
	return "(" + c.CaseSQL() + ")::TINYINT"
}

// pairMasks records, for every pair in from, which blocking rules generate
// it (bit i for rule i), into table to (rid_l, rid_r, mask). Only EM
// training sessions need it — not a run that takes m from NHS-number labels,
// nor one that reuses a model — so it is not part of compare: at two million
// records it is two joins of every candidate pair with every record's keys.
// A rule's bit is its keys' agreement (and its Typo's and Share's tests),
// before any split: a session trains on the candidate pairs its keys agree
// on, whichever rule made them.
func pairMasks(ctx context.Context, db *store.DB, brs []BlockingRule, from, to string) error {
	var keys, mask []string
	for i, br := range brs {
		keys = append(keys, fmt.Sprintf("%s AS k%dl", keyList(br.Left, br.Right != nil), i), fmt.Sprintf("%s AS k%dr", keyList(rightOr(br), br.Right != nil), i))
		eq := fmt.Sprintf("coalesce(ka.k%[1]dl = kb.k%[1]dr, false)", i)
		if br.Right != nil {
			eq = fmt.Sprintf("(coalesce(ka.k%[1]dl = kb.k%[1]dr, false) OR coalesce(kb.k%[1]dl = ka.k%[1]dr, false))", i)
		}
		for _, r := range rides(br) {
			keys = append(keys, fmt.Sprintf("%s AS %s_%d", r.expr, r.name, i))
		}
		if test := pairTest(br, "ka", "kb", fmt.Sprintf("_%d", i)); test != "" {
			eq = fmt.Sprintf("(%s AND %s)", eq, test)
		}
		mask = append(mask, fmt.Sprintf("((%s)::INTEGER << %d)", eq, i))
	}
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE bkeys AS SELECT rid, %s FROM prep;
		CREATE OR REPLACE TEMP TABLE %s AS SELECT p.rid_l, p.rid_r, (%s)::INTEGER AS mask
		FROM %s p JOIN bkeys ka ON ka.rid = p.rid_l JOIN bkeys kb ON kb.rid = p.rid_r;
		DROP TABLE bkeys`, strings.Join(keys, ", "), to, strings.Join(mask, " | "), from)
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("blocking rules of each pair: %w", err)
	}
	return nil
}

// levelCounts counts, per comparison and level, the pairs of a gamma table.
func levelCounts(ctx context.Context, db *store.DB, comps []Comparison, table string) ([][]float64, int64, error) {
	pats, err := patterns(ctx, db, comps, table)
	if err != nil {
		return nil, 0, err
	}
	counts := make([][]float64, len(comps))
	for c := range comps {
		counts[c] = make([]float64, len(comps[c].Levels))
	}
	var n int64
	for _, p := range pats {
		for c, l := range p.levels {
			counts[c][l] += p.count
		}
		n += int64(p.count)
	}
	return counts, n, nil
}

// pairLevelCounts builds <name>_pairs from a query of pairs, compares them
// into <name>_gammas, and counts their levels.
func pairLevelCounts(ctx context.Context, db *store.DB, comps []Comparison, name, pairsQuery string) ([][]float64, int64, error) {
	if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s_pairs AS %s", name, pairsQuery)); err != nil {
		return nil, 0, fmt.Errorf("train: %w", err)
	}
	if err := compare(ctx, db, comps, name+"_pairs", name+"_gammas"); err != nil {
		return nil, 0, err
	}
	return levelCounts(ctx, db, comps, name+"_gammas")
}

// patterns reads the distinct comparison vectors of a gamma table, in a
// fixed order.
func patterns(ctx context.Context, db *store.DB, comps []Comparison, table string) ([]pattern, error) {
	_, pats, err := queryPatterns(ctx, db, len(comps), fmt.Sprintf("SELECT %s, count(*) FROM %s GROUP BY ALL ORDER BY ALL",
		strings.Join(levelColumns(comps), ", "), table), false)
	return pats, err
}

func levelColumns(comps []Comparison) []string {
	cols := make([]string, len(comps))
	for i, c := range comps {
		cols[i] = LevelColumn(c)
	}
	return cols
}

// queryPatterns runs q, whose rows are a key (when keyed), n levels and a
// count, and returns the patterns in the rows' order with each one's key.
func queryPatterns(ctx context.Context, db *store.DB, n int, q string, keyed bool) ([]int, []pattern, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var keys []int
	var out []pattern
	for rows.Next() {
		var key int
		var count int64
		lv := make([]int, n)
		var ptrs []any
		if keyed {
			ptrs = append(ptrs, &key)
		}
		for i := range lv {
			ptrs = append(ptrs, &lv[i])
		}
		if err := rows.Scan(append(ptrs, &count)...); err != nil {
			return nil, nil, err
		}
		keys = append(keys, key)
		out = append(out, pattern{levels: lv, count: float64(count)})
	}
	return keys, out, rows.Err()
}
