package linkage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/selondon/carematch/store"
)

// Defaults of Options, applied once by Run.
const (
	DefaultMaxBlockSize    = 5_000       // records in one block of a blocking rule
	DefaultMaxPairsPerRule = 200_000_000 // pairs one blocking rule may make
	DefaultRandomPairs     = 1_000_000   // random pairs that estimate u
)

// ExtraField is a comparison of a configured extra field.
type ExtraField struct {
	Field  string
	Method string // exact | jaro_winkler | levenshtein
}

// Options tune a linkage run; zero values mean the defaults.
type Options struct {
	BlockingRules    []string // default DefaultBlockingRules
	MaxBlockSize     int64    // default DefaultMaxBlockSize
	MaxPairsPerRule  int64    // default DefaultMaxPairsPerRule
	LinkThreshold    *float64 // default the model's, else DefaultThresholds for its prior
	ReviewThreshold  *float64 // default the model's, else DefaultThresholds for its prior
	ExtraComparisons []ExtraField
	ExtraFields      []string // extra columns present in records
	Model            string   // a saved model to reuse instead of training
	// Hold is a previous night's state database whose model and term
	// frequencies to hold instead of fitting new ones (see held.go). When
	// it has none, or the configuration's comparisons are not its, a new
	// model is fitted and Result.ModelReason says why.
	Hold string
	// Since is the previous night's state database to link from: only the
	// pairs of changed records are blocked and compared, the rest carried
	// (blocking_delta.go). It needs the model held from the same night;
	// when last night's pairs cannot be carried, the night links in full
	// and Result.FullReason says why.
	Since        string
	RandomPairs  int   // default DefaultRandomPairs
	QuarantineAt int64 // records sharing one key before they are quarantined; default DefaultQuarantineAt
	Guards       *bool // the household and namesake guards (DefaultGuards); default on
	Progress     func(format string, a ...any)
}

