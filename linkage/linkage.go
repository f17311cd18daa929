package linkage

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/rules"
	"github.com/selondon/carematch/store"
)

// Options tune a linkage run; zero values mean the defaults.
type Options struct {
	BlockingRules   []string // default rules.DefaultBlockingRules
	MaxBlockSize    int64    // default 5,000 records
	MaxPairsPerRule int64    // default 200 million
	LinkThreshold   *float64
	ReviewThreshold *float64
	Extra           []config.ExtraComparison
	Extras          []string // extra columns present in records
	Model           string   // a saved model to reuse instead of training
	RandomPairs     int      // pairs sampled for u; default 1,000,000
	QuarantineAt    int64    // records sharing one key before they are quarantined; default DefaultQuarantineAt
	NoGuards        bool     // leave out rules.DefaultGuards
	Progress        func(format string, a ...any)
}

// Result is what linkage produced; its tables are in the database.
type Result struct {
	Model              *Model
	Records            int64
	NHSPairs           int64 // pairs sharing a valid NHS number
	DeterministicPairs int64
	Conflicts          int64
	CandidatePairs     int64
	GuardsLifted       int64 // guards lifted (table guards_lifted)
	TyposLifted        int64 // of which twin guards, for a misspelt given name
	AmbiguousRecords   int64 // records that match two people kept apart
	AmbiguousLinks     int64 // their links, held back for review
	NamesakeChecked    int64 // same names and date of birth, different postcodes, both numbers verified
	Namesakes          int64 // of which two people
	Rules              []RuleStats
	Quarantined        []QuarantineStats // records held back, by source and key
	Timings            map[string]time.Duration
}

