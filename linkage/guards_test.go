package linkage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/selondon/carematch/store"
)

// guardedDB loads records, runs the NHS-number stage, compares the given
// pairs (as record indexes from 0) and scores each at weight 10 with the
// default guards, by the very SQL the run uses: the scores table that
// liftGuards reads.
func guardedDB(t *testing.T, recs []rec, pairs [][2]int) (*store.DB, *Model) {
	t.Helper()
	ctx := context.Background()
	db := preparedDB(t, recs)
	if err := deterministic(ctx, db, &Result{}); err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, p := range pairs {
		values = append(values, fmt.Sprintf("(%d, %d)", p[0]+1, p[1]+1))
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE test_pairs AS SELECT col0::INTEGER AS rid_l, col1::INTEGER AS rid_r FROM (VALUES "+strings.Join(values, ", ")+")"); err != nil {
		t.Fatal(err)
	}
	m := &Model{Comparisons: append(DefaultComparisons(), NHSComparison()), Guards: DefaultGuards, LinkThreshold: 2, ReviewThreshold: -4}
	if err := compare(ctx, db, m.Comparisons, "test_pairs", "test_gammas"); err != nil {
		t.Fatal(err)
	}
	guard, blocks, err := guardSQL(m)
	if err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf(`CREATE TABLE scores AS SELECT g.*, 10.0::DOUBLE AS weight, %s AS guard, %s AS guard_blocks
		FROM test_gammas g JOIN prep l ON l.rid = g.rid_l JOIN prep r ON r.rid = g.rid_r`, guard, blocks)
	if _, err := db.ExecContext(ctx, q); err != nil {
		t.Fatal(err)
	}
	return db, m
}

func guardOf(t *testing.T, db *store.DB, l, r int) string {
	t.Helper()
	var g *string
	if err := db.QueryRowContext(context.Background(), "SELECT guard FROM scores WHERE rid_l = ? AND rid_r = ?", l+1, r+1).Scan(&g); err != nil {
		t.Fatal(err)
	}
	if g == nil {
		return ""
	}
	return *g
}

