package linkage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/selondon/carematch/store"
)

// Explanation is why two records are or are not linked: every comparison's
// level and weight, the term-frequency adjustments, the prior, the guards
// and the decision. It holds no patient value.
type Explanation struct {
	Left            string                `json:"left"` // source_id:local_id
	Right           string                `json:"right"`
	Comparisons     []ExplainedComparison `json:"comparisons"`
	Prior           float64               `json:"prior"`
	PriorFrom       PriorSource           `json:"prior_from,omitempty"`
	Lambda          float64               `json:"lambda"`
	Total           float64               `json:"match_weight"`
	Probability     float64               `json:"probability"`
	Guard           string                `json:"guard,omitempty"`
	GuardBlocks     bool                  `json:"guard_blocks,omitempty"` // the guard keeps the pair from ever linking
	GuardLifted     string                `json:"guard_lifted,omitempty"` // a guard that matched but was lifted, and why
	Candidate       bool                  `json:"candidate"`              // a blocking rule pairs them
	Stage           string                `json:"nhs_number_stage"`       // what the NHS-number stage made of them
	Decision        string                `json:"decision"`
	LinkThreshold   float64               `json:"link_threshold"`
	ReviewThreshold float64               `json:"review_threshold"`
}

// ExplainedComparison is one comparison's part in a match weight.
type ExplainedComparison struct {
	Name   string  `json:"comparison"`
	Level  string  `json:"level"`
	Null   bool    `json:"no_evidence,omitempty"`
	Weight float64 `json:"weight"`
	TF     float64 `json:"tf_adjustment,omitempty"` // term-frequency adjustment, 0 if none
	TFNote string  `json:"tf_note,omitempty"`       // what the adjustment is based on (a frequency, never the value)
}

// ErrNotIndexed is returned by Explain for a record that is not in the
// index (deleted in its source, a test record, or not loaded).
var ErrNotIndexed = errors.New("record is not in the index")

// Explain works out, in the run's database (opened with
// store.OpenReadOnly), how the model scores two records. It evaluates the
// very comparison SQL the run scored with.
func Explain(ctx context.Context, db *store.DB, m *Model, left, right store.RecordKey) (*Explanation, error) {
	rid := func(k store.RecordKey) (int64, error) {
		var r int64
		err := db.QueryRowContext(ctx, "SELECT rid FROM prep WHERE source_id = ? AND local_id = ?", k.Source, k.Local).Scan(&r)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("%s: %w (deleted in its source, a test record, rejected, or not in this run)", k, ErrNotIndexed)
		}
		return r, err
	}
	a, err := rid(left)
	if err != nil {
		return nil, err
	}
	b, err := rid(right)
	if err != nil {
		return nil, err
	}
	if a == b {
		return nil, fmt.Errorf("explain: left and right are the same record")
	}
	if a > b {
		a, b = b, a
	}
	e := &Explanation{Left: left.String(), Right: right.String(), Lambda: m.Lambda, Prior: m.Prior(), PriorFrom: m.Training.PriorFrom,
		LinkThreshold: m.LinkThreshold, ReviewThreshold: m.ReviewThreshold}
	levels, err := e.weigh(ctx, db, m, a, b)
	if err != nil {
		return nil, err
	}
	e.Probability = Probability(e.Total)

	det, conflict, err := e.guards(ctx, db, m, levels, a, b)
	if err != nil {
		return nil, err
	}
	switch {
	case det > 0:
		e.Stage = "linked: same valid NHS number, accepted by the NHS stage (the dates of birth agree, or one is missing and both numbers are verified)"
	case conflict > 0:
		e.Stage = "NHS number conflict: same valid number, demographics clearly disagree; not linked on the number"
	default:
		e.Stage = "no shared valid NHS number"
	}
	switch {
	case det > 0:
		e.Decision = "link (NHS number)"
	case e.GuardBlocks:
		e.Decision = "no link (guard)"
	case e.Total >= m.LinkThreshold && e.Guard != "":
		e.Decision = "review (guard stopped an automatic link)"
	case e.Total >= m.LinkThreshold:
		e.Decision = "link (probabilistic)"
	case e.Total >= m.ReviewThreshold:
		e.Decision = "review"
	default:
		e.Decision = "no link"
	}
	if !e.Candidate && det == 0 {
		e.Decision += "; but no blocking rule pairs them, so the run never compared them"
	}
	return e, nil
}

