package mpi

import "github.com/selondon/carematch/store"

// goldenRecordSQL builds master_index: one row per person, each field chosen
// by a survivorship rule and its source recorded beside it.
//
//   - nhs_number: the verified number (status 01) if any record has one,
//     else the valid number the person's records hold (clustering allows at
//     most one);
//   - names: the most frequent well-formed value (ties: alphabetical), in the
//     form the sources wrote it for display;
//   - date_of_birth: the date the most sources agree on (ties: the earliest);
//   - sex: the more frequent of male and female; a tie is unknown (mode()
//     broke ties by the order rows arrived in, and cost 1.7 s of this step
//     at two million records);
//   - address and postcode: from the most recent record — by the date its
//     source last updated it (the `updated` column) where it has one, else
//     by the extract's date, tonight — and among equals from the most
//     trusted source: a GP registration, then hospital, community, social
//     care, out of hours;
//   - flags: restricted (any record sensitive, or any record holding an NHS
//     number that a sensitive record anywhere holds — a record of the same
//     number left out of the restricted person, say in the review queue,
//     must not publish the address the restriction hides), deceased (any
//     date of death),
//     nhs_number_conflict (any record in an NHS-number conflict: the NHS
//     stage's nhs_conflicts, or a link clustering cut), withheld
//     (the person is a social-care record kept out of linking).
func goldenRecordSQL(runDate string) string {
	// Each choice is one arg_min over the person's records (or over the
	// values' counts) with the rule's order as a struct key — not a window
	// ranking every row; and r carries only the columns the rules read.
	return `
CREATE OR REPLACE TABLE ` + store.Staged("master_index") + ` AS
WITH r AS (
	SELECT x.master_id, p.rid, p.source_id, p.local_id, p.dob, p.given_name, p.given_name_display, p.family_name,
		p.family_name_display, p.updated, p.postcode, p.address_display, p.nhs_number, p.nhs_verified, p.nhs_disputed,
		p.nhs_number_status, p.sex, p.sensitive, p.date_of_death, p.withheld,
		CASE p.source_kind WHEN 'gp' THEN 1 WHEN 'hospital' THEN 2 WHEN 'community' THEN 3
			WHEN 'social_care' THEN 4 WHEN 'out_of_hours' THEN 5 ELSE 6 END AS kind_rank
	FROM xref x JOIN prep p USING (rid)),
dob AS (
	SELECT master_id, arg_min(dob, (-n, dob)) AS dob
	FROM (SELECT master_id, dob, count(DISTINCT source_id) AS n FROM r WHERE dob IS NOT NULL GROUP BY ALL) GROUP BY master_id),
given AS (
	SELECT master_id, arg_min(v, (-n, v)) AS v
	FROM (SELECT master_id, given_name_display AS v, count(*) AS n FROM r WHERE given_name IS NOT NULL AND length(given_name) > 1 GROUP BY ALL) GROUP BY master_id),
family AS (
	SELECT master_id, arg_min(v, (-n, v)) AS v
	FROM (SELECT master_id, family_name_display AS v, count(*) AS n FROM r WHERE family_name IS NOT NULL GROUP BY ALL) GROUP BY master_id),
restricted_numbers AS (
	SELECT DISTINCT nhs_number FROM prep WHERE sensitive AND nhs_number IS NOT NULL),
agg AS (
	SELECT master_id,
		CASE WHEN count(*) FILTER (sex = 'male') > count(*) FILTER (sex = 'female') THEN 'male'
		     WHEN count(*) FILTER (sex = 'female') > count(*) FILTER (sex = 'male') THEN 'female' END AS sex,
		count(DISTINCT source_id) AS source_count, count(*) AS record_count,
		bool_or(sensitive OR (nhs_number IS NOT NULL AND nhs_number IN (SELECT nhs_number FROM restricted_numbers))) AS restricted, max(date_of_death) AS date_of_death,
		bool_and(withheld) AS withheld,
		arg_min({'address': address_display, 'postcode': postcode, 'source': source_id},
			(DATE '` + runDate + `' - coalesce(updated, DATE '` + runDate + `'), kind_rank, source_id, local_id))
			FILTER (postcode IS NOT NULL OR address_display IS NOT NULL) AS addr,
		arg_min({'number': nhs_number, 'verified': nhs_verified}, (NOT nhs_verified, nhs_disputed, nhs_number)) FILTER (nhs_number IS NOT NULL) AS nhs,
		bool_or(rid IN (SELECT rid_l FROM nhs_conflicts UNION ALL SELECT rid_r FROM nhs_conflicts
		                UNION ALL SELECT rid_l FROM cut_links UNION ALL SELECT rid_r FROM cut_links)) AS conflicted
	FROM r GROUP BY master_id)
SELECT a.master_id, a.nhs.number AS nhs_number, coalesce(a.nhs.verified, false) AS nhs_number_verified,
	g.v AS given_name, f.v AS family_name, d.dob AS date_of_birth, a.sex,
	a.addr.address AS address, a.addr.postcode AS postcode, a.addr.source AS address_source,
	a.source_count, a.record_count, a.restricted, a.date_of_death IS NOT NULL AS deceased, a.date_of_death,
	a.conflicted AS nhs_number_conflict,
	a.withheld
FROM agg a
LEFT JOIN given g ON g.master_id = a.master_id
LEFT JOIN family f ON f.master_id = a.master_id
LEFT JOIN dob d ON d.master_id = a.master_id`
}
