package mpi

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/selondon/carematch/store"
)

// TestChecksReportWhatTheyFind runs the index's checks on persons made by
// hand, with a size limit of three: a person over it and chained, a chained
// person sharing its component with a person that is neither (the
// component is over the limit, the person is not), a person holding two
// valid numbers, and persons that are none of these, alone or not. The
// checks read only the components that can hold what they report; each
// finding is reported, and nothing else.
func TestChecksReportWhatTheyFind(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if err := db.CreateSchema(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// rid, root, component size, NHS number.
	records := []struct {
		rid, root, size int
		nhs             string
	}{
		{1, 1, 4, ""}, {2, 1, 4, ""}, {3, 1, 4, ""}, {4, 1, 4, ""}, // over the limit, and chained
		{5, 5, 4, ""}, {6, 5, 4, ""}, // chained, in a component of four
		{7, 7, 4, ""}, {8, 7, 4, ""}, // the rest of that component: neither
		{9, 9, 1, "9434765919"},                              // alone
		{10, 10, 2, "9434765919"}, {11, 10, 2, "4010232137"}, // two numbers
		{12, 12, 2, "4010232145"}, {13, 12, 2, "4010232145"}, // one number, twice
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE clusters (rid INTEGER, root INTEGER, size INTEGER);
		CREATE TABLE prep (rid INTEGER, source_id VARCHAR, local_id VARCHAR, line BIGINT, nhs_number VARCHAR, file VARCHAR);
		CREATE TABLE xref (rid INTEGER, master_id VARCHAR, source_id VARCHAR, local_id VARCHAR);
		CREATE TABLE chained AS SELECT * FROM (VALUES (1, -3.24), (5, -8.0)) v(root, weakest);
		CREATE TABLE nhs_conflicts (rid_l INTEGER, rid_r INTEGER, reason VARCHAR);
		CREATE TABLE cut_links (rid_l INTEGER, rid_r INTEGER, weight DOUBLE)`); err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		var nhs any
		if r.nhs != "" {
			nhs = r.nhs
		}
		local := fmt.Sprintf("r%d", r.rid)
		for q, args := range map[string][]any{
			"INSERT INTO clusters VALUES (?, ?, ?)":             {r.rid, r.root, r.size},
			"INSERT INTO prep VALUES (?, ?, ?, ?, ?, 'gp.csv')": {r.rid, fmt.Sprintf("s%d", r.rid), local, r.rid + 1, nhs},
			"INSERT INTO xref VALUES (?, ?, ?, ?)":              {r.rid, fmt.Sprintf("CM%d", r.root), fmt.Sprintf("s%d", r.rid), local},
		} {
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.RunSteps(ctx, "index", checksSQL(3)...); err != nil {
		t.Fatal(err)
	}
	both := "over-large person: 4 records; chained person: two of its records score -3.2, below the review band"
	chained := "chained person: two of its records score -8.0, below the review band"
	two := "person CM10 holds 2 different valid NHS numbers"
	want := map[string]string{
		"suspicious_cluster r1": both, "suspicious_cluster r2": both, "suspicious_cluster r3": both, "suspicious_cluster r4": both,
		"suspicious_cluster r5": chained, "suspicious_cluster r6": chained,
		"several_nhs_numbers r10": two, "several_nhs_numbers r11": two,
	}
	got := queryPairs(t, db, "SELECT kind || ' ' || local_id, reason FROM exceptions WHERE kind IN (?, ?)", string(store.ExcSuspicious), string(store.ExcSeveralNumbers))
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: reason %q, want %q", k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s reported (%q), want nothing", k, g)
		}
	}
}

// openTestDB opens a database file of the test's own, closed when it ends.
func openTestDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "t.duckdb"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryPairs runs a query of two text columns and maps the first to the
// second; a first value twice is an error of the test.
func queryPairs(t *testing.T, db *store.DB, query string, args ...any) map[string]string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		if _, dup := got[k]; dup {
			t.Errorf("%s twice", k)
		}
		got[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}
