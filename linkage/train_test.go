package linkage

import (
	"context"
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