// The namesake guard holds for two strangers, and is lifted when the
// address may be out of date or the household is seen to have moved — in
// data where verified numbers show namesakes are common enough to matter.
// Where they show none, or there are none to tell, every such guard is
// lifted.
func TestLiftGuards(t *testing.T) {
	streets := map[string]string{"SE13 6XY": "12 Lee High Road", "DA1 2QJ": "3 Broadway", "SE4 1AA": "7 Manor Avenue",
		"BR1 3QR": "55 Widmore Road", "SE6 2BR": "9 Bromley Road", "SE23 5XZ": "140 Stanstead Road"}
	at := func(given, family, dob, postcode, updated string) rec {
		return rec{given: given, family: family, dob: dob, sex: "female", postcode: postcode, postcodeKind: "standard",
			address: streets[postcode], updated: updated}
	}
	cases := []rec{
		// 0–1: strangers, both records recent.
		at("Amina", "Okafor", "1980-02-03", "SE13 6XY", "2026-10-01"), at("Amina", "Okafor", "1980-02-03", "DA1 2QJ", "2026-09-15"),
		// 2–3: one record last updated two years before the source's latest.
		at("Grace", "Mensah", "1975-07-08", "SE4 1AA", "2024-09-01"), at("Grace", "Mensah", "1975-07-08", "BR1 3QR", "2026-10-20"),
		// 4–5: a mother at two postcodes; 6–7 her son, at the same two,
		// linked by his NHS number: the household moved.
		at("Chloe", "Brown", "1988-11-12", "SE6 2BR", ""), at("Chloe", "Brown", "1988-11-12", "SE23 5XZ", ""),
		at("Leo", "Brown", "2015-04-05", "SE6 2BR", ""), at("Leo", "Brown", "2015-04-05", "SE23 5XZ", ""),
	}
	cases[6].nhs, cases[7].nhs = "9434765919", "9434765919"
	cases[6].sex, cases[7].sex = "male", "male"
	// evidence: pairs with the same names and date of birth at two other
	// postcodes, both numbers verified; the first namesakes of them are two
	// people. Leo's pair above is one more such pair, one person.
	evidence := func(pairs, namesakes int) []rec {
		var out []rec
		for i := range pairs {
			a := rec{given: "Evidence", family: strings.Repeat("Q", i+1), dob: time.Date(1950, 3, 4, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly), sex: "male",
				postcode: "N1 9GU", postcodeKind: "standard", address: "1 York Way", nhs: fmt.Sprintf("E%d", i)}
			b := a
			b.postcode, b.address = "E1 6AN", "2 Commercial Street"
			if i < namesakes {
				b.nhs += "x"
			}
			out = append(out, a, b)
		}
		return out
	}
	pairs := [][2]int{{0, 1}, {2, 3}, {4, 5}}
	rare := func(checked, namesakes int) string { return fmt.Sprintf(LiftRare, checked, namesakes) }
	for _, tt := range []struct {
		name                string
		evidence, namesakes int
		want                []string // per pair: why lifted, "" for still guarded
	}{
		{"namesakes common", 19, 1, []string{"", LiftStale, LiftMoved}},
		{"namesakes rare", 119, 1, []string{rare(120, 1), rare(120, 1), rare(120, 1)}},
		{"too few to tell", 18, 18, []string{rare(19, 18), rare(19, 18), rare(19, 18)}},
		{"none but Leo's", 0, 0, []string{rare(1, 0), rare(1, 0), rare(1, 0)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, m := guardedDB(t, append(append([]rec{}, cases...), evidence(tt.evidence, tt.namesakes)...), pairs)
			for _, p := range pairs {
				if g := guardOf(t, db, p[0], p[1]); !strings.HasPrefix(g, "same names and date of birth") {
					t.Fatalf("pair %v: guard %q before lifting", p, g)
				}
			}
			res := &Result{}
			if err := liftGuards(context.Background(), db, m, res); err != nil {
				t.Fatal(err)
			}
			if res.NamesakeChecked != int64(tt.evidence+1) || res.Namesakes != int64(tt.namesakes) {
				t.Errorf("checked %d pairs, %d namesakes; want %d, %d", res.NamesakeChecked, res.Namesakes, tt.evidence+1, tt.namesakes)
			}
			lifted := 0
			for i, p := range pairs {
				g := guardOf(t, db, p[0], p[1])
				guard, why, err := liftedBecause(context.Background(), db, int64(p[0]+1), int64(p[1]+1))
				if err != nil {
					t.Fatal(err)
				}
				if why != "" && !strings.HasPrefix(guard, "same names and date of birth") {
					t.Errorf("pair %v: lifted guard %q", p, guard)
				}
				if why != tt.want[i] || (g == "") != (why != "") {
					t.Errorf("pair %v: guard %q, lifted because %q; want lifted because %q", p, g, why, tt.want[i])
				}
				if why != "" {
					lifted++
				}
			}
			if res.GuardsLifted != int64(lifted) {
				t.Errorf("%d guards lifted, %d seen", res.GuardsLifted, lifted)
			}
		})
	}
}

