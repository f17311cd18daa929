package linkage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/selondon/carematch/store"
)

// RuleStats is what one blocking rule produced.
type RuleStats struct {
	Rule          string  `json:"rule"`
	Pairs         int64   `json:"pairs"`          // pairs the rule generates, before the union
	NewPairs      int64   `json:"new_pairs"`      // pairs no earlier rule found
	SkippedBlocks int64   `json:"skipped_blocks"` // blocks over the size cap, left out
	SkippedPairs  int64   `json:"skipped_pairs"`  // pairs those blocks would have made
	SplitBlocks   int64   `json:"split_blocks"`   // blocks over the rule's split size, split
	Seconds       float64 `json:"seconds"`        // the rule's keys, blocks and pairs
	Dropped       bool    `json:"dropped,omitempty"`
	Warning       string  `json:"warning,omitempty"`
}

// block builds pairs(rid_l, rid_r, rule) from the union of the rules. A
// block (records sharing a key) larger than maxBlock, or than the rule's own
// MaxBlock, is left out and reported; a rule that would still make more than
// maxPairs pairs is dropped with a warning rather than swamping the run.
//
// Each rule costs one pass over prep for its keys (bk), one aggregate of
// its blocks (blocks: key, records on each side) from which the counts come,
// and one join of the records of the blocks kept.
func block(ctx context.Context, db *store.DB, brs []BlockingRule, maxBlock, maxPairs int64) ([]RuleStats, error) {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE pairs_all (rid_l INTEGER, rid_r INTEGER, rule SMALLINT)`); err != nil {
		return nil, err
	}
	var stats []RuleStats
	for i, br := range brs {
		start := time.Now()
		st, err := blockRule(ctx, db, i, br, maxBlock, maxPairs)
		if err != nil {
			return nil, fmt.Errorf("blocking rule %q: %w", br, err)
		}
		st.Seconds = time.Since(start).Seconds()
		stats = append(stats, st)
	}
	if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS bk; DROP TABLE IF EXISTS blocks`); err != nil {
		return nil, err
	}
	atMost := make([]int64, len(stats))
	for i, st := range stats {
		atMost[i] = st.Pairs
	}
	if err := writeBlockingRules(ctx, db, stats, atMost); err != nil {
		return nil, err
	}
	// The union: each pair once, with the first rule that found it and
	// every rule that did (bit i for rule i: what a later night needs to
	// know whether a pair is still found when one of its blocks changed).
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE pairs AS
		SELECT rid_l, rid_r, min(rule) AS rule, bit_or(1::INTEGER << rule) AS rules FROM pairs_all GROUP BY rid_l, rid_r;
		DROP TABLE pairs_all`); err != nil {
		return nil, err
	}
	return stats, countNewPairs(ctx, db, stats)
}

// Block builds pairs(rid_l, rid_r, rule, rules), the candidate pairs of a
// full night's blocking of db's prep under the configured rules
// (opt.BlockingRules, or the defaults): what BlockSince must make from last
// night's pairs, for a test to compare on a night that made its own pairs
// incrementally.
func Block(ctx context.Context, db *store.DB, opt Options) error {
	opt = opt.withDefaults()
	brs, err := ParseBlockingRules(opt.BlockingRules)
	if err != nil {
		return err
	}
	_, err = block(ctx, db, brs, opt.MaxBlockSize, opt.MaxPairsPerRule)
	return err
}

// countNewPairs sets each rule's NewPairs: the pairs of table pairs whose
// first rule it is.
func countNewPairs(ctx context.Context, db *store.DB, stats []RuleStats) error {
	rows, err := db.QueryContext(ctx, "SELECT rule, count(*) FROM pairs GROUP BY rule")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var rule int
		var n int64
		if err := rows.Scan(&rule, &n); err != nil {
			return err
		}
		stats[rule].NewPairs = n
	}
	return rows.Err()
}

// writeBlockingRules keeps which rule each bit of pair_rules is, whether it
// was dropped, and the most pairs it made (atMost: the count on a full
// night, a bound on an incremental one), for the next night.
func writeBlockingRules(ctx context.Context, db *store.DB, stats []RuleStats, atMost []int64) error {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE blocking_rules (rule SMALLINT, text VARCHAR, dropped BOOLEAN, pairs_at_most BIGINT)`); err != nil {
		return err
	}
	return db.AppendEach(ctx, "blocking_rules", len(stats), func(i int) []driver.Value {
		return []driver.Value{int16(i), stats[i].Rule, stats[i].Dropped, atMost[i]}
	})
}

