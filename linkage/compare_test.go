package linkage

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selondon/carematch/rules"
	"github.com/selondon/carematch/store"
)

// rec is a record as the loader would standardise it.
type rec struct {
	given, middle, family, previous string
	dob                             string // YYYY-MM-DD or ""
	sex, postcode, postcodeKind     string
	address, nhs                    string
	unverified                      bool   // the number's status is not 01
	updated                         string // YYYY-MM-DD or ""
}

func std(r rec) rec {
	r.given, r.middle = rules.StandardiseName(r.given), rules.StandardiseName(r.middle)
	r.family, r.previous = rules.StandardiseName(r.family), rules.StandardiseName(r.previous)
	r.address = rules.StandardiseAddress(r.address)
	return r
}

// levelsDB loads record pairs into a real database the way the pipeline
// does (records → prep, with det_links for the NHS-number stage) and
// returns each pair's level label per comparison, by the very SQL the run
// scores with.
func levelsDB(t *testing.T, pairs [][2]rec) []map[string]string {
	t.Helper()
	ctx := context.Background()
	var recs []rec
	for _, p := range pairs {
		recs = append(recs, p[0], p[1])
	}
	db := preparedDB(t, recs)
	res := &Result{}
	if err := deterministic(ctx, db, res); err != nil {
		t.Fatal(err)
	}
	// Pair i is records 2i+1 and 2i+2 (rid follows local_id order).
	if _, err := db.ExecContext(ctx, `CREATE TABLE test_pairs AS SELECT rid AS rid_l, rid + 1 AS rid_r FROM prep WHERE rid % 2 = 1`); err != nil {
		t.Fatal(err)
	}
	comps := append(DefaultComparisons(), NHSComparison())
	if err := compare(ctx, db, comps, "test_pairs", "test_gammas"); err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	rows, err := db.QueryContext(ctx, "SELECT * EXCLUDE (rid_l, rid_r) FROM test_gammas ORDER BY rid_l")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		lv := make([]int8, len(comps))
		ptrs := make([]any, len(comps))
		for i := range lv {
			ptrs[i] = &lv[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for c, cmp := range comps {
			m[cmp.Name] = cmp.Levels[lv[c]].Label
		}
		out = append(out, m)
	}
	return out
}

func TestComparisonLevels(t *testing.T) {
	base := rec{given: "Robert", middle: "James", family: "Smith", dob: "1975-03-04", sex: "male",
		postcode: "SE13 6XY", postcodeKind: "standard", address: "12 Lee High Road London"}
	with := func(f func(*rec)) rec { r := base; f(&r); return r }
	tests := []struct {
		name       string
		l, r       rec
		comparison string
		want       string
	}{
		{"given exact", base, base, "given_name", "exact"},
		{"given missing", base, with(func(r *rec) { r.given = "" }), "given_name", "missing"},
		{"nickname", base, with(func(r *rec) { r.given = "Bob" }), "given_name", "nickname"},
		{"swapped", base, with(func(r *rec) { r.given, r.family = "Smith", "Robert" }), "given_name", "swapped with family name"},
		{"swap counted once", base, with(func(r *rec) { r.given, r.family = "Smith", "Robert" }), "family_name", "swapped with given name (counted under given_name)"},
		{"swapped and misspelt", base, with(func(r *rec) { r.given, r.family = "Smith", "Robret" }), "given_name", "swapped with family name, one of them inexact"},
		{"swapped and misspelt, counted once", base, with(func(r *rec) { r.given, r.family = "Smith", "Robret" }), "family_name", "swapped with given name (counted under given_name)"},
		{"swapped, with the previous family name", with(func(r *rec) { r.given, r.family, r.previous = "Karen", "Taylor", "Edwards" }),
			with(func(r *rec) { r.given, r.family = "Edwards", "Karen" }), "given_name", "swapped with family name, one of them inexact"},
		{"middle as given", base, with(func(r *rec) { r.given, r.middle = "James", "" }), "given_name", "middle name as given name"},
		{"given typo", base, with(func(r *rec) { r.given = "Robret" }), "given_name", "jaro-winkler >= 0.92"},
		{"given initial", base, with(func(r *rec) { r.given = "R" }), "given_name", "same initial"},
		{"given different", base, with(func(r *rec) { r.given = "Kwame" }), "given_name", "different"},
		{"family exact", base, base, "family_name", "exact"},
		{"previous name", with(func(r *rec) { r.family, r.previous = "Jones", "Smith" }), base, "family_name", "previous family name"},
		{"double-barrelled part", base, with(func(r *rec) { r.family = "Smith-Jones" }), "family_name", "part of a double-barrelled name"},
		{"family typo", base, with(func(r *rec) { r.family = "Smyth" }), "family_name", "jaro-winkler >= 0.80"},
		{"family different", base, with(func(r *rec) { r.family = "Okafor" }), "family_name", "different"},
		{"dob exact", base, base, "date_of_birth", "exact"},
		{"dob exact 1 Jan", with(func(r *rec) { r.dob = "1975-01-01" }), with(func(r *rec) { r.dob = "1975-01-01" }), "date_of_birth", "exact, 1 January"},
		{"dob swapped", base, with(func(r *rec) { r.dob = "1975-04-03" }), "date_of_birth", "day and month swapped"},
		{"dob placeholder", base, with(func(r *rec) { r.dob = "1975-01-01" }), "date_of_birth", "1 January placeholder"},
		{"dob one digit", base, with(func(r *rec) { r.dob = "1976-03-04" }), "date_of_birth", "one digit or one year off"},
		{"dob two digits", base, with(func(r *rec) { r.dob = "1957-03-04" }), "date_of_birth", "two digits off"},
		{"dob different", base, with(func(r *rec) { r.dob = "1990-11-21" }), "date_of_birth", "different"},
		{"dob missing", base, with(func(r *rec) { r.dob = "" }), "date_of_birth", "missing"},
		{"sex same", base, base, "sex", "same"},
		{"sex different", base, with(func(r *rec) { r.sex = "female" }), "sex", "different"},
		{"sex unknown", base, with(func(r *rec) { r.sex = "" }), "sex", "missing"},
		{"same postcode and number", base, with(func(r *rec) { r.address = "12 Lee High Road" }), "residence", "same postcode and house number"},
		{"same postcode", base, with(func(r *rec) { r.address = "40 Lee High Road" }), "residence", "same postcode"},
		{"moved, same sector", base, with(func(r *rec) { r.postcode, r.address = "SE13 6AB", "3 Manor Avenue" }), "residence", "same postcode sector"},
		{"moved, same district", base, with(func(r *rec) { r.postcode, r.address = "SE13 5AB", "3 Manor Avenue" }), "residence", "same postcode district"},
		{"moved away", base, with(func(r *rec) { r.postcode, r.address = "DA1 2QJ", "3 Broadway" }), "residence", "different"},
		{"no postcode, same address", base, with(func(r *rec) { r.postcode, r.postcodeKind = "", "" }), "residence", "same house number, similar address"},
		{"pseudo-postcodes are no evidence", with(func(r *rec) { r.postcode, r.postcodeKind, r.address = "ZZ99 3VZ", "pseudo", "No fixed abode" }),
			with(func(r *rec) { r.postcode, r.postcodeKind, r.address = "ZZ99 3VZ", "pseudo", "No fixed abode" }), "residence", "missing or pseudo-postcode"},
		{"NHS same, accepted", with(func(r *rec) { r.nhs = "4010232137" }), with(func(r *rec) { r.nhs = "4010232137" }), "nhs_number", "same, date of birth agrees"},
		{"NHS same, disputed", with(func(r *rec) { r.nhs = "4010232137" }), with(func(r *rec) { r.nhs, r.dob, r.given, r.family = "4010232137", "2001-06-07", "Amina", "Okafor" }), "nhs_number", "missing or disputed"},
		{"NHS different", with(func(r *rec) { r.nhs = "4010232137" }), with(func(r *rec) { r.nhs = "4000000632" }), "nhs_number", "different"},
		{"NHS missing", with(func(r *rec) { r.nhs = "4010232137" }), base, "nhs_number", "missing or disputed"},
		// 9434765919's holder is the record before; this unverified copy on
		// someone else clashes with it and agrees with no holder: disputed,
		// so no evidence against the record's own person.
		{"NHS holder", with(func(r *rec) { r.nhs = "9434765919" }), base, "nhs_number", "missing or disputed"},
		{"NHS different but disputed", with(func(r *rec) {
			r.nhs, r.unverified, r.dob, r.given, r.family = "9434765919", true, "2001-06-07", "Amina", "Okafor"
		}),
			with(func(r *rec) { r.nhs, r.dob, r.given, r.family = "9876543210", "2001-06-07", "Amina", "Okafor" }), "nhs_number", "missing or disputed"},
		{"NHS different, both verified", with(func(r *rec) { r.nhs, r.dob, r.given, r.family = "9449305552", "2001-06-07", "Amina", "Okafor" }),
			with(func(r *rec) { r.nhs, r.dob, r.given, r.family = "9876543210", "2001-06-07", "Amina", "Okafor" }), "nhs_number", "different"},
	}
	var pairs [][2]rec
	for _, tt := range tests {
		pairs = append(pairs, [2]rec{tt.l, tt.r})
	}
	got := levelsDB(t, pairs)
	for i, tt := range tests {
		if got[i][tt.comparison] != tt.want {
			t.Errorf("%s: %s level %q, want %q", tt.name, tt.comparison, got[i][tt.comparison], tt.want)
		}
	}
}

func TestResolveGuards(t *testing.T) {
	comps := append(DefaultComparisons(), NHSComparison())
	for _, g := range DefaultGuards {
		if _, err := ResolveGuard(g, comps); err != nil {
			t.Error(err)
		}
		if _, err := ResolveLevels(g.Reason, g.TypoSQL, comps); err != nil {
			t.Error(err)
		}
	}
	if _, err := ResolveGuard(Guard{SQL: "g_sex = {sex:nonsense}"}, comps); err == nil {
		t.Error("an unknown level resolved")
	}
}

// preparedDB loads standardised records into a real database and builds
// prep from them, as a run does.
func preparedDB(t *testing.T, recs []rec) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "t.duckdb"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateSchema(ctx, nil); err != nil {
		t.Fatal(err)
	}
	app, err := db.NewAppenderIn(ctx, store.StageCatalog, "records")
	if err != nil {
		t.Fatal(err)
	}
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	for i, r := range recs {
		r = std(r)
		var dob any
		if r.dob != "" {
			d, _ := time.Parse("2006-01-02", r.dob)
			dob = d
		}
		var updated any
		if r.updated != "" {
			d, _ := time.Parse("2006-01-02", r.updated)
			updated = d
		}
		key, num := rules.AddressKey(r.address)
		row := []any{"src", "gp", fmt.Sprintf("r%04d", i+1), "f.csv", int64(i + 1), null(r.nhs), nil, r.nhs != "" && !r.unverified,
			nil, null(r.given), null(r.middle), null(r.family), null(r.previous), null(r.given), null(r.family),
			dob, null(r.sex), null(r.address), null(r.address), null(r.postcode), null(r.postcodeKind),
			false, nil, nil, false, null(rules.Phonetic(r.given)), null(rules.Phonetic(r.family)), false, null(key), null(num), updated}
		if err := app.Append(toDriver(row)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if err := prepare(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

// Blocking's safety valves: a block bigger than the cap is left out and
// reported; a rule that would make more pairs than the cap is dropped with a
// warning; otherwise every pair of the block is a candidate, once.
func TestBlockingCaps(t *testing.T) {
	ctx := context.Background()
	var recs []rec
	for _, f := range []string{"Smith", "Jones", "Patel", "Okafor", "Nowak", "Chen", "Kelly"} {
		recs = append(recs, rec{given: "Robert", family: f, dob: "1975-03-04"}) // one block of 7: 21 pairs
	}
	db := preparedDB(t, recs)
	rule, err := ParseBlockingRule("dob, given_initial")
	if err != nil {
		t.Fatal(err)
	}
	count := func() (n int64) {
		db.QueryRowContext(ctx, "SELECT count(*) FROM pairs").Scan(&n)
		return n
	}
	st, err := block(ctx, db, []BlockingRule{rule}, 5, 1_000)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].SkippedBlocks != 1 || st[0].SkippedPairs != 21 || st[0].Pairs != 0 || count() != 0 || !strings.Contains(st[0].Warning, "over 5 records") {
		t.Errorf("oversized block: %+v, %d pairs", st[0], count())
	}
	st, err = block(ctx, db, []BlockingRule{rule}, 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !st[0].Dropped || count() != 0 || !strings.Contains(st[0].Warning, "rule dropped") {
		t.Errorf("rule over the pair cap: %+v, %d pairs", st[0], count())
	}
	st, err = block(ctx, db, []BlockingRule{rule, rule}, 100, 1_000)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Pairs != 21 || st[0].NewPairs != 21 || st[1].NewPairs != 0 || count() != 21 {
		t.Errorf("within the caps: %+v, %d pairs", st, count())
	}
}
