package linkage

import (
	"context"
	"fmt"

	"github.com/selondon/carematch/store"
)

// deterministic is the NHS-number stage, after the Master Person Service's
// cross-check: two records with the same valid number link at once when
// their dates of birth agree — exactly, or with the known benign differences
// (day and month swapped, a 1 January placeholder), or one is missing where
// both numbers are verified and both names agree — and their given names
// are not clearly different (the guard against a twin's number on the
// other twin's record). Pairs whose demographics clearly disagree — two of
// date of birth, given name and family name, or a different given name and
// sex on one date — are NHS number conflicts: not linked on the number, and
// reported. Everything else goes on to the probabilistic stage.
//
// A record in such a conflict whose number is not verified (status 01) and
// that agrees with none of the number's other holders is marked
// nhs_disputed: most often someone else's number typed onto it. From then
// on its number is no evidence either way — it neither keeps the record from
// its true person (two valid numbers never share a person) nor counts
// against a match — and the record is linked on its demographics alone.
func deterministic(ctx context.Context, db *store.DB, res *Result) error {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE nhs_pairs AS
		SELECT a.rid AS rid_l, b.rid AS rid_r FROM prep a JOIN prep b ON a.nhs_number = b.nhs_number AND a.rid < b.rid
		WHERE NOT a.withheld AND NOT b.withheld`); err != nil {
		return fmt.Errorf("NHS number stage: %w", err)
	}
	none, err := noPairs(ctx, db, "nhs_pairs")
	if err != nil {
		return fmt.Errorf("NHS number stage: %w", err)
	}
	comps := DefaultComparisons()
	var cases []any
	for _, name := range []string{"given_name", "family_name", "date_of_birth", "sex"} {
		c, err := comparisonNamed(comps, name)
		if err != nil {
			return err
		}
		cases = append(cases, levelSQL(c, none))
	}
	// The date of birth agrees: exactly, or with the benign differences.
	q, err := ResolveLevels("NHS number stage", fmt.Sprintf(`
		CREATE OR REPLACE TEMP TABLE nhs_eval AS
		SELECT p.rid_l, p.rid_r, %s AS g_given, %s AS g_family, %s AS g_dob, %s AS g_sex,
			l.nhs_verified AND r.nhs_verified AS both_verified
		FROM nhs_pairs p JOIN prep l ON l.rid = p.rid_l JOIN prep r ON r.rid = p.rid_r `+nameListJoins+`;
		CREATE OR REPLACE TEMP TABLE nhs_judged AS
		SELECT rid_l, rid_r,
			g_dob IN ({date_of_birth:exact}, {date_of_birth:exact, 1 January}, {date_of_birth:day and month swapped}, {date_of_birth:1 January placeholder})
			OR (g_dob = {date_of_birth:missing} AND both_verified
				AND g_given IN ({given_name:exact}, {given_name:nickname}, {given_name:short form})
				AND g_family IN ({family_name:exact}, {family_name:previous family name}, {family_name:part of a double-barrelled name}, {family_name:jaro-winkler >= 0.92})) AS dob_ok,
			(g_dob = {date_of_birth:different})::INT + (g_given = {given_name:different})::INT + (g_family = {family_name:different})::INT AS disagree,
			(g_given = {given_name:different}) AS given_differs, (g_sex = {sex:different}) AS sex_differs
		FROM nhs_eval;
		CREATE OR REPLACE TABLE det_links AS
		SELECT rid_l, rid_r FROM nhs_judged WHERE dob_ok AND NOT given_differs;
		CREATE OR REPLACE TABLE nhs_conflicts AS
		SELECT rid_l, rid_r,
			CASE WHEN disagree >= 2 THEN 'date of birth, given name or family name disagree'
			     ELSE 'same date of birth but a different given name and sex' END AS reason
		FROM nhs_judged
		WHERE NOT (dob_ok AND NOT given_differs) AND (disagree >= 2 OR (dob_ok AND given_differs AND sex_differs));
		UPDATE prep SET nhs_disputed = true
		WHERE NOT nhs_verified
		  AND rid IN (SELECT rid_l FROM nhs_conflicts UNION ALL SELECT rid_r FROM nhs_conflicts)
		  AND rid NOT IN (SELECT rid_l FROM det_links UNION ALL SELECT rid_r FROM det_links);`,
		cases...), comps)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("NHS number stage: %w", err)
	}
	return db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM nhs_pairs), (SELECT count(*) FROM det_links), (SELECT count(*) FROM nhs_conflicts)`).
		Scan(&res.NHSPairs, &res.DeterministicPairs, &res.Conflicts)
}