// Each candidate pair's mask has bit i set exactly when blocking rule i
// pairs it: training sessions select their pairs by it.
func TestBlockingMask(t *testing.T) {
	ctx := context.Background()
	recs := []rec{
		{given: "Robert", family: "Smith", dob: "1975-03-04", postcode: "SE13 6XY", postcodeKind: "standard"},
		{given: "Rob", family: "Smyth", dob: "1975-03-04", postcode: "DA1 2QJ", postcodeKind: "standard"},     // rule 0
		{given: "Rupert", family: "Jones", dob: "1960-01-01", postcode: "SE13 6XY", postcodeKind: "standard"}, // rule 1
		{given: "Ruth", family: "Smith", dob: "1975-03-04", postcode: "SE13 6XY", postcodeKind: "standard"},   // rules 0, 1
		{given: "Kwame", family: "Mensah", dob: "1999-09-09", nhs: "4010232137"},                              // rule 2 (with 5)
		{given: "Ama", family: "Mensah", dob: "2001-01-02", nhs: "4010232137", postcode: "BR1 3QR", postcodeKind: "standard"},
		{given: "Rose", family: "Okafor", dob: "1975-03-27"}, // with 1: March, but 04 and 27 are no slip apart
		{given: "Roy", family: "Okafor", dob: "1975-03-14"},  // with 2: rule 3, 04 and 14 a slip apart
	}
	db := preparedDB(t, recs)
	if err := deterministic(ctx, db, &Result{}); err != nil {
		t.Fatal(err)
	}
	var brs []BlockingRule
	for _, s := range []string{"dob, given_initial", "postcode, given_initial", "nhs_number", "given_initial, month(dob) | typo day(dob)",
		"postcode, given_initial | share year(dob), month(dob)"} { // rule 4: 1 and 4 share a year, 1 and 3 nothing
		br, err := ParseBlockingRule(s)
		if err != nil {
			t.Fatal(err)
		}
		brs = append(brs, br)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE test_pairs AS SELECT col0::INTEGER AS rid_l, col1::INTEGER AS rid_r FROM (VALUES (1, 2), (1, 3), (1, 4), (5, 6), (1, 7), (2, 8))"); err != nil {
		t.Fatal(err)
	}
	if err := pairMasks(ctx, db, brs, "test_pairs", "test_masks"); err != nil {
		t.Fatal(err)
	}
	want := map[[2]int32]int32{{1, 2}: 1 | 8, {1, 3}: 2, {1, 4}: 3 | 8 | 16, {5, 6}: 4, {1, 7}: 0, {2, 8}: 8}
	rows, err := db.QueryContext(ctx, "SELECT rid_l, rid_r, mask FROM test_masks")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var l, r, mask int32
		if err := rows.Scan(&l, &r, &mask); err != nil {
			t.Fatal(err)
		}
		if mask != want[[2]int32{l, r}] {
			t.Errorf("pair (%d, %d): mask %b, want %b", l, r, mask, want[[2]int32{l, r}])
		}
		n++
	}
	if n != len(want) {
		t.Errorf("%d masks, want %d", n, len(want))
	}
}

// The twin guard is lifted from a pair whose given names differ as a typo
// does — one written so nowhere else in the data, the other common — but not
// from twins with two real names, nor across sexes, nor when the rare name is
// as close to both twins' names.
func TestLiftTypos(t *testing.T) {
	home := func(family, given, sex string) rec {
		return rec{given: given, family: family, dob: "2012-05-06", sex: sex, postcode: "SE13 6XY", postcodeKind: "standard", address: "12 Lee High Road"}
	}
	elsewhere := func(i int, given string) rec {
		return rec{given: given, family: "Filler", dob: fmt.Sprintf("19%02d-01-02", 40+i), sex: "male", postcode: "N1 9GU", postcodeKind: "standard", address: "1 York Way"}
	}
	recs := []rec{
		home("Okafor", "Jake", "male"), home("Okafor", "Jakc", "male"), // 0–1: one boy, his name misspelt
		home("Brown", "Jack", "male"), home("Brown", "Jake", "male"), // 2–3: twins
		home("Mensah", "Mark", "male"), home("Mensah", "Marie", "female"), // 4–5: twins, a boy and a girl
		home("Nowak", "Jack", "male"), home("Nowak", "Jace", "male"), home("Nowak", "Jake", "male"), // 6–8: twins, and a record close to both
	}
	// Jack, Jake and Mark are common names here; Jakc, Jace and Marie are not.
	for i, g := range []string{"Jack", "Jack", "Jack", "Jake", "Jake", "Jake", "Mark", "Mark", "Mark"} {
		recs = append(recs, elsewhere(i, g))
	}
	pairs := [][2]int{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {7, 8}}
	db, m := guardedDB(t, recs, pairs)
	for _, p := range pairs {
		if g := guardOf(t, db, p[0], p[1]); !strings.HasPrefix(g, "possible twins") {
			t.Fatalf("pair %v: guard %q before lifting", p, g)
		}
	}
	res := &Result{}
	if err := liftGuards(context.Background(), db, m, res); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf(LiftTypo, 1, 6), "", "", "", ""}
	for i, p := range pairs {
		lifted, why, err := liftedBecause(context.Background(), db, int64(p[0]+1), int64(p[1]+1))
		if err != nil {
			t.Fatal(err)
		}
		if why != "" && !strings.HasPrefix(lifted, "possible twins") {
			t.Errorf("pair %v: lifted guard %q", p, lifted)
		}
		if g := guardOf(t, db, p[0], p[1]); why != want[i] || (g == "") != (why != "") {
			t.Errorf("pair %v: guard %q, lifted because %q; want lifted because %q", p, g, why, want[i])
		}
	}
	if res.TyposLifted != 1 {
		t.Errorf("%d typos lifted, want 1", res.TyposLifted)
	}
}