// withDefaults fills in every option left zero.
func (o Options) withDefaults() Options {
	o.MaxBlockSize = cmp.Or(o.MaxBlockSize, DefaultMaxBlockSize)
	o.MaxPairsPerRule = cmp.Or(o.MaxPairsPerRule, DefaultMaxPairsPerRule)
	o.RandomPairs = cmp.Or(o.RandomPairs, DefaultRandomPairs)
	o.QuarantineAt = cmp.Or(o.QuarantineAt, DefaultQuarantineAt)
	if len(o.BlockingRules) == 0 {
		o.BlockingRules = DefaultBlockingRules
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	return o
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
	// ModelFrom is where the model came from: "fitted", "held" (from
	// Options.Hold) or "file" (Options.Model); ModelReason why, when a
	// model was fitted though one was to be held.
	ModelFrom, ModelReason string
	// Incremental is set when pairs were carried from Options.Since;
	// FullReason says why not when they were to be. PairsCompared are the
	// candidate pairs compared tonight (all of them on a full night).
	Incremental   bool
	FullReason    string
	PairsCompared int64
	// OptoutForms are the opt-out forms read (extract.OptoutForms), and
	// OptoutPairs the pairs of a form and a record scored (OptoutScores).
	OptoutForms, OptoutPairs int64
	Timings                  map[string]time.Duration
}

// linker is one linkage run: its settings, the model and the result, built
// up step by step.
type linker struct {
	db    *store.DB
	opt   Options
	logf  func(format string, a ...any)
	brs   []BlockingRule
	comps []Comparison
	m     *Model
	held  *Model // the model held from Options.Hold, if any
	res   *Result
	// detach, when set, detaches the previous night's state, attached for
	// an incremental night.
	detach func()
	// scoresCarried is set when the carried pairs kept their scores too
	// (compareDelta): score scores only the compared ones.
	scoresCarried bool
	// sample, when a model is to be fitted, is the training sample being
	// drawn beside blocking and comparing.
	sample *sampleBeside
}

// fits says whether tonight fits a model (none given, none held).
func (l *linker) fits() bool { return l.opt.Model == "" && l.held == nil }

// stopSample abandons a training sample still being drawn.
func (l *linker) stopSample() {
	if l.sample != nil {
		l.sample.stop()
		l.sample = nil
	}
}

// Run links the records table: it builds prep, det_links, nhs_conflicts,
// pairs, gammas and scores, and fits (or reuses) the model. Each step is
// timed; a failure names the stage ("link") and the step.
func Run(ctx context.Context, db *store.DB, opt Options) (*Result, error) {
	opt = opt.withDefaults()
	l := &linker{db: db, opt: opt, logf: opt.Progress, res: &Result{Timings: map[string]time.Duration{}}}
	brs, err := ParseBlockingRules(opt.BlockingRules)
	if err != nil {
		return nil, err
	}
	l.brs = brs
	l.comps = DefaultComparisons()
	for _, e := range opt.ExtraComparisons {
		l.comps = append(l.comps, ExtraComparison(e.Field, e.Method))
	}
	l.comps = append(l.comps, NHSComparison())
	records := func() (int64, string) { return l.res.Records, "records" }
	pairs := func() (int64, string) { return l.res.CandidatePairs, "pairs" }
	for _, st := range []struct {
		name string
		f    func(context.Context) error
		work func() (int64, string) // what the step goes through, for its rate
	}{
		{"prepare", l.prepare, records}, {"deterministic", l.deterministic, records}, {"blocking", l.blocking, records},
		{"compare", l.compare, pairs}, {"model", l.model, pairs}, {"score", l.score, pairs}, {"lift_guards", l.liftGuards, pairs},
		{"ambiguous", l.ambiguous, pairs},
		{"optouts", l.optouts, func() (int64, string) { return l.res.OptoutPairs, "form pairs" }},
	} {
		t := time.Now()
		if err := st.f(ctx); err != nil {
			l.stopSample()
			if l.detach != nil {
				l.detach()
			}
			return nil, store.InStep("link", st.name, err)
		}
		d := time.Since(t)
		if st.name == "model" { // timed as what it did
			st.name = "reuse_model"
			if l.res.ModelFrom == "fitted" {
				st.name = "train"
			}
		}
		l.res.Timings[st.name] = d
		n, what := st.work()
		l.logf("link: %s took %.1fs (%d %s, %.0f a second)", st.name, d.Seconds(), n, what, float64(n)/max(d.Seconds(), 0.001))
	}
	if l.detach != nil {
		l.detach()
	}
	// scores holds every candidate pair with its levels: gammas need not be
	// written to the state database, and of pairs only which rules found
	// each (pair_rules), for the next night.
	if _, err := db.ExecContext(ctx, "CREATE OR REPLACE TABLE pair_rules AS SELECT rid_l, rid_r, rules FROM pairs; DROP TABLE pairs; DROP TABLE gammas"); err != nil {
		return nil, store.InStep("link", "drop pairs", err)
	}
	l.res.Model = l.m
	return l.res, nil
}

// prepare builds prep, quarantines junk, and takes a held model (and its
// term frequencies) where one is held.
func (l *linker) prepare(ctx context.Context) error {
	if err := prepare(ctx, l.db, l.opt.ExtraFields); err != nil {
		return err
	}
	if err := quarantine(ctx, l.db, l.opt.QuarantineAt, l.res); err != nil {
		return err
	}
	if l.opt.Hold != "" && l.opt.Model == "" {
		held, err := holdModel(ctx, l.db, l.opt.Hold, l.tfColumns())
		switch {
		case errors.Is(err, ErrNoHeldModel):
			l.res.ModelReason = err.Error()
		case err != nil:
			return err
		default:
			if err := sameComparisons(held.Comparisons, l.comps); err != nil {
				l.res.ModelReason = "the configuration's comparisons are not the held model's: " + err.Error()
			} else if held.Training.PriorFrom == "" {
				// Fitted before the prior could come from the NHS numbers:
				// refitted once, so an upgrade takes the prior that does not
				// grow with the region without waiting for --retrain.
				l.res.ModelReason = "the held model's prior is EM's, fitted before carematch took it from the NHS numbers"
			} else {
				l.held = held
			}
		}
		if l.held == nil {
			l.logf("link: a new model is fitted tonight: %s", l.res.ModelReason)
		}
	}
	if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM prep").Scan(&l.res.Records); err != nil {
		return err
	}
	l.logf("link: %d records to link", l.res.Records)
	for _, q := range l.res.Quarantined {
		l.logf("link: WARNING %s: %d records quarantined, each one of over %d sharing one %s (see exceptions/%s.csv)", q.Source, q.Records, l.opt.QuarantineAt, q.Key, store.ExcQuarantined)
	}
	return nil
}

func (l *linker) deterministic(ctx context.Context) error {
	if err := deterministic(ctx, l.db, l.res); err != nil {
		return err
	}
	l.logf("link: NHS number: %d pairs share a valid number, %d linked, %d conflicts", l.res.NHSPairs, l.res.DeterministicPairs, l.res.Conflicts)
	return nil
}

