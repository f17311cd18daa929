package linkage

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// Model is a fitted Fellegi–Sunter model: for every comparison level the
// probability of seeing it among pairs of records of the same person (m) and
// of different people (u), the prior probability that a candidate pair is a
// match (lambda), and the thresholds that turn a match weight into a
// decision. It is saved with every run as model.json and can be reused.
type Model struct {
	Comparisons []Comparison `json:"comparisons"`
	M           [][]float64  `json:"m"`
	U           [][]float64  `json:"u"`
	Lambda      float64      `json:"lambda"`
	// Match weight = log2(lambda/(1-lambda)) + Σ log2(m/u) + term-frequency
	// adjustments. Pairs at or above LinkThreshold link; pairs in
	// [ReviewThreshold, LinkThreshold) go to the review queue.
	LinkThreshold   float64 `json:"link_threshold"`
	ReviewThreshold float64 `json:"review_threshold"`
	// TFMinimum floors a value's frequency in the term-frequency adjustment,
	// so one rare name cannot outweigh everything else.
	TFMinimum float64 `json:"tf_minimum"`
	// Guards are level patterns that never link automatically.
	Guards   []Guard  `json:"guards"`
	Training Training `json:"training"`
	Blocking []string `json:"blocking_rules"`
}

// Training says how the model was fitted.
type Training struct {
	Reused         string  `json:"reused_from,omitempty"` // a model file reused instead of training
	HeldFrom       string  `json:"held_from,omitempty"`   // the state database of the night it was held from
	CandidatePairs int64   `json:"candidate_pairs"`
	Patterns       int     `json:"patterns"`
	LabelPairs     int64   `json:"label_pairs"`  // pairs linked by verified NHS number, used to seed m
	RandomPairs    int64   `json:"random_pairs"` // pairs sampled to estimate u
	Iterations     int     `json:"em_iterations"`
	Converged      bool    `json:"em_converged"`
	FinalChange    float64 `json:"em_final_change"`
	// MSource says where m came from: "labels" (pairs sharing a verified
	// NHS number) or "em_sessions" (EM per blocking rule).
	// MatchRateAllPairs is the estimated share of all record pairs that are
	// matches, used to correct u for the matches among random pairs.
	MatchRateAllPairs float64 `json:"match_rate_all_pairs"`
	// PriorFrom says where MatchRateAllPairs came from (empty in a model
	// saved before it was recorded: EM's). MatchRateEM is EM's estimate
	// either way, for comparison; the three counts are what the numbers'
	// estimate was made from.
	PriorFrom               PriorSource `json:"prior_from,omitempty"`
	MatchRateEM             float64     `json:"match_rate_em,omitempty"`
	NumberPairs             int64       `json:"number_pairs,omitempty"`
	ExactPairs              int64       `json:"exact_pairs,omitempty"`
	ExactPairsSharingNumber int64       `json:"exact_pairs_sharing_number,omitempty"`
	MSource                 string      `json:"m_source"`
	SessionsConverged       bool        `json:"em_sessions_converged,omitempty"`
}

// Default thresholds, as match weights (log2 odds, with the prior over all
// record pairs): a weight of 2 is a posterior probability of 0.8, -4 of 0.06.
// Chosen on the fixtures and FEBRL (docs/LINKAGE.md): most matches score far
// above 2 and most non-matches far below -4; the guards, not the threshold,
// keep household hard negatives apart. These go with EM's prior; a prior
// from the NHS numbers has its own (NumbersLinkThreshold).
const (
	DefaultLinkThreshold   = 2.0
	DefaultReviewThreshold = -4.0
	DefaultTFMinimum       = 0.0001
)

// The default thresholds with the prior from the NHS numbers, half a bit
// under EM's. EM's prior sat above the true match rate by 0.1 bits on the
// 35,000-record fixtures the thresholds were chosen on and by 0.4 at a
// million records; the numbers' sits 0.05 under it at every size. Half a bit
// lower links and reviews at a million records exactly what EM's prior and
// its thresholds did (the same pairs; two more true pairs on two of six
// 20,000-person seeds), and does not drift as the region grows
// (docs/LINKAGE.md, stage 5).
const (
	NumbersLinkThreshold   = 1.5
	NumbersReviewThreshold = -4.5
)

// PriorSource says what a model's prior was estimated from.
type PriorSource string

const (
	// PriorFromNumbers: the pairs sharing a verified NHS number, over the
	// share of exactly agreeing pairs that do (prior.go).
	PriorFromNumbers PriorSource = "nhs_numbers"
	// PriorFromEM: EM's match rate over the candidate pairs, where the data
	// has too few numbers.
	PriorFromEM PriorSource = "em"
)

// DefaultThresholds are the link and review thresholds for a model whose
// prior came from priorFrom (Training.PriorFrom; empty is EM's).
func DefaultThresholds(priorFrom PriorSource) (link, review float64) {
	if priorFrom == PriorFromNumbers {
		return NumbersLinkThreshold, NumbersReviewThreshold
	}
	return DefaultLinkThreshold, DefaultReviewThreshold
}

// Prior is the match weight of the prior: the log odds that two records
// drawn at random are the same person (Splink's convention). It does not
// depend on the blocking rules, so adding a rule never changes a pair's
// weight. Lambda, the match rate among candidate pairs, is EM's business.
func (m *Model) Prior() float64 {
	p := m.Training.MatchRateAllPairs
	if p <= 0 {
		p = m.Lambda
	}
	return math.Log2(p / (1 - p))
}

// Weight is the weight of level l of comparison c: 0 for a null level.
func (m *Model) Weight(c, l int) float64 {
	if m.Comparisons[c].Levels[l].Null {
		return 0
	}
	return math.Log2(m.M[c][l] / m.U[c][l])
}

// Probability turns a match weight into a posterior probability.
func Probability(w float64) float64 { return 1 / (1 + math.Pow(2, -w)) }

// Save writes the model as JSON.
func (m *Model) Save(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// LoadModel reads a saved model.
func LoadModel(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseModel(b, path)
}

// parseModel reads a model's JSON; from names it in errors.
func parseModel(b []byte, from string) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model %s: %w", from, err)
	}
	if len(m.M) != len(m.Comparisons) || len(m.U) != len(m.Comparisons) {
		return nil, fmt.Errorf("model %s: m and u do not match its comparisons", from)
	}
	return &m, nil
}

// normalise turns counts per level into probabilities over the non-null
// levels, with add-half smoothing so no level is impossible.
func normalise(cmp Comparison, counts []float64) []float64 {
	out := make([]float64, len(counts))
	total := 0.0
	for l, n := range counts {
		if !cmp.Levels[l].Null {
			total += n + 0.5
		}
	}
	for l, n := range counts {
		if cmp.Levels[l].Null {
			out[l] = 1
		} else {
			out[l] = (n + 0.5) / total
		}
	}
	return out
}

// defaultM is a starting m for a comparison with no labels: most mass on its
// first non-null level, falling off down the list.
func defaultM(cmp Comparison) []float64 {
	counts := make([]float64, len(cmp.Levels))
	w := 90.0
	for l, lv := range cmp.Levels {
		if lv.Null {
			continue
		}
		counts[l] = w
		w = math.Max(w/4, 1)
	}
	return normalise(cmp, counts)
}