// Run links the records table: it builds prep, det_links, nhs_conflicts,
// pairs, gammas and scores, and fits (or reuses) the model.
func Run(ctx context.Context, db *store.DB, opt Options) (*Result, error) {
	if opt.MaxBlockSize == 0 {
		opt.MaxBlockSize = 5_000
	}
	if opt.MaxPairsPerRule == 0 {
		opt.MaxPairsPerRule = 200_000_000
	}
	if opt.RandomPairs == 0 {
		opt.RandomPairs = 1_000_000
	}
	if opt.QuarantineAt == 0 {
		opt.QuarantineAt = DefaultQuarantineAt
	}
	if len(opt.BlockingRules) == 0 {
		opt.BlockingRules = rules.DefaultBlockingRules
	}
	logf := opt.Progress
	if logf == nil {
		logf = func(string, ...any) {}
	}
	res := &Result{Timings: map[string]time.Duration{}}
	step := func(name string, f func() error) error {
		t := time.Now()
		err := f()
		res.Timings[name] = time.Since(t)
		return err
	}
	var brs []rules.BlockingRule
	for _, s := range opt.BlockingRules {
		br, err := rules.ParseBlockingRule(s)
		if err != nil {
			return nil, err
		}
		brs = append(brs, br)
	}
	comps := rules.DefaultComparisons()
	for _, e := range opt.Extra {
		comps = append(comps, rules.ExtraComparison(e.Field, e.Method))
	}
	comps = append(comps, rules.NHSComparison())

	if err := step("prepare", func() error {
		if err := prepare(ctx, db, opt.Extras); err != nil {
			return err
		}
		if err := quarantine(ctx, db, opt.QuarantineAt, res); err != nil {
			return err
		}
		var tf []string
		for _, c := range comps {
			for _, l := range c.Levels {
				if l.TF != "" {
					tf = append(tf, l.TF)
				}
			}
		}
		if err := buildTF(ctx, db, tf); err != nil {
			return err
		}
		return db.QueryRowContext(ctx, "SELECT count(*) FROM prep").Scan(&res.Records)
	}); err != nil {
		return nil, err
	}
	logf("link: %d records to link", res.Records)
	for _, q := range res.Quarantined {
		logf("link: WARNING %s: %d records quarantined, each one of over %d sharing one %s (see exceptions/quarantined.csv)", q.Source, q.Records, opt.QuarantineAt, q.Key)
	}

	if err := step("deterministic", func() error { return deterministic(ctx, db, res) }); err != nil {
		return nil, err
	}
	logf("link: NHS number: %d pairs share a valid number, %d linked, %d conflicts", res.NHSPairs, res.DeterministicPairs, res.Conflicts)

	if err := step("blocking", func() error {
		st, err := block(ctx, db, brs, opt.MaxBlockSize, opt.MaxPairsPerRule)
		res.Rules = st
		if err != nil {
			return err
		}
		return db.QueryRowContext(ctx, "SELECT count(*) FROM pairs").Scan(&res.CandidatePairs)
	}); err != nil {
		return nil, err
	}
	for _, r := range res.Rules {
		logf("link: blocking %q: %d pairs, %d new", r.Rule, r.Pairs, r.NewPairs)
		if r.Warning != "" {
			logf("link: blocking %q: WARNING %s", r.Rule, r.Warning)
		}
	}

	if err := step("compare", func() error { return compare(ctx, db, comps, "pairs", "gammas", brs...) }); err != nil {
		return nil, err
	}

	m := &Model{Comparisons: comps, TFMinimum: DefaultTFMinimum, Guards: rules.DefaultGuards}
	if opt.NoGuards {
		m.Guards = nil
	}
	for _, b := range brs {
		m.Blocking = append(m.Blocking, b.String())
	}
	if opt.Model != "" {
		saved, err := LoadModel(opt.Model)
		if err != nil {
			return nil, err
		}
		if err := sameComparisons(saved.Comparisons, comps); err != nil {
			return nil, fmt.Errorf("model %s: %w", opt.Model, err)
		}
		// The saved training record stays: it says how the model was fitted,
		// and its match rate over all pairs is the prior.
		m = saved
		m.Training.Reused = opt.Model
	} else if err := step("train", func() error { return train(ctx, db, m, brs, opt.RandomPairs) }); err != nil {
		return nil, err
	}
	if opt.Model == "" {
		m.Training.CandidatePairs = res.CandidatePairs
	}
	if m.LinkThreshold == 0 && m.ReviewThreshold == 0 {
		m.LinkThreshold, m.ReviewThreshold = DefaultLinkThreshold, DefaultReviewThreshold
	}
	if opt.LinkThreshold != nil {
		m.LinkThreshold = *opt.LinkThreshold
	}
	if opt.ReviewThreshold != nil {
		m.ReviewThreshold = *opt.ReviewThreshold
	}
	if m.ReviewThreshold > m.LinkThreshold {
		m.ReviewThreshold = m.LinkThreshold
	}
	logf("link: model: lambda %.4g, EM %d iterations, converged %v", m.Lambda, m.Training.Iterations, m.Training.Converged)
	if err := step("score", func() error { return score(ctx, db, m, "gammas", "scores") }); err != nil {
		return nil, err
	}
	if err := step("lift_guards", func() error { return liftGuards(ctx, db, m, res) }); err != nil {
		return nil, err
	}
	logf("link: namesakes: %d of %d same-name, same-birth-date pairs at different addresses with verified numbers are two people; %d guards lifted (%d for a misspelt given name)",
		res.Namesakes, res.NamesakeChecked, res.GuardsLifted, res.TyposLifted)
	if len(m.Guards) > 0 {
		if err := step("ambiguous", func() error { return guardAmbiguous(ctx, db, m, res) }); err != nil {
			return nil, err
		}
		logf("link: %d records with no date of birth match two people kept apart: their %d links go to review", res.AmbiguousRecords, res.AmbiguousLinks)
	}
	// scores holds every candidate pair with its levels: pairs and gammas
	// need not be written to the state database.
	if _, err := db.ExecContext(ctx, "DROP TABLE pairs; DROP TABLE gammas"); err != nil {
		return nil, err
	}
	res.Model = m
	return res, nil
}

func sameComparisons(a, b []rules.Comparison) error {
	if len(a) != len(b) {
		return fmt.Errorf("it has %d comparisons, this configuration %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].Levels) != len(b[i].Levels) {
			return fmt.Errorf("comparison %d is %s with %d levels, this configuration's is %s with %d",
				i+1, a[i].Name, len(a[i].Levels), b[i].Name, len(b[i].Levels))
		}
	}
	return nil
}

// gammaCol is the column holding a comparison's level.
func gammaCol(c rules.Comparison) string { return "g_" + c.Name }

