package mpi

import (
	"context"
	"testing"
)

// TestSourceCountSQL counts a person's distinct sources both ways — as bits
// where a UBIGINT holds them, as a list beyond — on the same records, the
// highest source number a bit can take among them.
func TestSourceCountSQL(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	// Person a: sources 1, 1, 63; b: 2; c: 5, 6, 7, 63, 5; d: one record,
	// source 40.
	if _, err := db.ExecContext(ctx, `CREATE TABLE g AS SELECT * FROM (VALUES
		('a', 1), ('a', 1), ('a', 63), ('b', 2), ('c', 5), ('c', 6), ('c', 7), ('c', 63), ('c', 5), ('d', 40))
		AS v(person, n);
		CREATE TABLE g2 AS SELECT person, n::USMALLINT AS source_no FROM g`); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"a": 2, "b": 1, "c": 4, "d": 1}
	for _, sources := range []int{1, maxSourceBits, maxSourceBits + 1, 500} {
		got := map[string]int{}
		rows, err := db.QueryContext(ctx, "SELECT person, "+sourceCountSQL(sources)+" FROM g2 g GROUP BY person")
		if err != nil {
			t.Fatalf("%d sources: %v", sources, err)
		}
		for rows.Next() {
			var p string
			var n int
			if err := rows.Scan(&p, &n); err != nil {
				t.Fatal(err)
			}
			got[p] = n
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		for p, n := range want {
			if got[p] != n {
				t.Errorf("%d sources (%s): person %s has %d sources, want %d", sources, sourceCountSQL(sources), p, got[p], n)
			}
		}
	}
}

// TestGoldenRecordOfOneAsGrouped builds master_index twice from the same
// records: once as a night does, a person of one taking its record's values
// ungrouped, and once with every component marked bigger than one, so that
// every person goes through the grouping. The two must agree field for
// field, on persons of one that lack a value (sex unknown, no address, no
// number, a one-letter given name, no date of birth), hold one partly (a
// postcode without an address), or are flagged through other records (a
// number a sensitive record of another person holds, an NHS conflict, a
// link clustering cut).
func TestGoldenRecordOfOneAsGrouped(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if _, err := db.ExecContext(ctx, `
		CREATE TABLE prep AS SELECT * FROM (VALUES
			(1, 'gp', 'gp', DATE '1970-01-02', 'ann', 'Ann', 'lee', 'Lee', 'male', false, '9434765919', true, false, NULL::DATE, false, '1 High St', 'SE13 5AB', DATE '2026-01-01'),
			(2, 'asc', 'social_care', NULL, 'b', 'B', 'ng', 'Ng', NULL, false, NULL, false, false, DATE '2025-03-04', false, NULL, NULL, NULL),
			(3, 'asc', 'social_care', DATE '1980-05-06', 'cy', 'Cy', 'oh', 'Oh', 'female', false, '4010232137', false, false, NULL, true, '2 Low Rd', 'SE9 1AA', NULL),
			(4, 'lgt', 'hospital', DATE '1990-07-08', 'di', 'Di', 'po', 'Po', 'female', true, NULL, false, false, NULL, false, '3 Mid Way', 'SE10 2BB', DATE '2026-02-02'),
			(5, 'lgt', 'hospital', DATE '1960-09-10', 'ed', 'Ed', 'qu', 'Qu', 'male', false, '4010232145', false, true, NULL, false, NULL, 'DA5 1CC', NULL),
			(6, 'ooh', 'out_of_hours', DATE '2001-11-12', 'fay', 'Fay', 'ray', 'Ray', NULL, false, NULL, false, false, NULL, false, NULL, NULL, NULL),
			(10, 'gp', 'gp', DATE '1955-01-01', 'gus', 'Gus', 'sun', 'Sun', 'male', true, '4010232137', true, false, NULL, false, '9 Far Rd', 'SE3 3DD', NULL),
			(11, 'lgt', 'hospital', DATE '1955-01-01', 'gus', 'Gus', 'sun', 'Sun', 'male', false, '4010232137', false, false, NULL, false, '9 Far Road', 'SE3 3DD', DATE '2026-03-03'),
			(12, 'ooh', 'out_of_hours', DATE '1999-12-31', 'hal', 'Hal', 'tan', 'Tan', 'male', false, NULL, false, false, NULL, false, '5 Near Rd', 'SE4 4EE', NULL))
			v(rid, source_id, source_kind, dob, given_name, given_name_display, family_name, family_name_display, sex, sensitive,
			  nhs_number, nhs_verified, nhs_disputed, date_of_death, withheld, address_display, postcode, updated);
		-- 1–6 alone; 10 and 11 one person; 12 alone in a component with 10 and 11
		CREATE TABLE clusters AS SELECT rid, CASE WHEN rid IN (10, 11) THEN 10 ELSE rid END AS root,
			CASE WHEN rid >= 10 THEN 3 ELSE 1 END AS size FROM prep;
		CREATE TABLE person_ids AS SELECT DISTINCT root, 'CM' || root AS master_id FROM clusters;
		CREATE TABLE nhs_conflicts AS SELECT 5 AS rid_l, 99 AS rid_r;
		CREATE TABLE cut_links AS SELECT 98 AS rid_l, 6 AS rid_r`); err != nil {
		t.Fatal(err)
	}
	index := func() map[string]string {
		t.Helper()
		if err := db.RunSteps(ctx, "index", goldenRecordSteps("2026-12-05", 4)...); err != nil {
			t.Fatal(err)
		}
		return queryPairs(t, db, `SELECT master_id, (m::VARCHAR) FROM master_index m`)
	}
	ungrouped := index()
	if _, err := db.ExecContext(ctx, `UPDATE clusters SET size = 3`); err != nil {
		t.Fatal(err)
	}
	grouped := index()
	if len(grouped) != 8 || len(ungrouped) != 8 {
		t.Fatalf("%d and %d persons, want 8", len(ungrouped), len(grouped))
	}
	for id, g := range grouped {
		if ungrouped[id] != g {
			t.Errorf("%s alone:\n  %s\ngrouped:\n  %s", id, ungrouped[id], g)
		}
	}
}
