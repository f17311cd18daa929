package mpi

import (
	"fmt"

	"github.com/selondon/carematch/store"
)

// reviewPairsSQL makes review_pairs, the review queue: one item per two
// persons the model could not decide between — a pair in the review band,
// or one a guard kept from linking — unless the two persons hold different
// valid NHS numbers (two people; nothing to decide), and the NHS-number
// conflicts still in two persons. An item shows the pair of records with the
// strongest evidence; a pair an analyst decided does not come back.
func reviewPairsSQL(reviewThreshold, linkThreshold float64) []store.Step {
	return []store.Step{{Name: "persons' numbers", SQL: `CREATE OR REPLACE TEMP TABLE person_nhs AS SELECT c.root, max(p.nhs_number) FILTER (NOT p.nhs_disputed) AS nhs FROM clusters c JOIN prep p USING (rid) GROUP BY c.root`},
		{Name: "review queue", SQL: fmt.Sprintf(`CREATE OR REPLACE TABLE review_pairs AS
		SELECT 'review' AS kind, * EXCLUDE (root_l, root_r, k) FROM (
			SELECT s.*, least(a.root, b.root) AS root_l, greatest(a.root, b.root) AS root_r,
				row_number() OVER (PARTITION BY least(a.root, b.root), greatest(a.root, b.root) ORDER BY s.weight DESC, s.rid_l, s.rid_r) AS k
			FROM scores s JOIN clusters a ON a.rid = s.rid_l JOIN clusters b ON b.rid = s.rid_r
			JOIN person_nhs na ON na.root = a.root JOIN person_nhs nb ON nb.root = b.root
			WHERE a.root <> b.root AND (na.nhs IS NULL OR nb.nhs IS NULL OR na.nhs = nb.nhs)
			  AND NOT EXISTS (SELECT 1 FROM decided_pairs d JOIN clusters da ON da.rid = d.rid_l JOIN clusters db ON db.rid = d.rid_r
			                  WHERE least(da.root, db.root) = least(a.root, b.root) AND greatest(da.root, db.root) = greatest(a.root, b.root))
			  AND ((s.guard IS NULL AND s.weight >= %g AND s.weight < %g) OR (s.guard IS NOT NULL AND NOT s.guard_blocks AND s.weight >= %g)))
		WHERE k = 1
		UNION ALL BY NAME
		-- NHS number conflicts still in two persons and not yet decided: an
		-- analyst says whether the number or the demographics are wrong.
		SELECT `+store.ExcNHSConflict.SQL()+` AS kind, k.rid_l, k.rid_r, s.* EXCLUDE (rid_l, rid_r)
		FROM nhs_conflicts k LEFT JOIN scores s USING (rid_l, rid_r)
		JOIN clusters a ON a.rid = k.rid_l JOIN clusters b ON b.rid = k.rid_r
		WHERE a.root <> b.root
		  AND NOT EXISTS (SELECT 1 FROM decided_pairs d WHERE d.rid_l = k.rid_l AND d.rid_r = k.rid_r)`,
			reviewThreshold, linkThreshold, linkThreshold)}}
}