// compare evaluates every comparison for every pair in from (rid_l, rid_r),
// into table to. With brs, it also records in mask which blocking rules
// generate each pair (bit i for rule i), for training sessions.
func compare(ctx context.Context, db *store.DB, comps []rules.Comparison, from, to string, brs ...rules.BlockingRule) error {
	var cols strings.Builder
	for _, c := range comps {
		fmt.Fprintf(&cols, ", (%s)::TINYINT AS %s", c.CaseSQL(), gammaCol(c))
	}
	joins := rules.PairJoins(from)
	if len(brs) > 0 {
		var keys, mask []string
		for i, br := range brs {
			keys = append(keys, fmt.Sprintf("%s AS k%dl", keyList(br.Left), i), fmt.Sprintf("%s AS k%dr", keyList(rightOr(br)), i))
			eq := fmt.Sprintf("coalesce(ka.k%[1]dl = kb.k%[1]dr, false)", i)
			if br.Right != nil {
				eq = fmt.Sprintf("(coalesce(ka.k%[1]dl = kb.k%[1]dr, false) OR coalesce(kb.k%[1]dl = ka.k%[1]dr, false))", i)
			}
			mask = append(mask, fmt.Sprintf("((%s)::INTEGER << %d)", eq, i))
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE bkeys AS SELECT rid, %s FROM prep", strings.Join(keys, ", "))); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		fmt.Fprintf(&cols, ", (%s)::INTEGER AS mask", strings.Join(mask, " | "))
		joins += " JOIN bkeys ka ON ka.rid = p.rid_l JOIN bkeys kb ON kb.rid = p.rid_r"
	}
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS SELECT p.rid_l, p.rid_r %s FROM %s`, to, cols.String(), joins)
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	return nil
}

// levelCounts counts, per comparison and level, the pairs of a gamma table.
func levelCounts(ctx context.Context, db *store.DB, comps []rules.Comparison, table string) ([][]float64, int64, error) {
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
func pairLevelCounts(ctx context.Context, db *store.DB, comps []rules.Comparison, name, pairsQuery string) ([][]float64, int64, error) {
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
func patterns(ctx context.Context, db *store.DB, comps []rules.Comparison, table string) ([]pattern, error) {
	var cols []string
	for _, c := range comps {
		cols = append(cols, gammaCol(c))
	}
	list := strings.Join(cols, ", ")
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT %s, count(*) FROM %s GROUP BY ALL ORDER BY ALL", list, table))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pattern
	for rows.Next() {
		lv := make([]int, len(comps))
		ptrs := make([]any, len(comps)+1)
		for i := range lv {
			ptrs[i] = &lv[i]
		}
		var n int64
		ptrs[len(comps)] = &n
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, pattern{levels: lv, count: float64(n)})
	}
	return out, rows.Err()
}

// train estimates u from random pairs, seeds m from the pairs a verified NHS
// number linked (for every comparison but the two that chose them: date of
// birth and NHS number), and fits m and lambda by EM over the candidate pairs.
func train(ctx context.Context, db *store.DB, m *Model, brs []rules.BlockingRule, randomPairs int) error {
	comps := m.Comparisons
	// u: a deterministic sample of record pairs, chosen by a hash of rid.
	side := int(math.Ceil(math.Sqrt(float64(randomPairs))))
	uCounts, nRandom, err := pairLevelCounts(ctx, db, comps, "random", fmt.Sprintf(`
		WITH a AS (SELECT rid FROM prep WHERE NOT quarantined ORDER BY hash(rid * 2 + 1), rid LIMIT %d),
		     b AS (SELECT rid FROM prep WHERE NOT quarantined ORDER BY hash(rid * 2), rid LIMIT %d)
		SELECT least(a.rid, b.rid) AS rid_l, greatest(a.rid, b.rid) AS rid_r FROM a JOIN b ON a.rid <> b.rid`, side, side))
	if err != nil {
		return err
	}
	m.Training.RandomPairs = nRandom
	m.U = make([][]float64, len(comps))
	for c := range comps {
		m.U[c] = normalise(comps[c], uCounts[c])
	}
	// A same-number pair the deterministic stage accepted is never a
	// random pair's outcome in practice: give it the smallest u seen.
	nhs := len(comps) - 1
	m.U[nhs][1] = math.Min(m.U[nhs][1], 0.5/float64(max(nRandom, 1)))

	// m from labels: pairs that share a verified NHS number, whatever their
	// other details (so date of birth's m is not biased by the
	// deterministic stage's own test). Where there are too few (data with no
	// NHS numbers), m is estimated by EM in training sessions, one per
	// blocking rule, each on that rule's pairs with the comparisons the rule
	// blocks on held fixed, and averaged (Splink's method).
	mCounts, nLabels, err := pairLevelCounts(ctx, db, comps, "label", `
		SELECT a.rid AS rid_l, b.rid AS rid_r FROM prep a JOIN prep b
		ON a.nhs_number = b.nhs_number AND a.rid < b.rid AND a.nhs_verified AND b.nhs_verified
		WHERE NOT a.quarantined AND NOT b.quarantined`)
	if err != nil {
		return err
	}
	m.Training.LabelPairs = nLabels
	m.M = make([][]float64, len(comps))
	if nLabels >= minLabelPairs {
		m.Training.MSource = "labels"
		for c, cmp := range comps {
			m.M[c] = normalise(cmp, mCounts[c])
		}
		// Among pairs of one person, two different valid numbers are rare
		// but not impossible (a number typed onto the wrong record).
		m.M[nhs] = normalise(comps[nhs], []float64{0, float64(nLabels), float64(nLabels) / 1000})
	} else {
		m.Training.MSource = "em_sessions"
		if err := sessions(ctx, db, m, brs); err != nil {
			return err
		}
	}
	pats, err := patterns(ctx, db, comps, "gammas")
	if err != nil {
		return err
	}
	m.Training.Patterns = len(pats)
	// The prior: EM over all candidate pairs with m and u held. Random pairs
	// include a few pairs of the same person — in a data set full of
	// duplicates, more than enough to inflate u for an exact date of birth —
	// so u is corrected for them, using the number of matches EM finds, and
	// the prior refitted.
	m.Lambda = 0.1
	m.em(pats, nil, 500, 1e-9)
	var records float64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM prep WHERE NOT quarantined").Scan(&records); err != nil {
		return err
	}
	allPairs := records * (records - 1) / 2
	if allPairs > 0 {
		var candidates float64
		for _, p := range pats {
			candidates += p.count
		}
		lambdaAll := math.Min(m.Lambda*candidates/allPairs, 0.5)
		for c, cmp := range comps {
			for l, lv := range cmp.Levels {
				if lv.Null {
					continue
				}
				floor := 0.5 / float64(max(nRandom, 1))
				m.U[c][l] = math.Max((m.U[c][l]-lambdaAll*m.M[c][l])/(1-lambdaAll), floor)
			}
		}
		m.Training.MatchRateAllPairs = lambdaAll
		m.em(pats, nil, 500, 1e-9)
	}
	return nil
}

// minLabelPairs is how many verified-number pairs are enough to take m from.
const minLabelPairs = 200

// sessions estimates m by EM on each blocking rule's pairs in turn.
func sessions(ctx context.Context, db *store.DB, m *Model, brs []rules.BlockingRule) error {
	comps := m.Comparisons
	sum := make([][]float64, len(comps))
	n := make([]float64, len(comps))
	for c := range comps {
		m.M[c] = defaultM(comps[c])
		sum[c] = make([]float64, len(comps[c].Levels))
	}
	converged := true
	for i, br := range brs {
		blocked := rules.BlockedComparisons(br)
		q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE session_gammas AS SELECT * FROM gammas WHERE mask & %d <> 0`, 1<<i)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
		pats, err := patterns(ctx, db, comps, "session_gammas")
		if err != nil {
			return err
		}
		if len(pats) == 0 {
			continue
		}
		s := &Model{Comparisons: comps, U: m.U, M: make([][]float64, len(comps)), Lambda: 0.05}
		free := make([]bool, len(comps))
		for c := range comps {
			s.M[c] = append([]float64(nil), m.M[c]...)
			free[c] = !blocked[comps[c].Name]
		}
		s.em(pats, free, 200, 1e-6)
		converged = converged && s.Training.Converged
		m.Training.Iterations += s.Training.Iterations
		// Sessions count by the matches they saw: a rule that pairs few
		// records says little.
		var w float64
		for _, p := range pats {
			w += p.count
		}
		w *= s.Lambda
		for c := range comps {
			if !free[c] {
				continue
			}
			for l := range s.M[c] {
				sum[c][l] += w * s.M[c][l]
			}
			n[c] += w
		}
	}
	for c := range comps {
		if n[c] == 0 {
			continue
		}
		for l := range sum[c] {
			m.M[c][l] = sum[c][l] / n[c]
		}
	}
	m.Training.SessionsConverged = converged
	return nil
}

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
		cond, err := rules.ResolveGuard(g, m.Comparisons)
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

