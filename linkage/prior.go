package linkage

import (
	"context"
	"fmt"

	"github.com/selondon/carematch/store"
)

// The prior — the share of all record pairs that are the same person — taken
// from the NHS numbers rather than from EM.
//
// EM fits the match rate over the candidate pairs with u taken from random
// pairs. But the candidates were chosen because they agree on a blocking key,
// and among them strangers born the same day with the same given name agree
// on exactly what random pairs almost never do: EM counts them as matches. The
// more people a region holds, the more such strangers the rules find, so EM's
// prior grows with the region (on the fixtures 1.07 times the true matches at
// 35,000 records, 1.6 at two million, 3.4 at ten million: every weight 1.7 bits
// higher at ten million than at 35,000, as if the link threshold had fallen
// from 2 to 0.3). docs/LINKAGE.md, stage 5.
//
// The numbers give an estimate that does not: the pairs that share a verified
// NHS number (S) are matches, and the share r of all matches they are can be
// read from pairs that agree exactly on given name, family name, date of birth
// and postcode — nearly all of them the same person — as the share of those
// that share a verified number. The matches among all pairs are then S / r
// (Splink's deterministic-rule estimate, with the rule's recall measured
// instead of supplied). On the fixtures S / r is 0.95–0.97 of the true matches
// from 35,000 to ten million records.

// numberPrior is what the estimate is made from.
type numberPrior struct {
	// Shared is the number of pairs of records that share a verified NHS
	// number; Exact the pairs that agree exactly on the four fields, and
	// ExactShared those of them that also share a verified number.
	Shared, Exact, ExactShared float64
}

// Enough labelled pairs for the estimate: below these (data without NHS
// numbers, such as FEBRL) the prior is EM's.
const (
	minNumberPairs      = minLabelPairs
	minExactSharedPairs = 100
)

// usable says whether the counts are enough to estimate from.
func (p numberPrior) usable() bool {
	return p.Shared >= minNumberPairs && p.ExactShared >= minExactSharedPairs && p.Exact > 0
}

// rate is the estimated share of all pairs of n records that are matches.
func (p numberPrior) rate(n float64) float64 {
	all := n * (n - 1) / 2
	if all <= 0 || !p.usable() {
		return 0
	}
	return p.Shared * p.Exact / p.ExactShared / all
}

// countNumberPrior counts the pairs numberPrior holds by grouping prep, not
// joining it: one pass over the records, grouped three ways at once (by the
// number, by the four fields, by both), no pair made. The four fields are
// grouped by a hash of them: two different sets of details that hash alike
// would add a few pairs to an estimate. The records are those training
// reads: all but the quarantined.
func countNumberPrior(ctx context.Context, db *store.DB) (numberPrior, error) {
	var p numberPrior
	err := db.QueryRowContext(ctx, `
		WITH r AS (
			SELECT CASE WHEN nhs_verified AND NOT nhs_disputed THEN nhs_number END AS number,
			       CASE WHEN given_name IS NOT NULL AND family_name IS NOT NULL AND dob IS NOT NULL AND postcode IS NOT NULL
			            THEN hash(given_name, family_name, dob, postcode) END AS details
			FROM prep
			WHERE NOT quarantined),
		g AS (
			-- grouping(): 1 for the groups by number, 2 by details, 0 by both
			SELECT grouping(number, details) AS grouped_by, number, details, count(*) AS n
			FROM r
			GROUP BY GROUPING SETS ((number), (details), (details, number)))
		SELECT coalesce(sum(n * (n - 1) // 2) FILTER (WHERE grouped_by = 1 AND number IS NOT NULL), 0)::DOUBLE,
		       coalesce(sum(n * (n - 1) // 2) FILTER (WHERE grouped_by = 2 AND details IS NOT NULL), 0)::DOUBLE,
		       coalesce(sum(n * (n - 1) // 2) FILTER (WHERE grouped_by = 0 AND details IS NOT NULL AND number IS NOT NULL), 0)::DOUBLE
		FROM g`).Scan(&p.Shared, &p.Exact, &p.ExactShared)
	if err != nil {
		return p, fmt.Errorf("the prior from NHS numbers: %w", err)
	}
	return p, nil
}
