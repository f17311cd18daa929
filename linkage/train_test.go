package linkage

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// The random pairs u is estimated from are drawn pair by pair: each two
// different records, neither quarantined, the same draws every time, and
// over many draws every record's turn comes — by a plan that never pairs
// every record with every other.
func TestRandomPairsDrawn(t *testing.T) {
	ctx := context.Background()
	var recs []rec
	for i := range 40 {
		recs = append(recs, rec{given: fmt.Sprintf("Given%c", 'A'+i%26), family: "Family", dob: fmt.Sprintf("19%02d-01-02", 40+i)})
	}
	db := preparedDB(t, recs)
	if _, err := db.ExecContext(ctx, "UPDATE prep SET quarantined = true WHERE rid > 30"); err != nil {
		t.Fatal(err)
	}
	const draws = 3000
	q := randomPairsQuery(draws)
	var key, plan string
	if err := db.QueryRowContext(ctx, "EXPLAIN "+q).Scan(&key, &plan); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plan, "NESTED_LOOP_JOIN") || strings.Contains(plan, "PIECEWISE_MERGE_JOIN") {
		t.Errorf("the draws join records to records:\n%s", plan)
	}
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
	// About one draw in 30 takes one record twice.
	if n < draws*9/10 || n >= draws {
		t.Errorf("%d pairs from %d draws", n, draws)
	}
	if records != 30 || bad != 0 {
		t.Errorf("%d records drawn (want the 30 not quarantined), %d pairs out of order or quarantined", records, bad)
	}
	if n2, _, _, sum2 := digest(); n2 != n || sum2 != sum {
		t.Errorf("drawn again: %d pairs (%s), then %d (%s)", n, sum, n2, sum2)
	}
}
