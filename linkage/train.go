package linkage

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/selondon/carematch/store"
)

// trainingSample is what training compares that blocking does not choose:
// u's random record pairs and m's pairs sharing a verified NHS number, each
// as the count of its pairs at every level, and how many records (not
// quarantined) they are drawn from. It needs prep and det_links only, so a
// night draws it beside blocking and comparing (sampleBeside).
type trainingSample struct {
	records          float64
	uCounts, mCounts [][]float64
	nRandom, nLabels int64
}

// drawSample draws and compares the training sample: at most randomPairs
// random pairs, and at most MaxLabelPairs verified-number pairs.
func drawSample(ctx context.Context, db *store.DB, comps []Comparison, randomPairs int) (*trainingSample, error) {
	s := &trainingSample{}
	// u: a deterministic sample of record pairs, each drawn on its own: two
	// records chosen by a hash of the draw's number, as many draws as
	// pairs wanted (less the few that draw one record twice).
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM prep WHERE NOT quarantined").Scan(&s.records); err != nil {
		return nil, err
	}
	// Small data needs fewer random pairs: at most RandomPairsPerRecord a
	// record (at least MinRandomPairs), so a 5,000-record run compares
	// 50,000 random pairs, not a million. At 50 a record FEBRL3's training
	// went 1.8 s -> 0.5 s with every F1 the same to four places; 50 -> 20
	// took a quarter of FEBRL3's whole-run CPU time (0.87-0.96 s -> 0.65-0.68
	// s).
	//
	// The pairs were once every pairing of two samples of √n records
	// each, so every record drawn was in √n pairs and u rose and fell with
	// the few hundred records drawn: four different draws of a
	// 3,000-person fixture (6,900 records) linked 2,867-2,869 true pairs
	// at 20 pairs a record and 2,864-2,869 at 10. Drawn pair by pair,
	// both give 2,867 every time, and the public sets stay within what
	// the draw moved before (docs/BENCHMARKS.md, the nineteenth session);
	// training at two million records takes as long as it did.
	randomPairs = min(randomPairs, max(MinRandomPairs, RandomPairsPerRecord*int(s.records)))
	var err error
	if s.uCounts, s.nRandom, err = pairLevelCounts(ctx, db, comps, "random", randomPairsQuery(randomPairs)); err != nil {
		return nil, err
	}
	// m from labels: pairs that share a verified NHS number, whatever their
	// other details (so date of birth's m is not biased by the
	// deterministic stage's own test).
	if s.mCounts, s.nLabels, err = pairLevelCounts(ctx, db, comps, "label", fmt.Sprintf(`
		SELECT a.rid AS rid_l, b.rid AS rid_r FROM prep a JOIN prep b
		ON a.nhs_number = b.nhs_number AND a.rid < b.rid AND a.nhs_verified AND b.nhs_verified
		WHERE NOT a.quarantined AND NOT b.quarantined
		ORDER BY hash(a.rid, b.rid), a.rid, b.rid LIMIT %d`, MaxLabelPairs)); err != nil {
		return nil, err
	}
	return s, nil
}

