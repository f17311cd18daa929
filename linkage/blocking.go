package linkage

import (
	"context"
	"fmt"
	"strings"

	"github.com/selondon/carematch/store"
)

// RuleStats is what one blocking rule produced.
type RuleStats struct {
	Rule          string `json:"rule"`
	Pairs         int64  `json:"pairs"`          // pairs the rule generates, before the union
	NewPairs      int64  `json:"new_pairs"`      // pairs no earlier rule found
	SkippedBlocks int64  `json:"skipped_blocks"` // blocks over the size cap, left out
	SkippedPairs  int64  `json:"skipped_pairs"`  // pairs those blocks would have made
	Dropped       bool   `json:"dropped,omitempty"`
	Warning       string `json:"warning,omitempty"`
}

// block builds pairs(rid_l, rid_r, rule) from the union of the rules. A
// block (records sharing a key) larger than maxBlock is left out and
// reported; a rule that would still make more than maxPairs pairs is dropped
// with a warning rather than swamping the run.
func block(ctx context.Context, db *store.DB, brs []BlockingRule, maxBlock, maxPairs int64) ([]RuleStats, error) {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE pairs_all (rid_l INTEGER, rid_r INTEGER, rule SMALLINT)`); err != nil {
		return nil, err
	}
	var stats []RuleStats
	for i, br := range brs {
		st := RuleStats{Rule: br.String()}
		left := keyList(br.Left)
		right := left
		if br.Right != nil {
			right = keyList(br.Right)
		}
		// Keys of each side, and the blocks too big to keep.
		q := fmt.Sprintf(`
			CREATE OR REPLACE TEMP TABLE bl AS SELECT rid, %s AS k FROM prep WHERE NOT withheld AND %s;
			CREATE OR REPLACE TEMP TABLE br AS SELECT rid, %s AS k FROM prep WHERE NOT withheld AND %s;`,
			left, notNull(br.Left), right, notNull(rightOr(br)))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("blocking rule %q: %w", br, err)
		}
		var pairs, skippedBlocks, skippedPairs int64
		sizes := `WITH nl AS (SELECT k, count(*) AS n FROM bl GROUP BY k), nr AS (SELECT k, count(*) AS n FROM br GROUP BY k),
			blocks AS (SELECT nl.k, ` + blockPairs(br) + ` AS p, greatest(nl.n, nr.n) AS size FROM nl JOIN nr USING (k))
			SELECT coalesce(sum(p) FILTER (size <= ?), 0)::BIGINT, count(*) FILTER (size > ?), coalesce(sum(p) FILTER (size > ?), 0)::BIGINT FROM blocks`
		if err := db.QueryRowContext(ctx, sizes, maxBlock, maxBlock, maxBlock).Scan(&pairs, &skippedBlocks, &skippedPairs); err != nil {
			return nil, fmt.Errorf("blocking rule %q: %w", br, err)
		}
		st.Pairs, st.SkippedBlocks, st.SkippedPairs = pairs, skippedBlocks, skippedPairs
		if skippedBlocks > 0 {
			st.Warning = fmt.Sprintf("%d blocks over %d records left out (%d pairs)", skippedBlocks, maxBlock, skippedPairs)
		}
		if pairs > maxPairs {
			st.Dropped = true
			st.Warning = fmt.Sprintf("would make %d pairs, over the cap of %d: rule dropped", pairs, maxPairs)
			stats = append(stats, st)
			continue
		}
		ins := fmt.Sprintf(`
			INSERT INTO pairs_all
			SELECT least(a.rid, b.rid), greatest(a.rid, b.rid), %d::SMALLINT
			FROM bl a JOIN br b ON a.k = b.k
			WHERE a.rid <> b.rid AND a.k NOT IN (SELECT k FROM oversize)`, i)
		over := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE oversize AS
			SELECT k FROM (SELECT k, count(*) AS n FROM bl GROUP BY k UNION ALL SELECT k, count(*) FROM br GROUP BY k) GROUP BY k HAVING max(n) > %d`, maxBlock)
		if _, err := db.ExecContext(ctx, over); err != nil {
			return nil, fmt.Errorf("blocking rule %q: %w", br, err)
		}
		if _, err := db.ExecContext(ctx, ins); err != nil {
			return nil, fmt.Errorf("blocking rule %q: %w", br, err)
		}
		stats = append(stats, st)
	}
	// The union: each pair once, with the first rule that found it.
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE pairs AS
		SELECT rid_l, rid_r, min(rule) AS rule FROM pairs_all GROUP BY rid_l, rid_r;
		DROP TABLE pairs_all`); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT rule, count(*) FROM pairs GROUP BY rule")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var rule int
		var n int64
		if err := rows.Scan(&rule, &n); err != nil {
			return nil, err
		}
		stats[rule].NewPairs = n
	}
	return stats, rows.Err()
}

func rightOr(br BlockingRule) []string {
	if br.Right != nil {
		return br.Right
	}
	return br.Left
}

// keyList makes one value of a rule's keys: a 64-bit hash of their text,
// NULL when a key is missing.
// A collision can only add a candidate pair, never a link: the comparisons
// decide.
func keyList(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "(" + k + ")::VARCHAR"
	}
	return "CASE WHEN " + notNull(keys) + " THEN hash(" + strings.Join(parts, ", ") + ") END"
}

// notNull holds when every key has a value: a record missing one is in no
// block of the rule.
func notNull(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "(" + k + ") IS NOT NULL"
	}
	return strings.Join(parts, " AND ")
}

// blockPairs is the number of pairs a block makes: n(n-1)/2 within one side,
// nl×nr across sides (a cross rule also pairs a record with itself, which
// the join drops; the estimate is an upper bound).
func blockPairs(br BlockingRule) string {
	if br.Right == nil {
		return "nl.n * (nl.n - 1) / 2"
	}
	return "nl.n * nr.n"
}