// Print writes the explanation as a text waterfall.
func (e *Explanation) Print(w io.Writer) {
	fmt.Fprintf(w, "%s  and  %s\n\n", e.Left, e.Right)
	fmt.Fprintf(w, "NHS number stage: %s\n\n", e.Stage)
	fmt.Fprintf(w, "%-14s %-46s %8s %8s\n", "comparison", "level", "weight", "running")
	run := e.Prior
	fmt.Fprintf(w, "%-14s %-46s %+8.2f %+8.2f\n", "prior", priorLabel(e.Prior, e.PriorFrom), e.Prior, run)
	for _, c := range e.Comparisons {
		run += c.Weight
		level := c.Level
		if c.Null {
			level += " (no evidence)"
		}
		fmt.Fprintf(w, "%-14s %-46s %+8.2f %+8.2f\n", c.Name, level, c.Weight, run)
		if c.TFNote != "" {
			run += c.TF
			fmt.Fprintf(w, "%-14s %-46s %+8.2f %+8.2f\n", "", "term frequency", c.TF, run)
			fmt.Fprintf(w, "%-14s   (%s)\n", "", c.TFNote)
		}
	}
	fmt.Fprintf(w, "\nmatch weight %+.2f, probability %.6f (link at %.1f, review at %.1f)\n", e.Total, e.Probability, e.LinkThreshold, e.ReviewThreshold)
	if e.Guard != "" && e.GuardBlocks {
		fmt.Fprintf(w, "guard: %s (never linked)\n", e.Guard)
	} else if e.Guard != "" {
		fmt.Fprintf(w, "guard: %s\n", e.Guard)
	}
	if e.GuardLifted != "" {
		fmt.Fprintf(w, "guard (lifted): %s\n", e.GuardLifted)
	}
	fmt.Fprintf(w, "decision: %s\n", e.Decision)
}

// guards reads what the run made of the pair: whether the NHS stage linked
// it or found a conflict, whether it was a candidate, and its guard — for a
// scored pair, the one the run recorded (or lifted, and why); for any other
// pair, the run's guard expression on its levels.
func (e *Explanation) guards(ctx context.Context, db *store.DB, m *Model, levels []int, a, b int64) (det, conflict int, err error) {
	var cand int
	var guard sql.NullString
	var blocks sql.NullBool
	q := fmt.Sprintf(`SELECT (SELECT count(*) FROM det_links WHERE rid_l = %[1]d AND rid_r = %[2]d),
		(SELECT count(*) FROM nhs_conflicts WHERE rid_l = %[1]d AND rid_r = %[2]d),
		(SELECT count(*) FROM scores WHERE rid_l = %[1]d AND rid_r = %[2]d),
		(SELECT any_value(guard) FROM scores WHERE rid_l = %[1]d AND rid_r = %[2]d),
		(SELECT any_value(guard_blocks) FROM scores WHERE rid_l = %[1]d AND rid_r = %[2]d)`, a, b)
	if err := db.QueryRowContext(ctx, q).Scan(&det, &conflict, &cand, &guard, &blocks); err != nil {
		return 0, 0, fmt.Errorf("explain: %w", err)
	}
	e.Candidate = cand > 0

	// Guards. For a pair the run scored, what the run recorded: the guard
	// that held (a pattern, or the ambiguity of a record), or one it lifted
	// and why. For any other pair, the run's guard expression on its levels.
	if e.Candidate {
		lifted, why, err := liftedBecause(ctx, db, a, b)
		if err != nil {
			return 0, 0, err
		}
		if why != "" {
			e.GuardLifted = lifted + "; lifted: " + why
		}
	} else {
		reason, blocksExpr, err := guardSQL(m)
		if err != nil {
			return 0, 0, err
		}
		var gcols []string
		for c, cmp := range m.Comparisons {
			gcols = append(gcols, fmt.Sprintf("%d AS %s", levels[c], LevelColumn(cmp)))
		}
		q := fmt.Sprintf("SELECT %s, %s FROM (SELECT %s) g, prep l, prep r WHERE l.rid = %d AND r.rid = %d", reason, blocksExpr, strings.Join(gcols, ", "), a, b)
		if err := db.QueryRowContext(ctx, q).Scan(&guard, &blocks); err != nil {
			return 0, 0, fmt.Errorf("explain: guard: %w", err)
		}
	}
	e.Guard, e.GuardBlocks = guard.String, guard.Valid && blocks.Bool

	return det, conflict, nil
}

