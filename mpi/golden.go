package mpi

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
	return `
CREATE OR REPLACE TABLE master_index AS
WITH r AS (
	SELECT x.master_id, p.*,
		CASE p.source_kind WHEN 'gp' THEN 1 WHEN 'hospital' THEN 2 WHEN 'community' THEN 3
			WHEN 'social_care' THEN 4 WHEN 'out_of_hours' THEN 5 ELSE 6 END AS kind_rank
	FROM xref x JOIN prep p USING (rid)),
dob AS (
	SELECT master_id, dob, row_number() OVER (PARTITION BY master_id ORDER BY count(DISTINCT source_id) DESC, dob) AS k
	FROM r WHERE dob IS NOT NULL GROUP BY master_id, dob),
given AS (
	SELECT master_id, given_name_display AS v, row_number() OVER (PARTITION BY master_id ORDER BY count(*) DESC, given_name_display) AS k
	FROM r WHERE given_name IS NOT NULL AND length(given_name) > 1 GROUP BY master_id, given_name_display),
family AS (
	SELECT master_id, family_name_display AS v, row_number() OVER (PARTITION BY master_id ORDER BY count(*) DESC, family_name_display) AS k
	FROM r WHERE family_name IS NOT NULL GROUP BY master_id, family_name_display),
addr AS (
	SELECT master_id, address_display, postcode, source_id, row_number() OVER (PARTITION BY master_id ORDER BY coalesce(updated, DATE '` + runDate + `') DESC, kind_rank, source_id, local_id) AS k
	FROM r WHERE postcode IS NOT NULL OR address_display IS NOT NULL),
restricted_numbers AS (
	SELECT DISTINCT nhs_number FROM prep WHERE sensitive AND nhs_number IS NOT NULL),
nhs AS (
	SELECT master_id, nhs_number, nhs_verified, row_number() OVER (PARTITION BY master_id ORDER BY nhs_verified DESC, nhs_disputed, nhs_number) AS k
	FROM r WHERE nhs_number IS NOT NULL),
agg AS (
	SELECT master_id,
		CASE WHEN count(*) FILTER (sex = 'male') > count(*) FILTER (sex = 'female') THEN 'male'
		     WHEN count(*) FILTER (sex = 'female') > count(*) FILTER (sex = 'male') THEN 'female' END AS sex,
		count(DISTINCT source_id) AS source_count, count(*) AS record_count,
		bool_or(sensitive OR (nhs_number IS NOT NULL AND nhs_number IN (SELECT nhs_number FROM restricted_numbers))) AS restricted, max(date_of_death) AS date_of_death,
		bool_and(withheld) AS withheld, min(nhs_number_status) FILTER (nhs_verified) AS status
	FROM r GROUP BY master_id),
conflicted AS (
	SELECT DISTINCT r.master_id FROM r
	WHERE r.rid IN (SELECT rid_l FROM nhs_conflicts UNION ALL SELECT rid_r FROM nhs_conflicts
	                UNION ALL SELECT rid_l FROM cut_links UNION ALL SELECT rid_r FROM cut_links))
SELECT a.master_id, n.nhs_number, coalesce(n.nhs_verified, false) AS nhs_number_verified,
	g.v AS given_name, f.v AS family_name, d.dob AS date_of_birth, a.sex,
	ad.address_display AS address, ad.postcode, ad.source_id AS address_source,
	a.source_count, a.record_count, a.restricted, a.date_of_death IS NOT NULL AS deceased, a.date_of_death,
	c.master_id IS NOT NULL AS nhs_number_conflict,
	a.withheld
FROM agg a
LEFT JOIN nhs n ON n.master_id = a.master_id AND n.k = 1
LEFT JOIN given g ON g.master_id = a.master_id AND g.k = 1
LEFT JOIN family f ON f.master_id = a.master_id AND f.k = 1
LEFT JOIN dob d ON d.master_id = a.master_id AND d.k = 1
LEFT JOIN addr ad ON ad.master_id = a.master_id AND ad.k = 1
LEFT JOIN conflicted c ON c.master_id = a.master_id`
}