// blockRule adds rule i's pairs to pairs_all.
func blockRule(ctx context.Context, db *store.DB, i int, br BlockingRule, maxBlock, maxPairs int64) (RuleStats, error) {
	st := RuleStats{Rule: br.String()}
	if err := checkTypo(ctx, db, br); err != nil {
		return st, err
	}
	if _, err := db.ExecContext(ctx, ruleKeysSQL(br)); err != nil {
		return st, err
	}
	if err := splitAndCount(ctx, db, br, maxBlock, maxPairs, &st); err != nil || st.Dropped {
		return st, err
	}
	if _, err := db.ExecContext(ctx, pairsSQL(i, br, ruleLimit(br, maxBlock), "")); err != nil || rides(br) == nil {
		return st, err
	}
	// The blocks' count is of the pairs before the pair's tests: say what
	// was made.
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM pairs_all WHERE rule = ?`, i).Scan(&st.Pairs)
	return st, err
}

// ruleLimit is the most records a block of the rule may hold.
func ruleLimit(br BlockingRule, maxBlock int64) int64 {
	if br.MaxBlock > 0 && br.MaxBlock < maxBlock {
		return br.MaxBlock
	}
	return maxBlock
}

// splitAndCount splits the rule's big blocks (bk and blocks made), counts
// its pairs and the blocks left out, and marks the rule dropped when it
// would make more than maxPairs.
func splitAndCount(ctx context.Context, db *store.DB, br BlockingRule, maxBlock, maxPairs int64, st *RuleStats) error {
	limit := ruleLimit(br, maxBlock)
	if br.SplitOver > 0 {
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM blocks WHERE nl > ?`, br.SplitOver).Scan(&st.SplitBlocks); err != nil {
			return err
		}
		if st.SplitBlocks > 0 {
			if _, err := db.ExecContext(ctx, splitBlocks(br)); err != nil {
				return err
			}
		}
	}
	if err := db.QueryRowContext(ctx, `SELECT coalesce(sum(pairs) FILTER (greatest(nl, nr) <= ?), 0)::BIGINT,
		count(*) FILTER (greatest(nl, nr) > ?), coalesce(sum(pairs) FILTER (greatest(nl, nr) > ?), 0)::BIGINT FROM blocks`,
		limit, limit, limit).Scan(&st.Pairs, &st.SkippedBlocks, &st.SkippedPairs); err != nil {
		return err
	}
	if st.SkippedBlocks > 0 && limit == maxBlock {
		st.Warning = fmt.Sprintf("%d blocks over %d records left out (%d pairs)", st.SkippedBlocks, maxBlock, st.SkippedPairs)
	}
	if st.Pairs > maxPairs {
		st.Dropped = true
		st.Warning = fmt.Sprintf("would make %d pairs, over the cap of %d: rule dropped", st.Pairs, maxPairs)
	}
	return nil
}

// ruleKeysSQL makes bk (rid, kl, kr: the rule's key on each side, one
// value for a rule that is not crossed) and blocks (k, nl, nr, pairs: each
// key's records on each side and the pairs they make).
func ruleKeysSQL(br BlockingRule) string {
	if br.Right == nil {
		return fmt.Sprintf(`
			CREATE OR REPLACE TEMP TABLE bk AS SELECT rid, %[1]s AS kl, kl AS kr%[3]s FROM prep WHERE NOT withheld AND %[2]s;
			CREATE OR REPLACE TEMP TABLE blocks AS SELECT kl AS k, count(*) AS nl, nl AS nr, nl * (nl - 1) // 2 AS pairs FROM bk GROUP BY kl;`,
			keyList(br.Left, false), notNull(br.Left), rideColumns(br, ""))
	}
	// A crossed rule's right side is counted only for the keys its left
	// side has: a key on one side alone makes no pair, and most right keys
	// are such (at ten million records the previous family name's rule
	// grouped every record's right key for 120,066 blocks: 1.1–1.7 s,
	// semi-joined 0.12–0.15 s; the swapped names' rule, both sides
	// everyone, 2.9–3.5 → 1.8–2.2 s).
	return fmt.Sprintf(`
			CREATE OR REPLACE TEMP TABLE bk AS SELECT rid, %[1]s AS kl, %[2]s AS kr%[5]s FROM prep WHERE NOT withheld AND ((%[3]s) OR (%[4]s));
			CREATE OR REPLACE TEMP TABLE blocks AS
				WITH l AS (SELECT kl AS k, count(*) AS nl FROM bk WHERE kl IS NOT NULL GROUP BY kl)
				SELECT k, nl, nr, nl * nr AS pairs FROM l
				JOIN (SELECT kr AS k, count(*) AS nr FROM bk SEMI JOIN l ON bk.kr = l.k GROUP BY kr) USING (k);`,
		keyList(br.Left, true), keyList(br.Right, true), notNull(br.Left), notNull(br.Right), rideColumns(br, ""))
}

