package linkage

import (
	"context"
	"math"
	"testing"
)

// The counts the prior is made from, on records whose pairs are known: pairs
// sharing a verified number, pairs agreeing exactly on the four fields, and
// those of them sharing a verified number too.
func TestCountNumberPrior(t *testing.T) {
	ann := rec{given: "Ann", family: "Okafor", dob: "1950-03-01", postcode: "SE13 5AB", postcodeKind: "standard", nhs: "9434765919"}
	recs := []rec{
		ann, ann, ann, // three pairs: shared, exact and both
		{given: "Bob", family: "Lee", dob: "1960-01-01", postcode: "SE6 1AA", postcodeKind: "standard", nhs: "9434765870"},
		{given: "Bob", family: "Lee", dob: "1960-01-01", postcode: "SE6 1AA", postcodeKind: "standard"}, // exact only: one has no number
		{given: "Cara", family: "Diaz", dob: "1970-01-01", postcode: "SE9 2BB", postcodeKind: "standard", nhs: "4010232137"},
		{given: "Cara", family: "Diaz", dob: "1970-01-01", postcode: "DA5 1AA", postcodeKind: "standard", nhs: "4010232137"}, // shared only: moved
		{given: "Dev", family: "Rao", dob: "1980-01-01", postcode: "SE10 9AA", postcodeKind: "standard", nhs: "9990001234", unverified: true},
		{given: "Dev", family: "Rao", dob: "1980-01-01", postcode: "SE10 9AA", postcodeKind: "standard", nhs: "9990001234", unverified: true}, // exact; the number unverified
		{given: "Eve", family: "Ng", dob: "1990-01-01", nhs: "9434765811"},
		{given: "Eve", family: "Ng", dob: "1990-01-01", nhs: "9434765811"}, // shared; no postcode, so not exact
		{given: "Fay", family: "Ola", dob: "1955-05-05", postcode: "SE13 5AB", postcodeKind: "standard", nhs: "9434765829"},
		{given: "Fay", family: "Ola", dob: "1955-05-05", postcode: "SE13 5AB", postcodeKind: "standard", nhs: "9434765837"}, // exact, two numbers: namesakes
	}
	db := preparedDB(t, recs)
	got, err := countNumberPrior(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	want := numberPrior{Shared: 3 + 1 + 1, Exact: 3 + 1 + 1 + 1, ExactShared: 3}
	if got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
}

func TestNumberPriorRate(t *testing.T) {
	enough := numberPrior{Shared: 400, Exact: 1000, ExactShared: 250}
	for _, c := range []struct {
		name string
		p    numberPrior
		n    float64
		want float64
	}{
		// 400 pairs share a number, a quarter of exact pairs do: 1,600
		// matches among 1,999,000 pairs.
		{"enough", enough, 2000, 1600.0 / 1999000},
		{"too few shared", numberPrior{Shared: 199, Exact: 1000, ExactShared: 250}, 2000, 0},
		{"too few exact pairs sharing a number", numberPrior{Shared: 400, Exact: 1000, ExactShared: 99}, 2000, 0},
		{"no numbers", numberPrior{}, 2000, 0},
		{"one record", enough, 1, 0},
	} {
		if got := c.p.rate(c.n); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%s: rate %g, want %g", c.name, got, c.want)
		}
	}
}