// GuardAmbiguous is the guard on the links of a record that matches two
// people the engine keeps apart.
const GuardAmbiguous = "ambiguous: a record with no date of birth that matches two people kept apart (a generation apart, or two NHS numbers)"

// guardAmbiguous holds back every link of a record with no date of birth
// that would link to two records known to be different people — a parent
// and child of the same name at one address (the generation-apart guard), or
// two different valid NHS numbers. Linked to either, it might show one
// person's record to the other's clinician; linked to both, it would merge
// them (in the million-record run, all four parent–child merges were such a
// record). Its links go to the review queue instead. Records with a date of
// birth are left to the weights: the same test on them held back many true
// links (a date two digits off reads as a generation apart), for no gain.
func guardAmbiguous(ctx context.Context, db *store.DB, m *Model, res *Result) error {
	q := fmt.Sprintf(`
		CREATE OR REPLACE TEMP TABLE partners AS
		SELECT s.rid_l AS x, s.rid_r AS y FROM scores s JOIN prep p ON p.rid = s.rid_l
		WHERE p.dob IS NULL AND s.weight >= %[1]g AND s.guard IS NULL
		UNION ALL
		SELECT s.rid_r, s.rid_l FROM scores s JOIN prep p ON p.rid = s.rid_r
		WHERE p.dob IS NULL AND s.weight >= %[1]g AND s.guard IS NULL;
		CREATE OR REPLACE TEMP TABLE ambiguous AS
		SELECT DISTINCT least(p1.x, p1.y) AS rid_l, greatest(p1.x, p1.y) AS rid_r, p1.x
		FROM partners p1 JOIN partners p2 ON p1.x = p2.x AND p1.y <> p2.y
		JOIN prep a ON a.rid = p1.y JOIN prep b ON b.rid = p2.y
		LEFT JOIN scores s ON s.rid_l = least(p1.y, p2.y) AND s.rid_r = greatest(p1.y, p2.y)
		WHERE s.guard LIKE 'block: %%'
		   OR (a.nhs_number <> b.nhs_number AND NOT a.nhs_disputed AND NOT b.nhs_disputed);
		UPDATE scores SET guard = %[2]s FROM ambiguous a
		WHERE scores.rid_l = a.rid_l AND scores.rid_r = a.rid_r;`, m.LinkThreshold, store.QuoteString(GuardAmbiguous))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("ambiguous records: %w", err)
	}
	return db.QueryRowContext(ctx, "SELECT count(DISTINCT x), count(DISTINCT (rid_l, rid_r)) FROM ambiguous").Scan(&res.AmbiguousRecords, &res.AmbiguousLinks)
}