// pairsSQL adds rule i's pairs to pairs_all: every pair of records in a
// block of at most limit records (on either side), of the blocks whose key
// passes the condition only, if one is given (SQL over kept.k). Blocks of
// one record make no pair and are left out before the join: most blocks
// are (at ten million records 2.6 M of a date and postcode rule's 5.7 M),
// and joining them cost a rule 0.5–1 s there.
func pairsSQL(i int, br BlockingRule, limit int64, only string) string {
	// Within one side each pair once; across sides a record may meet itself
	// (so a crossed rule's count is an upper bound) and a pair may come
	// both ways, which the union folds.
	other := "a.rid < b.rid"
	if br.Right != nil {
		other = "a.rid <> b.rid"
	}
	if test := pairTest(br, "a", "b", ""); test != "" {
		other += " AND " + test
	}
	if only != "" {
		other += " AND " + only
	}
	return fmt.Sprintf(`
		INSERT INTO pairs_all
		SELECT least(a.rid, b.rid), greatest(a.rid, b.rid), %d::SMALLINT
		FROM (SELECT k FROM blocks WHERE greatest(nl, nr) <= %d AND pairs > 0) kept
		JOIN bk a ON a.kl = kept.k JOIN bk b ON b.kr = kept.k
		WHERE %s`, i, limit, other)
}

// splitBlocks splits a rule's blocks over SplitOver records, one split key
// at a time: a big block's records take a key of the block's key and the
// split key's value (a record missing it joins the block's others missing
// it); records of smaller blocks keep theirs. Only the big blocks' records
// are read (bs); their new keys are appended to bk and their parts replace
// the big blocks in blocks, so the old keys pair nothing and a split costs
// little where blocks are small. A split key of alternatives (SplitKey)
// puts each record in one part for each: a pair in two
// parts is made twice and the union folds it, so the rule's count is an
// upper bound, as a crossed rule's is.
func splitBlocks(br BlockingRule) string {
	var b strings.Builder
	t := rideKept(br) // the values a pair is tested on go with the record to its part
	fmt.Fprintf(&b, `
			CREATE OR REPLACE TEMP TABLE bs AS %s;`,
		splitKeySQL(br.SplitBy[0], "kl", t, fmt.Sprintf("bk SEMI JOIN (SELECT k AS kl FROM blocks WHERE nl > %d) big USING (kl) JOIN prep USING (rid)", br.SplitOver)))
	for _, key := range br.SplitBy[1:] {
		fmt.Fprintf(&b, `
			CREATE OR REPLACE TEMP TABLE bs AS
			WITH big AS (SELECT k FROM bs GROUP BY k HAVING count(*) > %[1]d)
			SELECT rid, k%[3]s FROM bs ANTI JOIN big USING (k)
			UNION ALL
			%[2]s;`, br.SplitOver, splitKeySQL(key, "k", t, "bs SEMI JOIN big USING (k) JOIN prep USING (rid)"), t)
	}
	fmt.Fprintf(&b, `
			INSERT INTO bk SELECT rid, k, k%s FROM bs;
			CREATE OR REPLACE TEMP TABLE blocks AS
				SELECT * FROM blocks WHERE nl <= %[2]d
				UNION ALL
				SELECT k, count(*) AS nl, nl AS nr, nl * (nl - 1) // 2 AS pairs FROM bs GROUP BY k;
			DROP TABLE bs;`, t, br.SplitOver)
	return b.String()
}

// splitKeySQL selects (rid, k) and the columns more from the records of
// from: k the hash of their block's key (column block) and the split key's
// value, one row a record, or one for each of its alternatives, numbered
// apart (from read once, its rows unnested).
func splitKeySQL(key SplitKey, block, more, from string) string {
	if len(key) == 1 {
		return fmt.Sprintf("SELECT rid, hash(%s, (%s)) AS k%s FROM %s", block, key[0], more, from)
	}
	h := make([]string, len(key))
	for i, a := range key {
		h[i] = fmt.Sprintf("hash(%s, %d, (%s))", block, i, a)
	}
	return fmt.Sprintf("SELECT rid, unnest([%s]) AS k%s FROM %s", strings.Join(h, ", "), more, from)
}

// ride is a value that rides with each record through a rule's one pass
// and its splits for its tests of a pair (pairTest): its column's name and
// its SQL.
type ride struct{ name, expr string }