// weigh evaluates every comparison of the pair (rids a < b) by the same
// CASE expressions the run used, and adds up the waterfall: each level's
// weight and term-frequency adjustment. It returns the levels.
func (e *Explanation) weigh(ctx context.Context, db *store.DB, m *Model, a, b int64) ([]int, error) {
	pair := fmt.Sprintf("(SELECT %d::INTEGER AS rid_l, %d::INTEGER AS rid_r)", a, b)

	// Levels, by the same CASE expressions the run used.
	var cols []string
	for _, c := range m.Comparisons {
		cols = append(cols, fmt.Sprintf("(%s)::INTEGER", c.CaseSQL()))
	}
	levels := make([]int, len(m.Comparisons))
	ptrs := make([]any, len(levels))
	for i := range levels {
		ptrs[i] = &levels[i]
	}
	if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), PairJoins(pair))).Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	e.Total = m.Prior()
	for c, cmp := range m.Comparisons {
		l := levels[c]
		ec := ExplainedComparison{Name: cmp.Name, Level: cmp.Levels[l].Label, Null: cmp.Levels[l].Null, Weight: m.Weight(c, l)}
		if col := cmp.Levels[l].TF; col != "" {
			var p sql.NullFloat64
			q := fmt.Sprintf("SELECT t.p FROM prep l LEFT JOIN %s t ON t.value = l.%s WHERE l.rid = ?", tfTable(col), col)
			if err := db.QueryRowContext(ctx, q, a).Scan(&p); err != nil {
				return nil, fmt.Errorf("explain: %w", err)
			}
			freq := m.U[c][l]
			if p.Valid {
				freq = p.Float64
			}
			ec.TF = math.Log2(m.U[c][l] / math.Max(freq, m.TFMinimum))
			ec.TFNote = fmt.Sprintf("the value is shared by %.3f%% of records; an average exact match is %.3f%%", 100*freq, 100*m.U[c][l])
		}
		e.Total += ec.Weight + ec.TF
		e.Comparisons = append(e.Comparisons, ec)
	}
	return levels, nil
}

// liftedBecause is the guard the run lifted from the pair and why, or ""
// (table guards_lifted; a run made before it existed lifted none).
func liftedBecause(ctx context.Context, db *store.DB, a, b int64) (guard, why string, err error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'guards_lifted'").Scan(&n); err != nil || n == 0 {
		return "", "", err
	}
	err = db.QueryRowContext(ctx, "SELECT guard, reason FROM guards_lifted WHERE rid_l = ? AND rid_r = ?", a, b).Scan(&guard, &why)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return guard, why, err
}

// priorLabel says what the prior means and what it was estimated from (a
// model saved before prior_from existed had EM's).
func priorLabel(prior float64, from PriorSource) string {
	by := "EM"
	if from == PriorFromNumbers {
		by = "NHS numbers"
	}
	return fmt.Sprintf("1 in %.0f pairs match (by %s)", 1/Probability(prior), by)
}
