package mpi

import (
	"fmt"

	"github.com/selondon/carematch/store"
)

// reviewPairsSQL makes review_pairs, the review queue: one item per two
// persons the model could not decide between — a link refused to keep a
// person coherent, a pair in the review band, or one a guard kept from
// linking — unless the two persons hold different valid NHS numbers (two
// people; nothing to decide), and the NHS-number conflicts still in two
// persons, one item per two persons as well. An item shows the refused
// link, else the pair of records with the strongest evidence; once an
// analyst decided a pair, no pair of the same two persons comes back.
func reviewPairsSQL(reviewThreshold, linkThreshold float64, maxClusterSize int) []store.Step {
	// Two persons (by roots, the lower first) whose pair an analyst decided,
	// and those already queued: anti-joined on the two roots.
	const decided = `SELECT least(da.root, db.root) AS root_l, greatest(da.root, db.root) AS root_r
		FROM decided_pairs d JOIN clusters da ON da.rid = d.rid_l JOIN clusters db ON db.rid = d.rid_r`
	const queued = `SELECT least(qa.root, qb.root) AS root_l, greatest(qa.root, qb.root) AS root_r
		FROM review_pairs q JOIN clusters qa ON qa.rid = q.rid_l JOIN clusters qb ON qb.rid = q.rid_r`
	return []store.Step{{Name: "review candidates", SQL: fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE review_candidates AS
		SELECT `+store.ReviewBand.SQL()+` AS kind, 1 AS prio, s.*, least(a.root, b.root) AS root_l, greatest(a.root, b.root) AS root_r
		FROM scores s JOIN clusters a ON a.rid = s.rid_l JOIN clusters b ON b.rid = s.rid_r
		WHERE a.root <> b.root
		  AND ((s.guard IS NULL AND s.weight >= %[1]g AND s.weight < %[2]g) OR (s.guard IS NOT NULL AND NOT s.guard_blocks AND s.weight >= %[1]g))
		UNION ALL BY NAME
		SELECT `+store.ReviewChain.SQL()+` AS kind, 0 AS prio,
		  s.* REPLACE (CASE WHEN c.size IS NOT NULL
		      THEN 'over-large: linking them would make a person of ' || c.size || ' records (the most a probabilistic link may make is %[3]d)'
		      ELSE 'chain: linking them would put ' || pl.source_id || ':' || pl.local_id || ' and ' || pr.source_id || ':' || pr.local_id ||
		           ' in one person, and those two score ' || round(ns.weight, 1) || ', below the review band' END AS guard),
		  least(a.root, b.root) AS root_l, greatest(a.root, b.root) AS root_r
		FROM chain_links c JOIN scores s USING (rid_l, rid_r)
		JOIN clusters a ON a.rid = c.rid_l JOIN clusters b ON b.rid = c.rid_r
		LEFT JOIN prep pl ON pl.rid = c.against_l LEFT JOIN prep pr ON pr.rid = c.against_r
		-- The pairs a link was refused against, taken from scores first:
		-- a join of every score made DuckDB hash all of them.
		LEFT JOIN (SELECT n.rid_l, n.rid_r, n.weight FROM scores n SEMI JOIN chain_links k ON n.rid_l = k.against_l AND n.rid_r = k.against_r) ns
		  ON ns.rid_l = c.against_l AND ns.rid_r = c.against_r
		WHERE a.root <> b.root`, reviewThreshold, linkThreshold, maxClusterSize)},
		// The numbers of the persons a candidate names only (176,000 of
		// 5.7 million at ten million records; all of them took 3.4 s there).
		{Name: "persons' numbers", SQL: `CREATE OR REPLACE TEMP TABLE person_nhs AS
		SELECT c.root, max(p.nhs_number) FILTER (NOT p.nhs_disputed) AS nhs FROM clusters c JOIN prep p USING (rid)
		WHERE c.root IN (SELECT root_l FROM review_candidates UNION SELECT root_r FROM review_candidates)
		GROUP BY c.root`},
		// review_pairs takes the scores' columns (the levels vary with the
		// configured comparisons) but guard_scored, the guard before
		// lifting, which only the next night reads; so does every row
		// added to it (below, and the opt-out items in optouts.go).
		{Name: "review queue", SQL: `CREATE OR REPLACE TABLE review_pairs AS
		SELECT * EXCLUDE (root_l, root_r, k, prio, guard_scored) FROM (
			SELECT i.*, row_number() OVER (PARTITION BY root_l, root_r ORDER BY prio, weight DESC, rid_l, rid_r) AS k
			FROM review_candidates i
			JOIN person_nhs na ON na.root = i.root_l JOIN person_nhs nb ON nb.root = i.root_r
			ANTI JOIN (` + decided + `) d USING (root_l, root_r)
			WHERE (na.nhs IS NULL OR nb.nhs IS NULL OR na.nhs = nb.nhs))
		WHERE k = 1;
		-- NHS number conflicts still in two persons and not yet decided: an
		-- analyst says whether the number or the demographics are wrong. One
		-- item per two persons, however many of their records conflict (a
		-- record with someone else's number conflicts with each of that
		-- person's records), and none for two persons already queued: one
		-- decision answers both questions.
		INSERT INTO review_pairs BY NAME
		SELECT * EXCLUDE (root_l, root_r, k) FROM (
			SELECT *, row_number() OVER (PARTITION BY root_l, root_r ORDER BY weight DESC NULLS LAST, rid_l, rid_r) AS k FROM (
				SELECT ` + store.ReviewNHSConflict.SQL() + ` AS kind, c.rid_l, c.rid_r, s.* EXCLUDE (rid_l, rid_r, guard_scored),
					least(a.root, b.root) AS root_l, greatest(a.root, b.root) AS root_r
				FROM nhs_conflicts c LEFT JOIN scores s USING (rid_l, rid_r)
				JOIN clusters a ON a.rid = c.rid_l JOIN clusters b ON b.rid = c.rid_r
				WHERE a.root <> b.root)
			ANTI JOIN (` + decided + `) d USING (root_l, root_r)
			ANTI JOIN (` + queued + `) q USING (root_l, root_r))
		WHERE k = 1;
		DROP TABLE review_candidates; DROP TABLE person_nhs`}}
}