// train estimates u from the sample's random pairs, seeds m from its pairs
// a verified NHS number linked (for every comparison but the two that chose
// them: date of birth and NHS number), and fits m and lambda by EM over the
// candidate pairs. logf hears its progress: each part of training can take
// seconds at scale.
func train(ctx context.Context, db *store.DB, m *Model, brs []BlockingRule, s *trainingSample, logf func(string, ...any)) error {
	comps := m.Comparisons
	records, uCounts, nRandom, mCounts, nLabels := s.records, s.uCounts, s.nRandom, s.mCounts, s.nLabels
	m.Training.RandomPairs = nRandom
	logf("link: training: u from %d random record pairs", nRandom)
	m.U = make([][]float64, len(comps))
	for c := range comps {
		m.U[c] = normalise(comps[c], uCounts[c])
	}
	// A same-number pair the deterministic stage accepted is never a
	// random pair's outcome in practice: give it the smallest u seen.
	nhs, same, err := LevelOf(comps, "nhs_number", "same, accepted by the NHS stage")
	if err != nil {
		return err
	}
	m.U[nhs][same] = math.Min(m.U[nhs][same], 0.5/float64(max(nRandom, 1)))

	// m from the sample's pairs sharing a verified NHS number. Where there
	// are too few (data with no NHS numbers), m is estimated by EM in
	// training sessions, one per blocking rule, each on that rule's pairs
	// with the comparisons the rule blocks on held fixed, and averaged
	// (Splink's method).
	m.Training.LabelPairs = nLabels
	m.M = make([][]float64, len(comps))
	if nLabels >= minLabelPairs {
		logf("link: training: m from %d pairs sharing a verified NHS number", nLabels)
		m.Training.MSource = "labels"
		for c, cmp := range comps {
			m.M[c] = normalise(cmp, mCounts[c])
		}
		// Among pairs of one person, two different valid numbers are rare
		// but not impossible (a number typed onto the wrong record).
		counts := make([]float64, len(comps[nhs].Levels))
		_, different, err := LevelOf(comps, "nhs_number", "different")
		if err != nil {
			return err
		}
		counts[same], counts[different] = float64(nLabels), float64(nLabels)/1000
		m.M[nhs] = normalise(comps[nhs], counts)
	} else {
		m.Training.MSource = "em_sessions"
		logf("link: training: %d pairs share a verified NHS number, too few: m by EM, a session a blocking rule", nLabels)
		if err := sessions(ctx, db, m, brs, logf); err != nil {
			return err
		}
	}
	pats, err := patterns(ctx, db, comps, "gammas")
	if err != nil {
		return err
	}
	m.Training.Patterns = len(pats)
	logf("link: training: the match rate by EM over %d comparison patterns", len(pats))
	// The prior: EM over all candidate pairs with m and u held. Random pairs
	// include a few pairs of the same person — in a data set full of
	// duplicates, more than enough to inflate u for an exact date of birth —
	// so u is corrected for them, using the number of matches EM finds, and
	// the prior refitted.
	m.Lambda = 0.1
	m.em(pats, nil, 500, 1e-9)
	allPairs := records * (records - 1) / 2
	if allPairs > 0 {
		var candidates float64
		for _, p := range pats {
			candidates += p.count
		}
		emAll := math.Min(m.Lambda*candidates/allPairs, 0.5)
		m.Training.MatchRateEM = emAll
		// Where the data has the NHS numbers for it, the prior is theirs,
		// not EM's (prior.go says why).
		lambdaAll, from := emAll, PriorFromEM
		counts, err := countNumberPrior(ctx, db)
		if err != nil {
			return err
		}
		if r := counts.rate(records); r > 0 {
			lambdaAll, from = math.Min(r, 0.5), PriorFromNumbers
			m.Training.NumberPairs, m.Training.ExactPairs, m.Training.ExactPairsSharingNumber = int64(counts.Shared), int64(counts.Exact), int64(counts.ExactShared)
		}
		m.Training.PriorFrom = from
		logf("link: training: the prior from %s: %.4g of all pairs match (EM's %.4g, %+.2f bits)", from, lambdaAll, emAll, math.Log2(emAll/lambdaAll))
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

// The number of random pairs u is estimated from scales with the data up
// to Options.RandomPairs.
const (
	RandomPairsPerRecord = 10
	MinRandomPairs       = 50_000
)

// randomPairsQuery draws n record pairs (rid_l < rid_r) for u, each pair
// on its own: draw k takes the two records whose rids are hashed from k.
// prep's rids run from 1 to its count (prepare numbers the records so); a
// draw of one record twice, or of a quarantined record, is dropped. Mapping
// the draws onto the records not quarantined instead, by two joins, took
// 0.57 s at two million records against this query's 0.06 s.
func randomPairsQuery(n int) string {
	return fmt.Sprintf(`
		WITH n AS (SELECT max(rid)::UBIGINT AS n FROM prep),
		     draws AS (SELECT ((hash(k, 1) %% n) + 1)::INTEGER AS a, ((hash(k, 2) %% n) + 1)::INTEGER AS b FROM range(%d) t(k), n)
		SELECT least(a, b) AS rid_l, greatest(a, b) AS rid_r FROM draws
		WHERE a <> b AND a NOT IN (SELECT rid FROM prep WHERE quarantined) AND b NOT IN (SELECT rid FROM prep WHERE quarantined)`, n)
}

// minLabelPairs is how many verified-number pairs are enough to take m from.
const minLabelPairs = 200

// MaxLabelPairs is how many verified-number pairs m is taken from, a sample
// chosen by a hash of the pair when there are more: two million records
// have 900,000 such pairs, and comparing them all was a third of training
// for estimates that 200,000 give as well (a level seen once in a thousand
// pairs is still seen 200 times).
const MaxLabelPairs = 200_000

// sessions estimates m by EM on each blocking rule's pairs in turn.
func sessions(ctx context.Context, db *store.DB, m *Model, brs []BlockingRule, logf func(string, ...any)) error {
	comps := m.Comparisons
	sum := make([][]float64, len(comps))
	n := make([]float64, len(comps))
	for c := range comps {
		m.M[c] = defaultM(comps[c])
		sum[c] = make([]float64, len(comps[c].Levels))
	}
	if err := pairMasks(ctx, db, brs, "pairs", "pair_masks"); err != nil {
		return err
	}
	defer db.ExecContext(ctx, "DROP TABLE IF EXISTS pair_masks")
	byRule, err := sessionPatterns(ctx, db, comps, len(brs))
	if err != nil {
		return err
	}
	converged := true
	for i, br := range brs {
		blocked := BlockedComparisons(br)
		pats := byRule[i]
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
		logf("link: training: session %d of %d, %s: %d iterations", i+1, len(brs), RuleLabel(i, br.String()), s.Training.Iterations)
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

// sessionPatterns counts the candidate pairs' comparison patterns once, by
// the set of blocking rules that pair them (pair_masks), and gives each
// rule's session the patterns of its pairs, summed over the masks that hold
// the rule: one query, where a table and a count for each of the rules took
// 0.3 s of a 5,000-record run. Each session's patterns are in the order
// patterns() gives (by levels), so EM sees the same numbers in the same
// order.
func sessionPatterns(ctx context.Context, db *store.DB, comps []Comparison, rules int) ([][]pattern, error) {
	levels := strings.Join(levelColumns(comps), ", ")
	ruleOf, pats, err := queryPatterns(ctx, db, len(comps), fmt.Sprintf(`
		SELECT r.rule, %[1]s, sum(n)::BIGINT
		FROM (SELECT k.mask, %[1]s, count(*) AS n FROM gammas JOIN pair_masks k USING (rid_l, rid_r) GROUP BY ALL) m
		JOIN range(%[2]d) r(rule) ON m.mask & (1 << r.rule) <> 0
		GROUP BY ALL ORDER BY ALL`, levels, rules), true)
	if err != nil {
		return nil, err
	}
	out := make([][]pattern, rules)
	for i, p := range pats {
		out[ruleOf[i]] = append(out[ruleOf[i]], p)
	}
	return out, nil
}