// A record with no date of birth that matches a parent and a child of the
// same name, or two people with different NHS numbers, links to neither: its
// links are held for review. One that matches one person links.
func TestGuardAmbiguous(t *testing.T) {
	at := func(given, dob, nhs, postcode, address string) rec {
		return rec{given: given, family: "Fisher", dob: dob, sex: "male", postcode: postcode, postcodeKind: "standard", address: address, nhs: nhs}
	}
	recs := []rec{
		// 0 father, 1 son, 2 a record of one of them with no date of birth.
		at("Ryan", "1970-03-04", "", "SE28 8DS", "4 Bentham Road"), at("Ryan", "2001-07-08", "", "SE28 8DS", "4 Bentham Road"),
		at("Ryan", "", "", "SE28 8DS", "4 Bentham Road"),
		// 3 and 4 hold different numbers; 5 has none and no date of birth.
		at("Kwame", "1980-01-02", "9434765919", "SE13 6XY", "12 Lee High Road"), at("Kwame", "1980-01-02", "4010232137", "SE13 6XY", "12 Lee High Road"),
		at("Kwame", "", "", "SE13 6XY", "12 Lee High Road"),
		// 6 and 7: one person, 7 with no date of birth.
		at("Leon", "1990-05-06", "", "DA1 2QJ", "3 Broadway"), at("Leon", "", "", "DA1 2QJ", "3 Broadway"),
	}
	for i := 3; i < 6; i++ {
		recs[i].family = "Mensah"
	}
	recs[6].family, recs[7].family = "Nowak", "Nowak"
	pairs := [][2]int{{0, 1}, {0, 2}, {1, 2}, {3, 4}, {3, 5}, {4, 5}, {6, 7}}
	db, m := guardedDB(t, recs, pairs)
	if g := guardOf(t, db, 0, 1); !strings.HasPrefix(g, "same household, dates of birth a generation apart") {
		t.Fatalf("father and son: guard %q", g)
	}
	res := &Result{}
	if err := holdAmbiguous(context.Background(), db, m, res); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		pair [2]int
		want string
	}{{[2]int{0, 2}, GuardAmbiguous}, {[2]int{1, 2}, GuardAmbiguous}, {[2]int{3, 5}, GuardAmbiguous}, {[2]int{4, 5}, GuardAmbiguous}, {[2]int{6, 7}, ""}} {
		if g := guardOf(t, db, tt.pair[0], tt.pair[1]); g != tt.want {
			t.Errorf("pair %v: guard %q, want %q", tt.pair, g, tt.want)
		}
	}
	if res.AmbiguousRecords != 2 || res.AmbiguousLinks != 4 {
		t.Errorf("%d ambiguous records, %d links; want 2, 4", res.AmbiguousRecords, res.AmbiguousLinks)
	}
}
