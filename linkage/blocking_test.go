package linkage

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// The default rules that find namesakes leave out a pair of two different
// NHS numbers where neither is disputed (shareNumber), verified or not; the
// date of birth and postcode rule keeps one, and a record without a number,
// or whose number is disputed, pairs with everyone. Seven records of one
// name, sex and date of birth: 1 and 6 hold one verified number (the NHS's
// published example); 2 and 3 two others, at one postcode; 4 an unverified
// number at 1's postcode; 5 none; 7 an unverified number the NHS-number
// stage disputed (numbers of the test range, which no person holds; prep
// here is built without the loader's checks, and 7's flag set by hand).
// Then three for the crossed rules, elsewhere: 8 with a number and 10
// without, neither with a date of birth, and 9 with a number, born on 1
// January of the same year.
func TestDefaultRulesLeaveTwoNumbersApart(t *testing.T) {
	jean := func(postcode, nhs string, unverified bool) rec {
		return rec{given: "Jean", family: "Redwood", dob: "1997-11-19", sex: "female", postcode: postcode, postcodeKind: "standard",
			nhs: nhs, unverified: unverified}
	}
	born := func(r rec, dob string) rec { r.dob = dob; return r }
	db := preparedDB(t, []rec{
		jean("SE13 9HH", "4010232137", false),
		jean("DA16 9BY", "9990000026", false),
		jean("DA16 9BY", "9990000034", false),
		jean("SE13 9HH", "9990000042", true),
		jean("SE4 1AA", "", false),
		jean("SE9 2BB", "4010232137", false),
		jean("SE6 4CC", "9990000050", true),
		// The crossed rules: a record with no date of birth meets every
		// namesake, one born on 1 January those of its year.
		born(jean("SE3 7DD", "9990000069", false), ""),
		born(jean("SE10 8EE", "9990000077", false), "1997-01-01"),
		born(jean("SE18 3FF", "", false), ""),
	})
	if _, err := db.ExecContext(context.Background(), "UPDATE prep SET nhs_disputed = true WHERE local_id = 'r0007'"); err != nil {
		t.Fatal(err)
	}
	brs, err := ParseBlockingRules(DefaultBlockingRules)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := block(context.Background(), db, brs, DefaultMaxBlockSize, DefaultMaxPairsPerRule); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := db.QueryRowContext(context.Background(), `SELECT string_agg(l.local_id || '-' || r.local_id, ',' ORDER BY l.local_id, r.local_id)
		FROM pairs p JOIN prep l ON l.rid = p.rid_l JOIN prep r ON r.rid = p.rid_r`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	want := []string{"r0001-r0004", "r0001-r0005", "r0001-r0006", "r0001-r0007", "r0001-r0010", "r0002-r0003", "r0002-r0005", "r0002-r0007", "r0002-r0010",
		"r0003-r0005", "r0003-r0007", "r0003-r0010", "r0004-r0005", "r0004-r0007", "r0004-r0010", "r0005-r0006", "r0005-r0007", "r0005-r0008", "r0005-r0009", "r0005-r0010",
		"r0006-r0007", "r0006-r0010", "r0007-r0008", "r0007-r0009", "r0007-r0010", "r0008-r0010", "r0009-r0010"}
	if got := strings.Split(s, ","); !slices.Equal(got, want) {
		t.Errorf("pairs %v, want %v (1–2, 1–3, 2–4, 2–6, 3–4, 3–6 and 4–6 left out; 8 and 9, each with a number, meet only 5, 7 and 10)", got, want)
	}
}
