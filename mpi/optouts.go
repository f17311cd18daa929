package mpi

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/store"
)

// How an opt-out form withholds a person (optout_persons.how).
const (
	OptoutByNumber  = "nhs_number" // a record of the person holds the form's NHS number
	OptoutByAnalyst = "analyst"    // an analyst linked the form and a record of the person
	OptoutByDetails = "details"    // the form's details match one person, at or above the link threshold and held by no guard
	// OptoutInDoubt: the form matches the person only in the review band
	// (or a guard holds the match), or matches several persons: the person
	// is withheld until an analyst decides, and the pair is a review item.
	OptoutInDoubt = "in_doubt"
)

// OptoutStats counts what the opt-out forms did.
type OptoutStats struct {
	Forms     int64 `json:"forms"`
	Withheld  int64 `json:"persons_withheld"` // persons withheld for a form, in doubt or not
	InDoubt   int64 `json:"in_doubt"`         // review items of kind optout
	Unmatched int64 `json:"unmatched"`        // forms that match no person (exceptions optout_unmatched)
}

// formDecisions splits the decisions about an opt-out form (one of its
// records is a form of linkage.OptoutPrep) from those about records, and
// writes the former, with the record's rid, to optout_decided.
func formDecisions(ctx context.Context, db *store.DB, ds []Decision) ([]Decision, error) {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE optout_decided (form_id VARCHAR, source_id VARCHAR, local_id VARCHAR, kind VARCHAR)`); err != nil {
		return nil, err
	}
	forms := map[store.RecordKey]bool{}
	if err := scan(ctx, db, "SELECT source_id, local_id FROM "+linkage.OptoutPrep, func(rs *sql.Rows) error {
		var k store.RecordKey
		if err := rs.Scan(&k.Source, &k.Local); err != nil {
			return err
		}
		forms[k] = true
		return nil
	}); err != nil {
		return nil, err
	}
	var records []Decision
	var decided [][4]string
	for _, d := range ds {
		switch {
		case forms[d.Left] && d.Right != (store.RecordKey{}):
			decided = append(decided, [4]string{d.Left.Local, d.Right.Source, d.Right.Local, d.Kind})
		case d.Right != (store.RecordKey{}) && forms[d.Right]:
			decided = append(decided, [4]string{d.Right.Local, d.Left.Source, d.Left.Local, d.Kind})
		default:
			records = append(records, d)
		}
	}
	return records, db.AppendEach(ctx, "optout_decided", len(decided), func(i int) []driver.Value {
		return []driver.Value{decided[i][0], decided[i][1], decided[i][2], decided[i][3]}
	})
}

// optoutSteps decide which persons each opt-out form withholds
// (optout_persons: form_id, master_id, how, weight), queue the forms in
// doubt (review_pairs, kind optout) and report the forms that match nobody
// (exceptions optout_unmatched). Privacy comes first in doubt:
//
//   - a record holding the form's NHS number, or an analyst's link, names
//     the person;
//   - otherwise the form's details, scored like any pair (linkage.OptoutScores):
//     at or above the link threshold with no guard, one person is that
//     person; two or more such persons, or a form already named by its
//     number whose details also match someone else, are in doubt;
//   - every person the form matches only in the review band (or behind a
//     guard that does not block) is in doubt too, whatever else the form
//     matched: most often the same human in a second person, a link the
//     night missed (at two million records 30 of 11,378 opted-out persons
//     kept a record in portal/ that way when a sure match closed the form);
//   - an analyst's no_link between the form and a record drops that
//     person's match.
//
// A person in doubt is withheld from portal/ until an analyst decides (the
// item's kind is optout): showing someone who asked not to be shown is the
// error that cannot be taken back.
func optoutSteps(reviewThreshold, linkThreshold float64) []store.Step {
	return []store.Step{
		{Name: "opt-out matches", SQL: fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE optout_hits AS
		SELECT f.local_id AS form_id, x.master_id, 1 AS r, NULL::DOUBLE AS weight
		FROM %[1]s f JOIN prep p ON p.nhs_number = f.nhs_number JOIN xref x ON x.rid = p.rid
		UNION ALL
		SELECT d.form_id, x.master_id, 2, NULL FROM optout_decided d JOIN prep p USING (source_id, local_id) JOIN xref x ON x.rid = p.rid
		WHERE d.kind = 'link'
		UNION ALL
		SELECT f.local_id, x.master_id, CASE WHEN s.weight >= %[4]g AND s.guard IS NULL THEN 3 ELSE 4 END, s.weight
		FROM %[2]s s JOIN %[1]s f ON f.rid = s.rid_l JOIN xref x ON x.rid = s.rid_r
		WHERE s.weight >= %[3]g AND NOT s.guard_blocks
		  AND NOT EXISTS (SELECT 1 FROM optout_decided d JOIN prep p USING (source_id, local_id) JOIN xref xd ON xd.rid = p.rid
		                  WHERE d.kind = 'no_link' AND d.form_id = f.local_id AND xd.master_id = x.master_id)`,
			linkage.OptoutPrep, linkage.OptoutScores, reviewThreshold, linkThreshold)},
		{Name: "opt-out persons", SQL: `CREATE OR REPLACE TABLE optout_persons AS
		WITH h AS (SELECT form_id, master_id, min(r) AS r, max(weight) AS weight FROM optout_hits GROUP BY ALL),
		     f AS (SELECT form_id, count(*) FILTER (r <= 3) AS sure FROM h GROUP BY form_id)
		SELECT h.form_id, h.master_id,
			CASE WHEN h.r = 1 THEN '` + OptoutByNumber + `' WHEN h.r = 2 THEN '` + OptoutByAnalyst + `'
			     WHEN h.r = 3 AND f.sure = 1 THEN '` + OptoutByDetails + `' ELSE '` + OptoutInDoubt + `' END AS how,
			h.weight
		FROM h JOIN f USING (form_id)
		ORDER BY h.form_id, h.master_id`},
		// One item per form and person in doubt: the form against the
		// person's record it matches best (review_pairs' columns: those of
		// scores but guard_scored, as in review.go).
		{Name: "opt-out review items", SQL: `INSERT INTO review_pairs BY NAME
		SELECT ` + store.ReviewOptout.SQL() + ` AS kind, s.* EXCLUDE (k, guard_scored) FROM (
			SELECT s.*, row_number() OVER (PARTITION BY o.form_id, o.master_id ORDER BY s.weight DESC, s.rid_r) AS k
			FROM optout_persons o JOIN ` + linkage.OptoutPrep + ` f ON f.local_id = o.form_id
			JOIN ` + linkage.OptoutScores + ` s ON s.rid_l = f.rid JOIN xref x ON x.rid = s.rid_r AND x.master_id = o.master_id
			WHERE o.how = '` + OptoutInDoubt + `') s
		WHERE k = 1`},
		{Name: "opt-out forms unmatched", SQL: `INSERT INTO exceptions
		SELECT ` + store.ExcOptoutUnmatch.SQL() + `, f.source_id, f.local_id, f.line, NULL,
			'this opt-out form matches no person: no record holds its NHS number and none has its details; until it does it withholds nobody',
			NULL, f.file
		FROM ` + linkage.OptoutPrep + ` f WHERE f.local_id NOT IN (SELECT form_id FROM optout_persons)`},
		{Name: "opt-out decisions that no longer apply", SQL: `INSERT INTO exceptions
		SELECT ` + store.ExcStaleDecision.SQL() + `, d.source_id, d.local_id, NULL, NULL,
			'an analyst''s ' || d.kind || ' about opt-out form ' || d.form_id || ' no longer applies: the record is not in tonight''s extracts',
			d.form_id, NULL
		FROM optout_decided d WHERE NOT EXISTS (SELECT 1 FROM prep p WHERE p.source_id = d.source_id AND p.local_id = d.local_id)`},
	}
}

// optoutStats counts what the forms did.
func optoutStats(ctx context.Context, db *store.DB) (*OptoutStats, error) {
	st := &OptoutStats{}
	err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM `+linkage.OptoutPrep+`),
		(SELECT count(DISTINCT master_id) FROM optout_persons),
		(SELECT count(*) FROM review_pairs WHERE kind = `+store.ReviewOptout.SQL()+`),
		(SELECT count(*) FROM exceptions WHERE kind = `+store.ExcOptoutUnmatch.SQL()+`)`).
		Scan(&st.Forms, &st.Withheld, &st.InDoubt, &st.Unmatched)
	return st, err
}