func (l *linker) blocking(ctx context.Context) error {
	if l.fits() {
		// Beside only where DuckDB works on one thread and the second core
		// would idle: on two, the sample beside blocking at two million
		// records saved as much time as it cost blocking, and its hash
		// tables were held at the same time as blocking's (a peak up to
		// 0.19 GiB higher).
		threads, err := l.db.Threads(ctx)
		if err != nil {
			return err
		}
		if threads == 1 {
			l.logf("link: training: drawing u's random pairs and the verified-number pairs beside blocking and comparing (DuckDB works on one thread)")
			l.sample = startSample(ctx, l.db, l.comps, l.opt.RandomPairs)
		}
	}
	if l.opt.Since != "" {
		ok, err := l.blockSince(ctx)
		if err != nil || ok {
			return err
		}
		l.logf("link: a full night: %s", l.res.FullReason)
	}
	st, err := block(ctx, l.db, l.brs, l.opt.MaxBlockSize, l.opt.MaxPairsPerRule)
	l.res.Rules = st
	if err != nil {
		return err
	}
	if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM pairs").Scan(&l.res.CandidatePairs); err != nil {
		return err
	}
	for i, r := range l.res.Rules {
		split, label := "", RuleLabel(i, r.Rule)
		if r.SplitBlocks > 0 {
			split = fmt.Sprintf(", %d blocks split", r.SplitBlocks)
		}
		l.logf("link: blocking %s: %d pairs, %d new%s (%.1fs)", label, r.Pairs, r.NewPairs, split, r.Seconds)
		switch {
		case r.Warning != "":
			l.logf("link: blocking %s: WARNING %s", label, r.Warning)
		case r.SkippedBlocks > 0:
			l.logf("link: blocking %s: %d blocks over the rule's max_block left out (%d pairs)", label, r.SkippedBlocks, r.SkippedPairs)
		}
	}
	return nil
}

func (l *linker) compare(ctx context.Context) error {
	if l.res.Incremental {
		n, carried, err := compareDelta(ctx, l.db, l.comps)
		l.res.PairsCompared, l.scoresCarried = n, carried
		l.detach()
		l.detach = nil
		if err == nil {
			l.logf("link: %d of %d candidate pairs compared, the rest carried from the last night", n, l.res.CandidatePairs)
		}
		return err
	}
	l.res.PairsCompared = l.res.CandidatePairs
	return compare(ctx, l.db, l.comps, "pairs", "gammas")
}

// blockSince builds tonight's pairs from the previous night's (Options.Since)
// when it can: the model must be the one held from that night. It reports
// false, with Result.FullReason, when it cannot.
func (l *linker) blockSince(ctx context.Context) (bool, error) {
	if l.held == nil || l.opt.Hold != l.opt.Since {
		l.res.FullReason = "tonight's model is not the one held from the last night"
		return false, nil
	}
	detach, err := attachPrevious(ctx, l.db, l.opt.Since)
	if err != nil {
		return false, err
	}
	atMost, err := blockDelta(ctx, l.db, l.brs, l.opt.MaxBlockSize, l.opt.MaxPairsPerRule)
	if errors.Is(err, ErrNoDelta) {
		detach()
		if _, err := l.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+store.Staged(store.CleanRecords)); err != nil {
			return false, err
		}
		l.res.FullReason = "the last night's candidate pairs cannot be carried (no pair_rules or no record fingerprints kept, the blocking rules changed, or one was dropped or might be tonight)"
		return false, nil
	}
	if err != nil {
		detach()
		return false, err
	}
	l.detach, l.res.Incremental = detach, true
	if _, err := l.db.ExecContext(ctx, `ALTER TABLE pairs_delta RENAME TO pairs`); err != nil {
		return false, err
	}
	if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM pairs").Scan(&l.res.CandidatePairs); err != nil {
		return false, err
	}
	// Each rule's pairs no earlier rule found, as a full night counts them.
	l.res.Rules = make([]RuleStats, len(l.brs))
	for i, br := range l.brs {
		l.res.Rules[i].Rule = br.String()
	}
	if err := countNewPairs(ctx, l.db, l.res.Rules); err != nil {
		return false, err
	}
	l.logf("link: blocking from the last night's pairs: %d candidate pairs", l.res.CandidatePairs)
	return true, writeBlockingRules(ctx, l.db, l.res.Rules, atMost) // no rule was dropped, or it would be a full night
}

// tfColumns are the columns whose term frequencies adjust a level.
func (l *linker) tfColumns() []string {
	var tf []string
	for _, c := range l.comps {
		for _, lv := range c.Levels {
			if lv.TF != "" {
				tf = append(tf, lv.TF)
			}
		}
	}
	return tf
}