// Why a guard was lifted (table guards_lifted, for explain).
const (
	LiftStale = "one record was last updated over a year before its source's latest update: its address may be out of date"
	LiftMoved = "the household moved too: another link joins two other records, one at each postcode"
	// LiftRare is a format: the pairs checked and the namesakes among them.
	LiftRare = "namesakes are rare in this data: of %d pairs with the same names and date of birth at different addresses whose verified NHS numbers tell, %d were two people"
	// LiftTypo is a format: how many records have each of the two names.
	LiftTypo = "the given names differ as a typo does: one is written so in %d record(s) of the whole data, the other in %d, and nothing else in the household is as close"
)

// The namesake guard holds only where the data shows namesakes are common
// enough to matter: among pairs with the same names and date of birth at
// different postcodes where both records have a verified NHS number (which
// says whether they are one person), at least NamesakeMinShare must be two
// people, out of at least NamesakeMinChecked such pairs. Linking the pattern
// where fewer are namesakes is right more than 99 times in 100; with no
// verified numbers (FEBRL, Splink's data) there is no sign of namesakes and
// the match weight decides.
const (
	NamesakeMinShare   = 0.01
	NamesakeMinChecked = 20
)

// TypoMaxRecords: a given name written so in at most this many records of
// the whole data is taken for a misspelling when it is close to a name that
// more records have. Real names recur; a typo seldom does. (At a million
// records, twin-guarded pairs with close names where one is this rare were
// 1,321 the same person and none twins; where both names were common, 22 and
// 74.)
const TypoMaxRecords = 2

