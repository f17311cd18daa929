package linkage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/selondon/carematch/rules"
	"github.com/selondon/carematch/store"
)

// prepare builds prep, the term-frequency tables and the nickname table.
func prepare(ctx context.Context, db *store.DB, extras []string) error {
	var extraCols strings.Builder
	for _, x := range extras {
		fmt.Fprintf(&extraCols, ", extra_%s", x)
	}
	pairs := rules.NicknamePairs()
	records := db.RecordsTable() + " records"
	return db.RunSteps(ctx, "link",
		// The records to link (not deleted, no test-range number:
		// linkedRecords) with their ids in (source, local id) order, whatever
		// order the extracts came in, and each source's latest update:
		// computed on the few columns they need and joined back, because a
		// window over the whole row sorts (and, past the memory limit,
		// spills) every column of it — prepare took 125 s at ten million
		// records. One grouping by source gives each source's latest update
		// and the count of the records of the sources before it; the ids are
		// numbered within each source after those — the same ids as one
		// numbering in (source, local id) order, from one smaller sort a
		// source, which DuckDB shares out among its threads (alone, at two
		// million records 0.84–0.86 s against 1.23–1.77 for one numbering,
		// at ten million 5.10–6.64 against 8.23–8.58: docs/BENCHMARKS.md, the
		// twenty-sixth session).
		store.Step{Name: "record ids", SQL: `CREATE OR REPLACE TEMP TABLE sources_seen AS
		SELECT source_id, max(updated) AS latest, sum(count(*)) OVER (ORDER BY source_id) - count(*) AS before
		FROM records WHERE ` + linkedRecords + ` GROUP BY source_id;
		CREATE OR REPLACE TEMP TABLE rids AS
		SELECT records.rowid AS row, (before + row_number() OVER (PARTITION BY source_id ORDER BY local_id))::INTEGER AS rid
		FROM ` + records + ` JOIN sources_seen USING (source_id) WHERE ` + linkedRecords},
		// The ids go back to their records by the records' row numbers (of
		// the table itself, not a view over it: RecordsTable): the table is
		// written once, by the load, and the two statements read it one
		// after the other. Joining on (source, local id), two strings, took
		// 0.7–0.8 s more at two million records (docs/BENCHMARKS.md, the
		// twenty-seventh session).
		store.Step{Name: "prep", SQL: `CREATE OR REPLACE TABLE prep AS
		SELECT rids.rid, ` + prepColumns + extraCols.String() + `
		FROM ` + records + ` JOIN rids ON rids.row = records.rowid JOIN sources_seen latest USING (source_id);
		DROP TABLE rids; DROP TABLE sources_seen`},
		store.Step{Name: "nicknames", SQL: `CREATE OR REPLACE TABLE nicknames (a VARCHAR, b VARCHAR)`},
		store.Step{Name: "nicknames", Go: func(ctx context.Context) error { return appendPairs(ctx, db, "nicknames", pairs) }},
		store.Step{Name: "short forms", SQL: `CREATE OR REPLACE TABLE short_forms (a VARCHAR, b VARCHAR)`},
		store.Step{Name: "short forms", Go: func(ctx context.Context) error { return appendPairs(ctx, db, "short_forms", rules.ShortFormPairs()) }})
}

// linkedRecords says which loaded records linking takes: not deleted, and
// no number of the test range. prep holds exactly these, by joining the
// ids made from them.
const linkedRecords = "NOT deleted AND NOT nhs_test_number"

// appendPairs writes pairs of names into a table (a, b).
func appendPairs(ctx context.Context, db *store.DB, table string, pairs [][2]string) error {
	return db.AppendEach(ctx, table, len(pairs), func(i int) []driver.Value {
		return []driver.Value{pairs[i][0], pairs[i][1]}
	})
}

// prepFlags are the prep columns not made from the record's own fields
// alone but set across records (stale, from its source's latest update;
// nhs_disputed by the NHS-number stage; quarantined by quarantine) or kept
// beside them (withheld). Every other column but rid, file and line is made
// from the record's fields, which the load fingerprints (record_prints,
// compared with last night's in record_changes): an incremental night finds
// its unchanged records by the fingerprint and these (blockDelta). A column
// added to prep that reads anything but its record's fields belongs here;
// TestBlockingSinceLastNight fails otherwise.
var prepFlags = []string{"stale", "withheld", "nhs_disputed", "quarantined"}

// prepColumns are prep's columns but rid and the extra fields, over a
// relation with the records table's columns and latest (its source's
// latest update): one projection for the records and the opt-out forms
// (optouts.go).
const prepColumns = `
			source_id, local_id, file, line, source_kind, nhs_number, nhs_verified, nhs_number_status,
			-- Set by the NHS-number stage: an unverified number that clashes
			-- with the number's other holders and agrees with none of them.
			false AS nhs_disputed,
			-- Last updated over a year before its source's latest update: its
			-- address may well be out of date.
			coalesce(updated < latest.latest - INTERVAL 365 DAY, false) AS stale,
			-- A social-care record is linked and shared only with an explicit yes.
			(source_kind = 'social_care' AND consent IS NOT TRUE) AS withheld,
			-- Set by quarantine: one of implausibly many records sharing a key.
			false AS quarantined,
			sensitive, date_of_death, updated, given_name_display, family_name_display, address_display,
			given_name, middle_names, family_name, previous_family_name,
			given_phonetic, family_phonetic, left(given_name, 1) AS given_initial,
			list_filter(string_split(replace(family_name, '-', ' '), ' '), x -> x <> '') AS family_parts,
			date_of_birth AS dob, strftime(date_of_birth, '%Y%m%d') AS dob_text,
			CASE WHEN sex IN ('male', 'female') THEN sex END AS sex,
			CASE WHEN postcode_kind = 'standard' THEN postcode END AS postcode,
			CASE WHEN postcode_kind = 'standard' THEN split_part(postcode, ' ', 1) || ' ' || left(split_part(postcode, ' ', 2), 1) END AS sector,
			CASE WHEN postcode_kind = 'standard' THEN split_part(postcode, ' ', 1) END AS district,
			CASE WHEN postcode_kind IS DISTINCT FROM 'pseudo' THEN address_key END AS address_key,
			CASE WHEN postcode_kind IS DISTINCT FROM 'pseudo' THEN address_number END AS address_number`

// tfTable is the name of the term-frequency table of a column.
func tfTable(col string) string { return "tf_" + col }

// buildTF makes tf_<col>(value, p): each value's share of the records that
// have one.
func buildTF(ctx context.Context, db *store.DB, cols []string) error {
	var steps []store.Step
	for _, c := range cols {
		steps = append(steps, store.Step{Name: "term frequencies of " + c, SQL: fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS
			SELECT %s AS value, count(*) / sum(count(*)) OVER () AS p FROM prep WHERE %s IS NOT NULL AND NOT quarantined GROUP BY 1`,
			tfTable(c), c, c)})
	}
	return db.RunSteps(ctx, "link", steps...)
}