// model fits the model, or reuses a saved one, and sets the thresholds.
func (l *linker) model(ctx context.Context) error {
	// The term frequencies, unless held with the model: only scoring reads
	// them, so they are counted here, where a night drawing its training
	// sample beside would otherwise wait for it.
	if l.held == nil {
		if err := buildTF(ctx, l.db, l.tfColumns()); err != nil {
			return err
		}
	}
	m := &Model{Comparisons: l.comps, TFMinimum: DefaultTFMinimum, Guards: DefaultGuards}
	if l.opt.Guards != nil && !*l.opt.Guards {
		m.Guards = nil
	}
	for _, b := range l.brs {
		m.Blocking = append(m.Blocking, b.String())
	}
	if l.opt.Model != "" {
		saved, err := LoadModel(l.opt.Model)
		if err != nil {
			return err
		}
		if err := sameComparisons(saved.Comparisons, l.comps); err != nil {
			return fmt.Errorf("model %s: %w", l.opt.Model, err)
		}
		// The saved training record stays: it says how the model was fitted,
		// and its match rate over all pairs is the prior.
		m = saved
		m.Training.Reused = l.opt.Model
		l.res.ModelFrom = "file"
	} else if l.held != nil {
		// The held model keeps its training record, which says how it was
		// fitted, and the thresholds are tonight's.
		// Guards and blocking rules are configuration, not training:
		// tonight's, as a fitted model would have them.
		held := l.held
		held.Guards, held.Blocking = m.Guards, m.Blocking
		held.LinkThreshold, held.ReviewThreshold = 0, 0
		held.Training.HeldFrom = filepath.Base(l.opt.Hold)
		m = held
		l.res.ModelFrom = "held"
	} else {
		var sample *trainingSample
		var err error
		if l.sample != nil { // drawn beside blocking and comparing
			sample, err = l.sample.wait()
			l.sample = nil
		} else {
			sample, err = drawSample(ctx, l.db, l.comps, l.opt.RandomPairs)
		}
		if err != nil {
			return fmt.Errorf("training sample: %w", err)
		}
		if err := train(ctx, l.db, m, l.brs, sample, l.logf); err != nil {
			return err
		}
		m.Training.CandidatePairs = l.res.CandidatePairs
		l.res.ModelFrom = "fitted"
	}
	if m.LinkThreshold == 0 && m.ReviewThreshold == 0 {
		m.LinkThreshold, m.ReviewThreshold = DefaultThresholds(m.Training.PriorFrom)
	}
	if l.opt.LinkThreshold != nil {
		m.LinkThreshold = *l.opt.LinkThreshold
	}
	if l.opt.ReviewThreshold != nil {
		m.ReviewThreshold = *l.opt.ReviewThreshold
	}
	if m.ReviewThreshold > m.LinkThreshold {
		m.ReviewThreshold = m.LinkThreshold
	}
	l.m = m
	l.logf("link: model (%s): lambda %.4g, EM %d iterations, converged %v", l.res.ModelFrom, m.Lambda, m.Training.Iterations, m.Training.Converged)
	return saveModel(ctx, l.db, m)
}

func (l *linker) score(ctx context.Context) error {
	if l.scoresCarried {
		return scoreDelta(ctx, l.db, l.m)
	}
	return score(ctx, l.db, l.m, "gammas", "scores")
}

func (l *linker) liftGuards(ctx context.Context) error {
	if err := liftGuards(ctx, l.db, l.m, l.res); err != nil {
		return err
	}
	l.logf("link: namesakes: %d of %d same-name, same-birth-date pairs at different addresses with verified numbers are two people; %d guards lifted (%d for a misspelt given name)",
		l.res.Namesakes, l.res.NamesakeChecked, l.res.GuardsLifted, l.res.TyposLifted)
	return nil
}

func (l *linker) ambiguous(ctx context.Context) error {
	if len(l.m.Guards) == 0 {
		return nil
	}
	if err := holdAmbiguous(ctx, l.db, l.m, l.res); err != nil {
		return err
	}
	l.logf("link: %d records with no date of birth match two people kept apart: their %d links go to review", l.res.AmbiguousRecords, l.res.AmbiguousLinks)
	return nil
}

// optouts scores the opt-out forms against the records (optouts.go).
func (l *linker) optouts(ctx context.Context) (err error) {
	l.res.OptoutForms, l.res.OptoutPairs, err = matchForms(ctx, l.db, l.m, l.opt.ExtraFields)
	if err == nil && l.res.OptoutForms > 0 {
		l.logf("link: %d opt-out forms scored against %d records they could be", l.res.OptoutForms, l.res.OptoutPairs)
	}
	return err
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
