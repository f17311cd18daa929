package mpi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/selondon/carematch/store"
)

// RefusedLink says, for a night's state, why clustering refused the link
// between two records, or "" when it did not: it would have put two
// different valid NHS numbers in one person (cut_links), or the person
// would not hang together (chain_links: two of its records a clear
// non-match, or too many records). explain adds it to the model's decision,
// which knows nothing of clustering. It names records, never their values.
func RefusedLink(ctx context.Context, db *store.DB, left, right store.RecordKey) (string, error) {
	q := `WITH k AS (SELECT (SELECT rid FROM prep WHERE source_id = ? AND local_id = ?) AS a,
	                        (SELECT rid FROM prep WHERE source_id = ? AND local_id = ?) AS b),
		  p AS (SELECT least(a, b) AS l, greatest(a, b) AS r FROM k)
		SELECT CASE WHEN EXISTS (SELECT 1 FROM cut_links c, p WHERE c.rid_l = p.l AND c.rid_r = p.r)
		            THEN 'it would put two different valid NHS numbers in one person' END,
		       (SELECT CASE WHEN c.size IS NOT NULL THEN 'it would make a person of ' || c.size || ' records'
		                    ELSE 'it would put ' || al.source_id || ':' || al.local_id || ' and ' || ar.source_id || ':' || ar.local_id ||
		                         ', which score ' || round(s.weight, 1) || ', below the review band, in one person' END
		        FROM chain_links c JOIN p ON c.rid_l = p.l AND c.rid_r = p.r
		        LEFT JOIN prep al ON al.rid = c.against_l LEFT JOIN prep ar ON ar.rid = c.against_r
		        LEFT JOIN scores s ON s.rid_l = c.against_l AND s.rid_r = c.against_r)`
	var cut, chain sql.NullString
	err := db.QueryRowContext(ctx, q, left.Source, left.Local, right.Source, right.Local).Scan(&cut, &chain)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("explain: clustering's refused links: %w", err)
	}
	switch {
	case cut.Valid:
		return cut.String, nil
	case chain.Valid:
		return chain.String, nil
	}
	return "", nil
}
