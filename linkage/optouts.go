package linkage

import (
	"context"
	"fmt"
	"strings"

	"github.com/selondon/carematch/store"
)

// The opt-out forms as linkage sees them (stage catalog).
const (
	// OptoutPrep holds the forms (extract.OptoutForms) with prep's columns:
	// rid negative (-1, -2, … in form order, never a record's), source_id
	// "optouts", local_id the form's id. Withheld, quarantined and disputed
	// are false: a form is a person's own request.
	OptoutPrep = "optout_prep"
	// OptoutScores holds every pair of a form (rid_l) and a record (rid_r)
	// that a key puts together, with scores' columns: levels, match weight
	// and guard, by the night's model.
	OptoutScores = "optout_scores"
)

// optoutKeys are the keys that put a form and a record together: the same
// NHS number; a date of birth and one sound-alike name (a typo or a new
// family name in the other); a postcode and one name (no date of birth on
// the form, or a wrong one); both names and the year of birth (a day or
// month mistyped, at an address the person has left). Each key is an
// equi-join: a join on an OR of them would pair every form with every
// record. Both names alone paired each of 11,378 forms with 685 records on
// average at two million records (7.8 M pairs, 11.4 s): "John Smith" is
// everywhere; with the year, few.
var optoutKeys = []string{
	"p.nhs_number = f.nhs_number",
	"p.dob = f.dob AND p.given_phonetic = f.given_phonetic",
	"p.dob = f.dob AND p.family_phonetic = f.family_phonetic",
	"p.dob = f.dob AND p.given_phonetic = f.family_phonetic",
	"p.postcode = f.postcode AND p.family_phonetic = f.family_phonetic",
	"p.postcode = f.postcode AND p.given_phonetic = f.given_phonetic",
	"p.given_phonetic = f.given_phonetic AND p.family_phonetic = f.family_phonetic AND year(p.dob) = year(f.dob)",
}

// matchForms scores every opt-out form against the records it could be,
// with the night's model, into OptoutScores. Which person a form withholds
// is clustering's to say (mpi); this only weighs the evidence, as for any
// pair. It returns the forms and the pairs scored.
func matchForms(ctx context.Context, db *store.DB, m *Model, extras []string) (forms, pairs int64, err error) {
	var extraCols strings.Builder
	for _, x := range extras {
		fmt.Fprintf(&extraCols, ", NULL::VARCHAR AS extra_%s", x)
	}
	var keys []string
	for _, k := range optoutKeys {
		keys = append(keys, "SELECT f.rid AS rid_l, p.rid AS rid_r FROM "+OptoutPrep+" f JOIN prep p ON "+k+" WHERE NOT p.withheld AND NOT p.quarantined")
	}
	steps := []store.Step{
		{Name: "opt-out forms", SQL: `CREATE OR REPLACE TABLE ` + store.Staged(OptoutPrep) + ` AS
		SELECT (-row_number() OVER (ORDER BY file, line, local_id))::INTEGER AS rid, ` + prepColumns + extraCols.String() + `
		FROM optout_forms, (SELECT NULL::DATE AS latest) latest
		ORDER BY rid DESC`},
		{Name: "opt-out pairs", SQL: `CREATE OR REPLACE TEMP TABLE optout_pairs AS ` + strings.Join(keys, " UNION ") + ` ORDER BY 1 DESC, 2`},
		{Name: "opt-out comparisons", Go: func(ctx context.Context) error {
			return compareWith(ctx, db, m.Comparisons, OptoutPrep, "optout_pairs", "optout_gammas")
		}},
		{Name: "opt-out scores", Go: func(ctx context.Context) error {
			return scoreWith(ctx, db, m, OptoutPrep, "optout_gammas", store.Staged(OptoutScores))
		}},
		{Name: "opt-out working tables", SQL: `DROP TABLE optout_pairs; DROP TABLE optout_gammas`},
	}
	if err := db.RunSteps(ctx, "link", steps...); err != nil {
		return 0, 0, err
	}
	err = db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM "+OptoutPrep+"), (SELECT count(*) FROM "+OptoutScores+")").Scan(&forms, &pairs)
	return forms, pairs, err
}
