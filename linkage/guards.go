package linkage

import (
	"context"
	"fmt"
	"strings"

	"github.com/selondon/carematch/store"
)

// GuardAmbiguous is the guard on the links of a record that matches two
// people the engine keeps apart.
const GuardAmbiguous = "ambiguous: a record with no date of birth that matches two people kept apart (a generation apart, or two NHS numbers)"

// holdAmbiguous holds back every link of a record with no date of birth
// that would link to two records known to be different people — a parent
// and child of the same name at one address (the generation-apart guard), or
// two different valid NHS numbers. Linked to either, it might show one
// person's record to the other's clinician; linked to both, it would merge
// them (in the million-record run, all four parent–child merges were such a
// record). Its links go to the review queue instead. Records with a date of
// birth are left to the weights: the same test on them held back many true
// links (a date two digits off reads as a generation apart), for no gain.
func holdAmbiguous(ctx context.Context, db *store.DB, m *Model, res *Result) error {
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
		WHERE s.guard_blocks
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
		cond, err := ResolveLevels(g.Reason, g.TypoSQL, m.Comparisons)
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
		  AND NOT a.withheld AND NOT b.withheld AND NOT ends_with(a.dob_text, '0101')`).
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
