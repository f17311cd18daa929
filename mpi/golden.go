package mpi

import "github.com/selondon/carematch/store"

// goldenRecordSteps build master_index: one row per person, each field chosen
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
//
// master_index is made in master_id order, the order of the files made
// from it, so that they are written without a sort.
//
// Each choice is an arg_min over the person's records (or over the values'
// counts) with the rule's order as its key, not a window ranking every row.
// Where the order is of numbers (an age in days, a source's rank, a count,
// a date) the key is one BIGINT with each in its own bits, ties broken by
// rid — the order of (source_id, local_id) — and the NHS number as the
// number it is: at ten million records a struct key made the address
// choice 10 s of the step's 28, and counting the distinct sources a person's
// records come from (by their names) 4 s more, so each source is numbered
// first (golden_sources) and a person's are counted as bits (sourceCountSQL).
// The choices are made one statement each, into working tables joined
// at the end: as one statement their hash tables and the shared join were
// all alive at once, and at ten million records (4.7 GiB) the step ran out
// of memory instead of spilling; one at a time, each spills if it must.
//
// A person is grouped by its root (clusters.root, an integer), and named
// by its master ID (person_ids) only in the last step: grouping the four
// choices by the master ID, a string, took about a quarter longer
// (docs/BENCHMARKS.md, the twenty-seventh session).
//
// sources is how many sources the night's records come from.
func goldenRecordSteps(runDate string, sources int) []store.Step {
	count := sourceCountSQL(sources)
	records := "clusters x JOIN prep p USING (rid)"
	numbered := records + " JOIN golden_sources g ON g.source_id = p.source_id" // for the sources' count
	// The most frequent value of a person's records (from): the highest
	// count, then the lowest value (key: an SQL expression over n and v
	// ordered so). A record alone in its component (clusters.size 1) is a
	// person of one, whose value is its own: only the others are grouped
	// (at ten million records, a fifth of them alone, the date of birth's
	// choice took 4.9–5.3 s grouping every record and 3.7–3.8 s so, the
	// same values; docs/BENCHMARKS.md, the twenty-ninth session).
	mostFrequent := func(name, from, value, count, where, key string) store.Step {
		return store.Step{Name: "golden record: " + name, SQL: `CREATE OR REPLACE TABLE ` + store.Staged("gold_"+name) + ` AS
			SELECT root, arg_min(v, ` + key + `) AS v
			FROM (SELECT x.root, ` + value + ` AS v, ` + count + ` AS n FROM ` + from + ` WHERE (` + where + `) AND x.size > 1 GROUP BY ALL)
			GROUP BY root
			UNION ALL
			SELECT x.root, ` + value + ` AS v FROM ` + records + ` WHERE (` + where + `) AND x.size = 1`}
	}
	return []store.Step{
		{Name: "golden record: sources numbered", SQL: `CREATE OR REPLACE TEMP TABLE golden_sources AS
			SELECT source_id, (row_number() OVER (ORDER BY source_id))::USMALLINT AS source_no FROM (SELECT DISTINCT source_id FROM prep)`},
		// A count is below 2^20 and a date's days from 1970 within 2^31 of it.
		mostFrequent("date_of_birth", numbered, "p.dob", count, "p.dob IS NOT NULL", "(((1048576 - n)::BIGINT << 32) | ((v - DATE '1970-01-01') + 2147483648)::BIGINT)"),
		mostFrequent("given_name", records, "p.given_name_display", "count(*)", "p.given_name IS NOT NULL AND length(p.given_name) > 1", "(-n, v)"),
		mostFrequent("family_name", records, "p.family_name_display", "count(*)", "p.family_name IS NOT NULL", "(-n, v)"),
		// The other fields, grouped by person likewise: a person of one
		// takes its record's values as each aggregate over its one row gives
		// them (TestGoldenRecordOfOneAsGrouped holds the two ways equal) —
		// its sex as it stands, prep's being male, female or NULL.
		{Name: "golden record: the rest", SQL: `CREATE OR REPLACE TABLE ` + store.Staged("gold_rest") + ` AS
WITH restricted_numbers AS (SELECT DISTINCT nhs_number FROM prep WHERE sensitive AND nhs_number IS NOT NULL),
conflicted AS (SELECT rid_l AS rid FROM nhs_conflicts UNION SELECT rid_r FROM nhs_conflicts
               UNION SELECT rid_l FROM cut_links UNION SELECT rid_r FROM cut_links)
SELECT x.root,
	CASE WHEN count(*) FILTER (p.sex = 'male') > count(*) FILTER (p.sex = 'female') THEN 'male'
	     WHEN count(*) FILTER (p.sex = 'female') > count(*) FILTER (p.sex = 'male') THEN 'female' END AS sex,
	` + count + ` AS source_count, count(*) AS record_count,
	bool_or(p.sensitive OR (p.nhs_number IS NOT NULL AND p.nhs_number IN (SELECT nhs_number FROM restricted_numbers))) AS restricted,
	max(p.date_of_death) AS date_of_death,
	bool_and(p.withheld) AS withheld,
	-- the age in days (held within 2^20), the source's rank, then rid
	arg_min({'address': p.address_display, 'postcode': p.postcode, 'source': p.source_id},
		((least(greatest(DATE '` + runDate + `' - coalesce(p.updated, DATE '` + runDate + `'), -1048575), 1048575) + 1048576)::BIGINT << 35)
		| ((CASE p.source_kind WHEN 'gp' THEN 1 WHEN 'hospital' THEN 2 WHEN 'community' THEN 3
			WHEN 'social_care' THEN 4 WHEN 'out_of_hours' THEN 5 ELSE 6 END)::BIGINT << 32) | p.rid::BIGINT)
		FILTER (p.postcode IS NOT NULL OR p.address_display IS NOT NULL) AS addr,
	-- verified first, then undisputed, then the lowest number (ten digits)
	arg_min({'number': p.nhs_number, 'verified': p.nhs_verified},
		((NOT p.nhs_verified)::BIGINT << 62) | (p.nhs_disputed::BIGINT << 61) | coalesce(TRY_CAST(p.nhs_number AS BIGINT), 0))
		FILTER (p.nhs_number IS NOT NULL) AS nhs,
	bool_or(p.rid IN (SELECT rid FROM conflicted)) AS conflicted
FROM ` + numbered + ` WHERE x.size > 1 GROUP BY x.root
UNION ALL
SELECT x.root, p.sex, 1::BIGINT AS source_count, 1::BIGINT AS record_count,
	p.sensitive OR (p.nhs_number IS NOT NULL AND p.nhs_number IN (SELECT nhs_number FROM restricted_numbers)) AS restricted,
	p.date_of_death, p.withheld,
	CASE WHEN p.postcode IS NOT NULL OR p.address_display IS NOT NULL THEN {'address': p.address_display, 'postcode': p.postcode, 'source': p.source_id} END AS addr,
	CASE WHEN p.nhs_number IS NOT NULL THEN {'number': p.nhs_number, 'verified': p.nhs_verified} END AS nhs,
	p.rid IN (SELECT rid FROM conflicted) AS conflicted
FROM ` + records + ` WHERE x.size = 1`},
		{Name: "golden record", SQL: `CREATE OR REPLACE TABLE ` + store.Staged("master_index") + ` AS
SELECT m.master_id, a.nhs.number AS nhs_number, coalesce(a.nhs.verified, false) AS nhs_number_verified,
	g.v AS given_name, f.v AS family_name, d.v AS date_of_birth, a.sex,
	a.addr.address AS address, a.addr.postcode AS postcode, a.addr.source AS address_source,
	a.source_count, a.record_count, a.restricted, a.date_of_death IS NOT NULL AS deceased, a.date_of_death,
	a.conflicted AS nhs_number_conflict,
	a.withheld
FROM gold_rest a
JOIN person_ids m ON m.root = a.root
LEFT JOIN gold_given_name g ON g.root = a.root
LEFT JOIN gold_family_name f ON f.root = a.root
LEFT JOIN gold_date_of_birth d ON d.root = a.root
ORDER BY m.master_id;
DROP TABLE gold_rest; DROP TABLE gold_given_name; DROP TABLE gold_family_name; DROP TABLE gold_date_of_birth; DROP TABLE golden_sources`},
	}
}

// maxSourceBits is the most sources sourceCountSQL counts as bits of one
// UBIGINT (golden_sources numbers them from 1).
const maxSourceBits = 63

// sourceCountSQL counts the distinct sources of the records an aggregate
// groups, by their numbers g.source_no: each record sets its source's bit,
// the bits are OR-ed and counted. At ten million records the list it
// replaced — every record's source number, made distinct per group — was
// 2.9 of the date-of-birth choice's 11 CPU-seconds and 3–5 s of the rest's
// (docs/BENCHMARKS.md, the twenty-second session). A night of more
// sources than a UBIGINT has bits still counts them, as that list. Either
// is a BIGINT, master_index's source_count as published.
func sourceCountSQL(sources int) string {
	if sources <= maxSourceBits {
		return "bit_count(bit_or(1::UBIGINT << g.source_no))::BIGINT"
	}
	return "len(list_distinct(list(g.source_no)))"
}
