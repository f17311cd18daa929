package linkage

import (
	"context"
	"fmt"
	"time"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/store"
)

// Options tune a linkage run; zero values mean the defaults.
type Options struct {
	BlockingRules   []string // default DefaultBlockingRules
	MaxBlockSize    int64    // default 5,000 records
	MaxPairsPerRule int64    // default 200 million
	LinkThreshold   *float64
	ReviewThreshold *float64
	Extra           []config.ExtraComparison
	Extras          []string // extra columns present in records
	Model           string   // a saved model to reuse instead of training
	RandomPairs     int      // pairs sampled for u; default 1,000,000
	QuarantineAt    int64    // records sharing one key before they are quarantined; default DefaultQuarantineAt
	NoGuards        bool     // leave out DefaultGuards
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
		opt.BlockingRules = DefaultBlockingRules
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
	var brs []BlockingRule
	for _, s := range opt.BlockingRules {
		br, err := ParseBlockingRule(s)
		if err != nil {
			return nil, err
		}
		brs = append(brs, br)
	}
	comps := DefaultComparisons()
	for _, e := range opt.Extra {
		comps = append(comps, ExtraComparison(e.Field, e.Method))
	}
	comps = append(comps, NHSComparison())

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

	m := &Model{Comparisons: comps, TFMinimum: DefaultTFMinimum, Guards: DefaultGuards}
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

func sameComparisons(a, b []Comparison) error {
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