// liftGuards lifts guards where the data explains the pattern: a guard with
// TypoSQL where one given name is a misspelling of the other (liftTypos), and
// the namesake guards (LiftedByMove) where namesakes are rare in the data, or
// the different address is explained (liftNamesakes). The lifted pairs, with
// the reason, are kept in guards_lifted.
func liftGuards(ctx context.Context, db *store.DB, m *Model, res *Result) error {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE guards_lifted (rid_l INTEGER, rid_r INTEGER, guard VARCHAR, reason VARCHAR)`); err != nil {
		return err
	}
	if err := liftTypos(ctx, db, m, res); err != nil {
		return fmt.Errorf("lifting guards: %w", err)
	}
	if err := liftNamesakes(ctx, db, m, res); err != nil {
		return fmt.Errorf("lifting guards: %w", err)
	}
	return db.QueryRowContext(ctx, "SELECT count(*) FROM guards_lifted").Scan(&res.GuardsLifted)
}

// liftTypos lifts a guard whose TypoSQL the pair matches (for the twin
// guard: given names close, sex not different) when one given name is rare
// (TypoMaxRecords) and the other is not, unless the rare-named record is as
// close to another common name in a guarded pair — twins Jack and Jake, and
// a record of "Jakc".
func liftTypos(ctx context.Context, db *store.DB, m *Model, res *Result) error {
	var conds []string
	for _, g := range m.Guards {
		if g.TypoSQL == "" {
			continue
		}
		cond, err := rules.ResolveLevels(g.Reason, g.TypoSQL, m.Comparisons)
		if err != nil {
			return err
		}
		conds = append(conds, fmt.Sprintf("(s.guard = %s AND (%s))", store.QuoteString(g.Reason), cond))
	}
	if len(conds) == 0 {
		return nil
	}
	q := fmt.Sprintf(`
		CREATE OR REPLACE TEMP TABLE given_counts AS
		SELECT given_name, count(*) AS n FROM prep WHERE given_name IS NOT NULL GROUP BY 1;
		CREATE OR REPLACE TEMP TABLE typos AS
		SELECT s.rid_l, s.rid_r, s.guard, least(cl.n, cr.n) AS n_rare, greatest(cl.n, cr.n) AS n_common,
			CASE WHEN cl.n <= %[2]d THEN s.rid_l ELSE s.rid_r END AS rare_rid,
			CASE WHEN cl.n <= %[2]d THEN r.given_name ELSE l.given_name END AS common_name
		FROM scores s JOIN prep l ON l.rid = s.rid_l JOIN prep r ON r.rid = s.rid_r
		JOIN given_counts cl ON cl.given_name = l.given_name JOIN given_counts cr ON cr.given_name = r.given_name
		WHERE s.weight >= %[1]g AND (%[3]s) AND least(cl.n, cr.n) <= %[2]d AND greatest(cl.n, cr.n) > %[2]d;
		INSERT INTO guards_lifted
		SELECT rid_l, rid_r, guard, format(%[4]s, n_rare, n_common) FROM typos
		WHERE rare_rid IN (SELECT rare_rid FROM typos GROUP BY 1 HAVING count(DISTINCT common_name) = 1);
		UPDATE scores SET guard = NULL FROM guards_lifted h
		WHERE scores.rid_l = h.rid_l AND scores.rid_r = h.rid_r;`,
		m.LinkThreshold, TypoMaxRecords, strings.Join(conds, " OR "),
		store.QuoteString(strings.ReplaceAll(LiftTypo, "%d", "{}")))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return err
	}
	// The first step to lift guards: all of guards_lifted is its.
	return db.QueryRowContext(ctx, "SELECT count(*) FROM guards_lifted").Scan(&res.TyposLifted)
}

// liftNamesakes lifts the guards marked LiftedByMove: all of them where
// verified numbers show namesakes are rare; otherwise where the different
// address has an explanation other than a different person — one record is
// stale (see prep.stale), or the pair's two postcodes are joined by a link
// between two other records, a household seen to have moved together.
func liftNamesakes(ctx context.Context, db *store.DB, m *Model, res *Result) error {
	var reasons []string
	for _, g := range m.Guards {
		if g.LiftedByMove {
			reasons = append(reasons, store.QuoteString(g.Reason))
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	// How common are namesakes here? Pairs whose verified numbers tell.
	if err := db.QueryRowContext(ctx, `
		SELECT count(*), count(*) FILTER (a.nhs_number <> b.nhs_number)
		FROM prep a JOIN prep b ON a.given_name = b.given_name AND a.family_name = b.family_name AND a.dob = b.dob AND a.rid < b.rid
		WHERE a.nhs_verified AND b.nhs_verified AND a.postcode <> b.postcode
		  AND NOT a.withheld AND NOT b.withheld AND NOT (month(a.dob) = 1 AND day(a.dob) = 1)`).
		Scan(&res.NamesakeChecked, &res.Namesakes); err != nil {
		return err
	}
	if res.NamesakeChecked < NamesakeMinChecked || float64(res.Namesakes) < NamesakeMinShare*float64(res.NamesakeChecked) {
		q := fmt.Sprintf(`INSERT INTO guards_lifted SELECT rid_l, rid_r, guard, %s FROM scores WHERE guard IN (%s) AND weight >= %g;
			UPDATE scores SET guard = NULL FROM guards_lifted h WHERE scores.rid_l = h.rid_l AND scores.rid_r = h.rid_r;`,
			store.QuoteString(fmt.Sprintf(LiftRare, res.NamesakeChecked, res.Namesakes)), strings.Join(reasons, ", "), m.LinkThreshold)
		_, err := db.ExecContext(ctx, q)
		return err
	}
	q := fmt.Sprintf(`
		CREATE OR REPLACE TEMP TABLE guarded AS
		SELECT s.rid_l, s.rid_r, s.guard, l.stale OR r.stale AS stale,
			least(l.postcode, r.postcode) AS pc1, greatest(l.postcode, r.postcode) AS pc2
		FROM scores s JOIN prep l ON l.rid = s.rid_l JOIN prep r ON r.rid = s.rid_r
		WHERE s.guard IN (%[2]s) AND s.weight >= %[1]g;
		CREATE OR REPLACE TEMP TABLE moved_links AS
		SELECT least(a.postcode, b.postcode) AS pc1, greatest(a.postcode, b.postcode) AS pc2, k.rid_l, k.rid_r
		FROM (SELECT rid_l, rid_r FROM det_links
		      UNION ALL SELECT rid_l, rid_r FROM scores WHERE weight >= %[1]g AND guard IS NULL) k
		JOIN prep a ON a.rid = k.rid_l JOIN prep b ON b.rid = k.rid_r
		WHERE a.postcode <> b.postcode AND (a.postcode, b.postcode) IN (SELECT (pc1, pc2) FROM guarded UNION ALL SELECT (pc2, pc1) FROM guarded);
		INSERT INTO guards_lifted
		SELECT rid_l, rid_r, guard, %[3]s FROM guarded WHERE stale
		UNION ALL
		SELECT DISTINCT g.rid_l, g.rid_r, g.guard, %[4]s FROM guarded g JOIN moved_links k USING (pc1, pc2)
		WHERE NOT g.stale AND k.rid_l NOT IN (g.rid_l, g.rid_r) AND k.rid_r NOT IN (g.rid_l, g.rid_r);
		UPDATE scores SET guard = NULL FROM guards_lifted h
		WHERE scores.rid_l = h.rid_l AND scores.rid_r = h.rid_r;`,
		m.LinkThreshold, strings.Join(reasons, ", "), store.QuoteString(LiftStale), store.QuoteString(LiftMoved))
	_, err := db.ExecContext(ctx, q)
	return err
}
