package linkage

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// The random pairs u is estimated from are drawn pair by pair: each two
// different records, neither quarantined, the same draws every time, and
// over many draws every record's turn comes.
func TestRandomPairsDrawn(t *testing.T) {
	ctx := context.Background()
	var recs []rec
	for i := range 40 {
		recs = append(recs, rec{given: fmt.Sprintf("Given%c", 'A'+i%26), family: "Family", dob: fmt.Sprintf("19%02d-01-02", 40+i)})
	}
	db := preparedDB(t, recs)
	// The draws rely on prepare numbering the records 1 to n.
	var dense bool
	if err := db.QueryRowContext(ctx, "SELECT max(rid) = count(*) AND min(rid) = 1 FROM prep").Scan(&dense); err != nil || !dense {
		t.Fatalf("prep's rids are not 1 to its count (%v)", err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE prep SET quarantined = true WHERE rid > 30"); err != nil {
		t.Fatal(err)
	}
	const draws = 3000
	q := randomPairsQuery(draws)
	digest := func() (n, records, bad int, sum string) {
		t.Helper()
		err := db.QueryRowContext(ctx, `WITH p AS (`+q+`) SELECT count(*), (SELECT count(DISTINCT r) FROM (SELECT rid_l AS r FROM p UNION ALL SELECT rid_r FROM p)),
			count(*) FILTER (rid_l >= rid_r OR rid_r > 30 OR rid_l < 1), sum(hash(rid_l, rid_r))::VARCHAR FROM p`).Scan(&n, &records, &bad, &sum)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	n, records, bad, sum := digest()
	// A quarter of the records are quarantined, so about 44% of the draws
	// are dropped, and one in 40 draws one record twice.
	if n < draws*45/100 || n > draws*65/100 {
		t.Errorf("%d pairs from %d draws", n, draws)
	}
	if records != 30 || bad != 0 {
		t.Errorf("%d records drawn (want the 30 not quarantined), %d pairs out of order or quarantined", records, bad)
	}
	if n2, _, _, sum2 := digest(); n2 != n || sum2 != sum {
		t.Errorf("drawn again: %d pairs (%s), then %d (%s)", n, sum, n2, sum2)
	}
}

// The training sample drawn beside the night's work, on a handle of its
// own, is the sample drawn on the night's handle, and the night's temporary
// tables are untouched by it; a sample abandoned stops, and leaves the
// database usable.
func TestSampleBeside(t *testing.T) {
	ctx := context.Background()
	var recs []rec
	for i := range 60 {
		r := rec{given: fmt.Sprintf("Given%c", 'A'+i%20), family: fmt.Sprintf("Family%c", 'A'+i%7), dob: fmt.Sprintf("19%02d-0%d-1%d", 40+i%30, 1+i%9, i%10), sex: "female"}
		if i%3 == 0 {
			r.nhs = "4010232137" // a shared verified number: label pairs
		}
		recs = append(recs, r)
	}
	db := preparedDB(t, recs)
	if err := deterministic(ctx, db, &Result{}); err != nil {
		t.Fatal(err)
	}
	comps := append(DefaultComparisons(), NHSComparison())
	here, err := drawSample(ctx, db, comps, 500)
	if err != nil {
		t.Fatal(err)
	}
	if here.nRandom == 0 || here.nLabels == 0 {
		t.Fatalf("sample of %d random and %d label pairs: the test needs both", here.nRandom, here.nLabels)
	}
	if _, err := db.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE random_pairs AS SELECT 1 AS night"); err != nil {
		t.Fatal(err)
	}
	beside, err := startSample(ctx, db, comps, 500).wait()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(beside) != fmt.Sprint(here) {
		t.Errorf("drawn beside: %+v\non the night's handle: %+v", beside, here)
	}
	var night int
	if err := db.QueryRowContext(ctx, "SELECT night FROM random_pairs").Scan(&night); err != nil || night != 1 {
		t.Errorf("the night's own temporary table: %d (%v)", night, err)
	}
	b := startSample(ctx, db, comps, 500)
	b.stop()
	if _, err := b.wait(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("a stopped sample: %v", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM prep").Scan(&night); err != nil || night != len(recs) {
		t.Errorf("after a stopped sample: prep has %d records (%v)", night, err)
	}
}
