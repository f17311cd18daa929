package mpi

import (
	"fmt"

	"github.com/selondon/carematch/store"
)

// DefaultMaxClusterSize is IndexOptions.MaxClusterSize's default: a person
// with more records than this is flagged.
const DefaultMaxClusterSize = 12

// checksSQL is the index's own quality checks, as exceptions: NHS-number
// conflicts (pairs the NHS stage would not link, and links clustering cut),
// suspicious persons (over-large, or chained: two of its records score
// below the review band, which clustering found: table chained),
// within-source duplicates, and persons holding several valid NHS numbers.
func checksSQL(maxClusterSize int) []store.Step {
	return []store.Step{
		// Over-large persons are looked for only among the records of
		// components over the size (clusters.size, writeClusters): at ten
		// million records 1.4 s → 0.00 s (docs/BENCHMARKS.md, the
		// twenty-ninth session).
		{Name: "over-large persons", SQL: fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE large AS
		SELECT root, count(*) AS n FROM clusters WHERE size > %[1]d GROUP BY root HAVING count(*) > %[1]d`, maxClusterSize)},
		// Exceptions of this stage.
		{Name: "NHS-number conflicts", SQL: `INSERT INTO exceptions
		SELECT ` + store.ExcNHSConflict.SQL() + `, p.source_id, p.local_id, p.line, 'nhs_number',
			'shares a valid NHS number with ' || o.source_id || ':' || o.local_id || ' but ' || k.reason || ': not linked on the number',
			p.nhs_number, p.file
		FROM (SELECT rid_l AS me, rid_r AS other, * FROM nhs_conflicts UNION ALL SELECT rid_r, rid_l, * FROM nhs_conflicts) k
		JOIN prep p ON p.rid = k.me JOIN prep o ON o.rid = k.other`},
		{Name: "cut links", SQL: `INSERT INTO exceptions
		SELECT ` + store.ExcNHSConflict.SQL() + `, p.source_id, p.local_id, p.line, 'nhs_number',
			'link to ' || o.source_id || ':' || o.local_id || ' (weight ' || round(k.weight, 1) || ') cut: it would put two different valid NHS numbers in one person',
			p.nhs_number, p.file
		FROM (SELECT rid_l AS me, rid_r AS other, * FROM cut_links UNION ALL SELECT rid_r, rid_l, * FROM cut_links) k
		JOIN prep p ON p.rid = k.me JOIN prep o ON o.rid = k.other`},
		// A suspicious person's records are picked by its root before they
		// are joined to prep and xref, not filtered after every record was
		// joined: at ten million records 4.2–6.1 s → 0.23–0.28 s, the same
		// rows.
		{Name: "suspicious persons", SQL: `INSERT INTO exceptions
		SELECT ` + store.ExcSuspicious.SQL() + `, p.source_id, p.local_id, p.line, NULL,
			CASE WHEN l.root IS NOT NULL THEN 'over-large person: ' || l.n || ' records' ELSE '' END ||
			CASE WHEN l.root IS NOT NULL AND ch.root IS NOT NULL THEN '; ' ELSE '' END ||
			CASE WHEN ch.root IS NOT NULL THEN 'chained person: two of its records score ' || round(ch.weakest, 1) || ', below the review band' ELSE '' END,
			x.master_id, p.file
		FROM (SELECT rid, root FROM clusters WHERE root IN (SELECT root FROM large UNION ALL SELECT root FROM chained)) c
		JOIN prep p ON p.rid = c.rid JOIN xref x ON x.rid = c.rid
		LEFT JOIN large l ON l.root = c.root LEFT JOIN chained ch ON ch.root = c.root`},
		// Records of one person in one extract: within-source duplicates.
		// Only the records of persons of two or more (by their component's
		// size, which a person's cannot exceed) are looked at, grouped by
		// the person's root rather than its master ID's text; xref holds
		// each record's source, so only the records that have such a
		// duplicate are joined to prep, for their lines (at ten million
		// records 3.4–3.8 s, where every record by master ID took 6.4–6.5).
		{Name: "within-source duplicates", SQL: `INSERT INTO exceptions
		SELECT ` + store.ExcDuplicate.SQL() + `, p.source_id, p.local_id, p.line, NULL,
			'same person (' || d.master_id || ') as ' || d.others || ' in the same extract', d.master_id, p.file
		FROM (WITH m AS (SELECT c.rid, c.root, x.source_id, x.local_id, x.master_id FROM clusters c JOIN xref x USING (rid)
		                 WHERE c.size > 1 QUALIFY count(*) OVER (PARTITION BY c.root, x.source_id) > 1)
		      SELECT a.rid, a.master_id, string_agg(b.local_id, ', ' ORDER BY b.local_id) AS others
		      FROM m a JOIN m b ON b.root = a.root AND b.source_id = a.source_id AND b.rid <> a.rid
		      GROUP BY a.rid, a.master_id) d
		JOIN prep p ON p.rid = d.rid`},
		// Persons holding several valid NHS numbers: clustering never makes
		// one (but by an analyst's link), so this stays empty unless
		// something is wrong; it is checked, on every valid number, disputed
		// or not, per person by its root (grouping ten million rows on the
		// master ID's text cost twice as much); the numbers are counted only
		// for the persons whose lowest and highest differ (at ten million
		// records 4.4 s, where counting every person's took 6.4–7.0 s). The
		// records with a number are joined to their persons once, and only
		// those in a component of more than one record: at ten million
		// records 6.6–8.0 s → 3.7 s on the same state, the same rows.
		{Name: "several NHS numbers", SQL: `INSERT INTO exceptions
		WITH held AS MATERIALIZED (SELECT c.root, p.nhs_number FROM clusters c JOIN prep p USING (rid)
		                           WHERE p.nhs_number IS NOT NULL AND c.size > 1),
		     k AS (SELECT root, count(DISTINCT nhs_number) AS n FROM held
		           WHERE root IN (SELECT root FROM held GROUP BY root HAVING min(nhs_number) <> max(nhs_number))
		           GROUP BY root)
		SELECT ` + store.ExcSeveralNumbers.SQL() + `, p.source_id, p.local_id, p.line, 'nhs_number',
			'person ' || x.master_id || ' holds ' || k.n || ' different valid NHS numbers', p.nhs_number, p.file
		FROM k JOIN clusters c USING (root) JOIN prep p USING (rid) JOIN xref x USING (rid)`},
	}
}
