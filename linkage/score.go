package linkage

import (
	"context"
	"fmt"
	"strings"

	"github.com/selondon/carematch/store"
)

// guardSQL is the pair's guard as two expressions: the reason of the first
// guard whose pattern it matches, or NULL; and whether that guard blocks
// (keeps the pair from ever linking, and out of the review queue) rather
// than only stopping an automatic link. They read the pair's levels as
// g.<comparison> and its records as l and r; scores holds them as the
// columns guard and guard_blocks, and the guard again as guard_scored,
// which lifting guards leaves alone: the next night carries an unchanged
// pair's score with it (scoreDelta).
func guardSQL(m *Model) (reason, blocks string, err error) {
	if len(m.Guards) == 0 {
		return "NULL::VARCHAR", "false", nil
	}
	var r, bl strings.Builder
	r.WriteString("CASE")
	bl.WriteString("CASE")
	for _, g := range m.Guards {
		cond, err := ResolveGuard(g, m.Comparisons)
		if err != nil {
			return "", "", err
		}
		fmt.Fprintf(&r, " WHEN %s THEN %s", cond, store.QuoteString(g.Reason))
		fmt.Fprintf(&bl, " WHEN %s THEN %t", cond, g.Block)
	}
	r.WriteString(" END")
	bl.WriteString(" ELSE false END")
	return r.String(), bl.String(), nil
}

// score computes every candidate pair's match weight into table to.
func score(ctx context.Context, db *store.DB, m *Model, from, to string) error {
	return scoreWith(ctx, db, m, "prep", from, to)
}

// scoreWith is score with the left records from table left (prep's
// columns).
func scoreWith(ctx context.Context, db *store.DB, m *Model, left, from, to string) error {
	var terms []string
	var joins strings.Builder
	for c, cmp := range m.Comparisons {
		ws := make([]string, len(cmp.Levels))
		for l := range cmp.Levels {
			ws[l] = fmt.Sprintf("%.6f", m.Weight(c, l))
		}
		terms = append(terms, fmt.Sprintf("[%s][g.%s + 1]", strings.Join(ws, ", "), LevelColumn(cmp)))
		for l, lv := range cmp.Levels {
			if lv.TF == "" {
				continue
			}
			alias := fmt.Sprintf("tf%d_%d", c, l)
			fmt.Fprintf(&joins, " LEFT JOIN %s %s ON %s.value = l.%s", tfTable(lv.TF), alias, alias, lv.TF)
			terms = append(terms, fmt.Sprintf("CASE WHEN g.%s = %d THEN log2(%.8g / greatest(coalesce(%s.p, %.8g), %.8g)) ELSE 0 END",
				LevelColumn(cmp), l, m.U[c][l], alias, m.U[c][l], m.TFMinimum))
		}
	}
	guard, blocks, err := guardSQL(m)
	if err != nil {
		return err
	}
	q := fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS
		SELECT g.*, (%.6f + %s)::DOUBLE AS weight, %s AS guard, %s AS guard_blocks, guard AS guard_scored
		FROM %s g JOIN %s l ON l.rid = g.rid_l JOIN prep r ON r.rid = g.rid_r %s`,
		to, m.Prior(), strings.Join(terms, " + "), guard, blocks, from, left, joins.String())
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("score: %w", err)
	}
	return nil
}

// ScoredPair is a pair of records (rid_l < rid_r) and its match weight.
type ScoredPair struct {
	L, R   int32
	Weight float64
}

// ScorePairs compares and scores, with model m, the pairs of table from
// (rid_l, rid_r; rid_l < rid_r, none of them in scores yet), adds them to
// scores — and to table alsoInto, of scores' columns — as a candidate pair
// is scored (levels, weight and the guard its levels and records give;
// guards are not lifted for them) and returns them. It is how clustering
// learns what the model says of two records no blocking rule paired but a
// chain of links would put in one person.
func ScorePairs(ctx context.Context, db *store.DB, m *Model, from, alsoInto string) ([]ScoredPair, error) {
	scored := store.Staged("scored_pairs")
	if err := compare(ctx, db, m.Comparisons, from, "scored_gammas"); err != nil {
		return nil, err
	}
	if err := score(ctx, db, m, "scored_gammas", scored); err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO scores BY NAME SELECT * FROM "+scored+"; INSERT INTO "+alsoInto+" BY NAME SELECT * FROM "+scored+"; DROP TABLE scored_gammas"); err != nil {
		return nil, err
	}
	var out []ScoredPair
	err := db.QueryPairs(ctx, "SELECT rid_l, rid_r, weight FROM "+scored+" ORDER BY rid_l, rid_r", func(l, r int32, w float64) {
		out = append(out, ScoredPair{l, r, w})
	})
	if err != nil {
		return nil, err
	}
	_, err = db.ExecContext(ctx, "DROP TABLE "+scored)
	return out, err
}
