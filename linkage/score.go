package linkage

import (
	"context"
	"fmt"
	"strings"

	"github.com/selondon/carematch/store"
)

// guardSQL is the expression for a pair's guard: the first guard whose
// pattern it matches (its reason, prefixed "block: " for a blocking guard),
// or NULL. It reads the pair's levels as g.<comparison> and its records as l
// and r.
func guardSQL(m *Model) (string, error) {
	if len(m.Guards) == 0 {
		return "NULL::VARCHAR", nil
	}
	var b strings.Builder
	b.WriteString("CASE")
	for _, g := range m.Guards {
		cond, err := ResolveGuard(g, m.Comparisons)
		if err != nil {
			return "", err
		}
		reason := g.Reason
		if g.Block {
			reason = "block: " + reason
		}
		fmt.Fprintf(&b, " WHEN %s THEN %s", cond, store.QuoteString(reason))
	}
	b.WriteString(" END")
	return b.String(), nil
}

// score computes every candidate pair's match weight into table to.
func score(ctx context.Context, db *store.DB, m *Model, from, to string) error {
	var terms []string
	var joins strings.Builder
	for c, cmp := range m.Comparisons {
		ws := make([]string, len(cmp.Levels))
		for l := range cmp.Levels {
			ws[l] = fmt.Sprintf("%.6f", m.Weight(c, l))
		}
		terms = append(terms, fmt.Sprintf("[%s][g.%s + 1]", strings.Join(ws, ", "), gammaCol(cmp)))
		for l, lv := range cmp.Levels {
			if lv.TF == "" {
				continue
			}
			alias := fmt.Sprintf("tf%d_%d", c, l)
			fmt.Fprintf(&joins, " LEFT JOIN %s %s ON %s.value = l.%s", tfTable(lv.TF), alias, alias, lv.TF)
			terms = append(terms, fmt.Sprintf("CASE WHEN g.%s = %d THEN log2(%.8g / greatest(coalesce(%s.p, %.8g), %.8g)) ELSE 0 END",
				gammaCol(cmp), l, m.U[c][l], alias, m.U[c][l], m.TFMinimum))
		}
	}
	guard, err := guardSQL(m)
	if err != nil {
		return err
	}
	q := fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS
		SELECT g.*, (%.6f + %s)::DOUBLE AS weight, %s AS guard
		FROM %s g JOIN prep l ON l.rid = g.rid_l JOIN prep r ON r.rid = g.rid_r %s`,
		to, m.Prior(), strings.Join(terms, " + "), guard, from, joins.String())
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("score: %w", err)
	}
	return nil
}