// rides are a rule's ride values: t, the value of its Typo, d its Differ
// and s0, s1, … its Share expressions; none for a rule with none of them.
func rides(br BlockingRule) []ride {
	var rs []ride
	if br.Typo != "" {
		rs = append(rs, ride{"t", typoValue(br)})
	}
	if br.Differ != "" {
		rs = append(rs, ride{"d", "(" + br.Differ + ")"})
	}
	for i, e := range br.Share {
		rs = append(rs, ride{fmt.Sprintf("s%d", i), "(" + e + ")"})
	}
	return rs
}

// rideColumns selects a rule's rides as columns, each name ending in
// suffix, each after ", ".
func rideColumns(br BlockingRule, suffix string) string {
	var b strings.Builder
	for _, r := range rides(br) {
		fmt.Fprintf(&b, ", %s AS %s%s", r.expr, r.name, suffix)
	}
	return b.String()
}

// rideKept names rideColumns (with no suffix) for a select that keeps them.
func rideKept(br BlockingRule) string {
	var b strings.Builder
	for _, r := range rides(br) {
		b.WriteString(", " + r.name)
	}
	return b.String()
}

// pairTest holds for a pair of the rule's blocks that its Typo, Differ
// and Share keep, the two records' rideColumns (named with suffix) under
// the aliases a and b; "" for a rule with none of them. A record with no
// Typo value pairs with none; a pair missing a Differ or Share value is
// kept.
func pairTest(br BlockingRule, a, b, suffix string) string {
	var tests []string
	if br.Typo != "" {
		tests = append(tests, "coalesce("+typoSQL(a+".t"+suffix, b+".t"+suffix)+", false)")
	}
	if br.Differ != "" {
		tests = append(tests, fmt.Sprintf("coalesce(%[1]s.d%[3]s <> %[2]s.d%[3]s, true)", a, b, suffix))
	}
	if br.Share != nil {
		tests = append(tests, shareSQL(len(br.Share), a, b, suffix))
	}
	return strings.Join(tests, " AND ")
}

// shareSQL holds when two records, a and b, agree on one of n Share
// values (a.s0 = b.s0, …), or either lacks one (a comparison with NULL:
// a record that cannot tell is paired as without the test).
func shareSQL(n int, a, b, suffix string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("coalesce(%[1]s.s%[3]d%[4]s = %[2]s.s%[3]d%[4]s, true)", a, b, i, suffix)
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// typoValue is the SQL of a rule's Typo as its slip is tested: its last two
// digits (checkTypo has made sure it is a whole number, so no value can
// fail the cast and be named in DuckDB's error).
func typoValue(br BlockingRule) string {
	return "((" + br.Typo + ") % 100)::INTEGER"
}

// checkTypo refuses a rule whose Typo is not a whole number, by its type
// (read from one record, not from its values).
func checkTypo(ctx context.Context, db *store.DB, br BlockingRule) error {
	if br.Typo == "" {
		return nil
	}
	var typ string
	err := db.QueryRowContext(ctx, "SELECT typeof("+br.Typo+") FROM prep LIMIT 1").Scan(&typ)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case !slices.Contains([]string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}, typ):
		return fmt.Errorf("typo %s is %s, not a whole number (a day or month of birth: typo day(dob))", br.Typo, typ)
	}
	return nil
}

// typoSQL holds when two numbers of two digits, a and b, are at most one
// keying slip apart: a digit kept in its place (the other changed, or
// neither), or the two digits swapped. Any two days of a month share a
// tens digit about three times in ten and a units digit once, so a mistyped
// day's rule keeps about two in five of the namesakes its blocks pair by
// chance and every pair a single slip made.
func typoSQL(a, b string) string {
	return fmt.Sprintf("(%[1]s // 10 = %[2]s // 10 OR %[1]s %% 10 = %[2]s %% 10 OR (%[1]s // 10 = %[2]s %% 10 AND %[1]s %% 10 = %[2]s // 10))", a, b)
}

func rightOr(br BlockingRule) []string {
	if br.Right != nil {
		return br.Right
	}
	return br.Left
}

// keyList makes one value of a rule's keys: a 64-bit hash of them, NULL
// when a key is missing. A crossed rule hashes their text, so that a left
// key and its right key of different types still meet when their values
// read the same; a plain rule hashes the values themselves, the same
// expressions on both sides (at ten million records the text costs 0.7 s a
// rule). A collision can only add a candidate pair, never a link: the
// comparisons decide.
func keyList(keys []string, crossed bool) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "(" + k + ")"
		if crossed {
			parts[i] += "::VARCHAR"
		}
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
