package linkage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/selondon/carematch/store"
)

// ErrNoDelta says tonight's candidate pairs cannot be built from the
// previous night's: it kept no pair_rules, or a rule was dropped (over its
// pair cap) on one night and not the other.
var ErrNoDelta = errors.New("the previous night's pairs cannot be carried")

// blockDelta builds pairs_delta(rid_l, rid_r, rule, rules) — the candidate
// pairs block would build tonight — from the previous night's state
// database (prevPath: its prep and pair_rules) and tonight's prep, doing
// the blocking work only where records changed (docs/INCREMENTAL.md):
//
//   - a record is dirty when it is new, or any prep column but rid, file
//     and line differs from last night's: its fields (the load found its
//     fingerprint changed, record_changes: every such prep column is made
//     from its fields) or a flag computed across records (prepFlags);
//   - for each rule, a block (records sharing the rule's key, before any
//     split) is dirty when it holds a dirty record tonight or held a dirty
//     or gone record last night. Dirty blocks are rebuilt whole, tonight's
//     way (splits and size caps included); a pair of two clean records
//     found by the rule last night in a clean block is carried, under
//     tonight's rids.
//
// A pair's rule is the first rule that finds it; rules has a bit for each.
// The previous night's state database is attached as prevblk
// (attachPrevious). The clean records under both nights' rids are left in
// store.CleanRecords, for compareDelta and for clustering (mpi), which keeps
// last night's persons where nothing they were made from changed.
//
// A plain rule's keys are computed for the dirty records only, and its
// blocks made of the records sharing a dirty key only: the rest of its
// blocks are clean and their pairs carried. So tonight's count of the
// rule's pairs is not known, only a bound: last night's bound (exact on a
// full night) and the pairs of tonight's dirty blocks. It returns each
// rule's bound; a rule whose bound passes maxPairs, which a full night might
// drop, makes it ErrNoDelta; so does a night without record_changes (the
// last night kept no record fingerprints to compare with).
func blockDelta(ctx context.Context, db *store.DB, brs []BlockingRule, maxBlock, maxPairs int64) ([]int64, error) {
	ok, err := db.HasTables(ctx, "prevblk", "prep", "pair_rules", "blocking_rules", "scores")
	if err != nil {
		return nil, err
	}
	// Which records are unchanged the load said (record_changes), when
	// last night kept fingerprints to compare with.
	known, err := db.HasTables(ctx, store.StageCatalog, "record_changes")
	if err != nil {
		return nil, err
	}
	if !ok || !known { // (ParseBlockingRules keeps a rule set within pair_rules' bits)
		return nil, ErrNoDelta
	}
	// A bit of pair_rules is a rule by its place: last night's rules must be
	// tonight's, in the same order, none dropped; and last night must say
	// how many pairs each made at most.
	var bounded int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_columns()
		WHERE database_name = 'prevblk' AND table_name = 'blocking_rules' AND column_name = 'pairs_at_most'`).Scan(&bounded); err != nil {
		return nil, err
	}
	if bounded != 1 {
		return nil, ErrNoDelta
	}
	var same, n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FILTER (NOT dropped AND rule = list_position(`+rulesText(brs)+`, text) - 1), count(*)
		FROM prevblk.blocking_rules`).Scan(&same, &n); err != nil {
		return nil, err
	}
	if same != len(brs) || n != len(brs) {
		return nil, ErrNoDelta
	}
	// A record is clean when its fields are last night's (the load found
	// the same fingerprint, record_changes: every prep column but the flags
	// is made from them) and so are its flags computed across records
	// (prepFlags).
	flags := make([]string, len(prepFlags))
	for i, f := range prepFlags {
		flags[i] = fmt.Sprintf("n.%[1]s IS NOT DISTINCT FROM p.%[1]s", f)
	}
	q := fmt.Sprintf(`
		-- Clean records under both nights' rids.
		CREATE OR REPLACE TABLE %[3]s AS
			SELECT p.rid AS prev_rid, n.rid
			FROM prep n
			JOIN record_changes c ON c.source_id = n.source_id AND c.local_id = n.local_id AND c.change = %[2]s
			JOIN prevblk.prep p ON p.source_id = n.source_id AND p.local_id = n.local_id
			WHERE %[1]s;
		CREATE OR REPLACE TEMP TABLE dirty_now AS SELECT rid FROM prep ANTI JOIN clean_records USING (rid);
		-- Last night's rows of its dirty and gone records, read once: their
		-- rids first, then their rows (an anti-join reading every column of
		-- last night's prep took 1.3 s at 2 M records, this 0.55 s).
		CREATE OR REPLACE TEMP TABLE prev_dirty AS
			SELECT p.rid FROM prevblk.prep p ANTI JOIN clean_records c ON c.prev_rid = p.rid WHERE NOT p.withheld;
		CREATE OR REPLACE TEMP TABLE prep_prev_dirty AS SELECT p.* FROM prevblk.prep p SEMI JOIN prev_dirty USING (rid);
		DROP TABLE prev_dirty;
		-- Each clean record's rules whose block of it is dirty (bit i).
		CREATE OR REPLACE TEMP TABLE dirty_bits (rid INTEGER, bit INTEGER);
		CREATE OR REPLACE TEMP TABLE pairs_all (rid_l INTEGER, rid_r INTEGER, rule SMALLINT);
		-- Last night's pairs of two clean records, under tonight's rids.
		CREATE OR REPLACE TEMP TABLE carried AS
			SELECT least(a.rid, b.rid) AS rid_l, greatest(a.rid, b.rid) AS rid_r, p.rules
			FROM prevblk.pair_rules p JOIN clean_records a ON a.prev_rid = p.rid_l JOIN clean_records b ON b.prev_rid = p.rid_r;`,
		strings.Join(flags, " AND "), store.QuoteString(string(store.RecordUnchanged)), store.Staged(store.CleanRecords))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return nil, fmt.Errorf("dirty records: %w", err)
	}
	atMost := make([]int64, len(brs))
	for i, br := range brs {
		if atMost[i], err = blockRuleDelta(ctx, db, i, br, maxBlock, maxPairs); err != nil {
			return nil, fmt.Errorf("blocking rule %q: %w", br, err)
		}
	}
	// A pair of a plain rule has one block, its two records' key, in which
	// the rule found it last night: where that block is clean, it still
	// does. So a carried pair keeps the plain rules' bits its first record's
	// dirty blocks do not clear; the crossed rules' pairs were carried one
	// rule at a time (blockRuleDelta).
	var plain int64
	for i, br := range brs {
		if br.Right == nil {
			plain |= 1 << i
		}
	}
	_, err = db.ExecContext(ctx, fmt.Sprintf(`
		CREATE OR REPLACE TEMP TABLE pairs_delta AS
		SELECT rid_l, rid_r, bit_or(bits)::INTEGER AS rules,
			round(log2((bit_or(bits) & -bit_or(bits))::DOUBLE))::SMALLINT AS rule
		FROM (SELECT rid_l, rid_r, 1::INTEGER << rule AS bits FROM pairs_all
			UNION ALL
			SELECT c.rid_l, c.rid_r, c.rules & %[1]d & ~coalesce(d.mask, 0)
			FROM carried c LEFT JOIN (SELECT rid, bit_or(1::INTEGER << bit) AS mask FROM dirty_bits GROUP BY rid) d ON d.rid = c.rid_l
			WHERE c.rules & %[1]d & ~coalesce(d.mask, 0) <> 0)
		GROUP BY rid_l, rid_r;
		DROP TABLE pairs_all; DROP TABLE carried; DROP TABLE dirty_now; DROP TABLE prep_prev_dirty;
		DROP TABLE dirty_bits; DROP TABLE IF EXISTS bk; DROP TABLE IF EXISTS blocks; DROP TABLE IF EXISTS dirty_keys`, plain))
	return atMost, err
}

// rulesText is an SQL list of the rules as blocking_rules.text holds them.
func rulesText(brs []BlockingRule) string {
	out := make([]string, len(brs))
	for i, br := range brs {
		out[i] = store.QuoteString(br.String())
	}
	return "[" + strings.Join(out, ", ") + "]::VARCHAR[]"
}

// BlockSince builds pairs_delta(rid_l, rid_r, rule, rules), tonight's
// candidate pairs under the configured rules (opt.BlockingRules, or the
// defaults), from the previous night's state database at prevPath,
// tonight's prep and record_changes (extract.DetectChanges, or
// CompareRecordPrints on a committed state): see blockDelta. It returns
// ErrNoDelta when last night's pairs cannot be carried.
func BlockSince(ctx context.Context, db *store.DB, opt Options, prevPath string) error {
	opt = opt.withDefaults()
	brs, err := ParseBlockingRules(opt.BlockingRules)
	if err != nil {
		return err
	}
	detach, err := attachPrevious(ctx, db, prevPath)
	if err != nil {
		return err
	}
	defer detach()
	_, err = blockDelta(ctx, db, brs, opt.MaxBlockSize, opt.MaxPairsPerRule)
	return err
}

// attachPrevious attaches the previous night's state database, read only,
// as prevblk.
func attachPrevious(ctx context.Context, db *store.DB, path string) (detach func(), err error) {
	return db.AttachReadOnly(ctx, path, "prevblk")
}

// blockRuleDelta adds rule i's pairs to pairs_all: its dirty blocks rebuilt,
// its clean blocks' pairs carried. It returns the most pairs the rule makes
// tonight (last night's most and those of tonight's dirty blocks for a
// plain rule; the count for a crossed one).
func blockRuleDelta(ctx context.Context, db *store.DB, i int, br BlockingRule, maxBlock, maxPairs int64) (int64, error) {
	if err := checkTypo(ctx, db, br); err != nil {
		return 0, err
	}
	crossed := br.Right != nil
	var q string
	if crossed {
		// Tonight's keys, and the dirty blocks: the keys of the dirty
		// records tonight and last night, on either side.
		q = ruleKeysSQL(br) + fmt.Sprintf(`
		CREATE OR REPLACE TEMP TABLE dirty_keys AS
			SELECT kl AS k FROM bk SEMI JOIN dirty_now USING (rid) WHERE kl IS NOT NULL
			UNION SELECT kr FROM bk SEMI JOIN dirty_now USING (rid) WHERE kr IS NOT NULL
			UNION SELECT kl FROM (SELECT %[1]s AS kl FROM prep_prev_dirty) WHERE kl IS NOT NULL
			UNION SELECT kr FROM (SELECT %[2]s AS kr FROM prep_prev_dirty) WHERE kr IS NOT NULL;`,
			keyList(br.Left, true), keyList(br.Right, true))
	} else {
		// The dirty keys (before any split) of the dirty records tonight
		// and last night; bk and blocks hold the dirty blocks' records only,
		// each of whom has this rule's bit in dirty_bits.
		q = fmt.Sprintf(`
		CREATE OR REPLACE TEMP TABLE dirty_keys AS
			SELECT DISTINCT k FROM (SELECT %[1]s AS k FROM prep SEMI JOIN dirty_now USING (rid) WHERE NOT withheld
				UNION ALL SELECT %[1]s FROM prep_prev_dirty)
			WHERE k IS NOT NULL;
		CREATE OR REPLACE TEMP TABLE bk AS
			SELECT rid, kl, kl AS kr%[5]s FROM (SELECT rid, %[1]s AS kl%[4]s FROM prep WHERE NOT withheld AND %[2]s)
			SEMI JOIN dirty_keys ON kl = k;
		CREATE OR REPLACE TEMP TABLE blocks AS SELECT kl AS k, count(*) AS nl, nl AS nr, nl * (nl - 1) // 2 AS pairs FROM bk GROUP BY kl;
		INSERT INTO dirty_bits SELECT rid, %[3]d FROM bk;`, keyList(br.Left, false), notNull(br.Left), i, rideColumns(br, ""), rideKept(br))
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return 0, err
	}
	var st RuleStats
	if err := splitAndCount(ctx, db, br, maxBlock, maxPairs, &st); err != nil {
		return 0, err
	}
	atMost := st.Pairs
	if !crossed {
		var last int64
		if err := db.QueryRowContext(ctx, `SELECT pairs_at_most FROM prevblk.blocking_rules WHERE rule = ?`, i).Scan(&last); err != nil {
			return 0, err
		}
		atMost += last
	}
	if st.Dropped || atMost > maxPairs {
		return 0, ErrNoDelta
	}
	limit := ruleLimit(br, maxBlock)
	if !crossed {
		// Every block made is dirty, every part of one too: rebuilt whole.
		// Its clean blocks' pairs are carried with the other plain rules'
		// (blockDelta).
		_, err := db.ExecContext(ctx, pairsSQL(i, br, limit, ""))
		return atMost, err
	}
	// A crossed rule does not split: its dirty blocks are those of the
	// dirty keys.
	if _, err := db.ExecContext(ctx, pairsSQL(i, br, limit, "kept.k IN (SELECT k FROM dirty_keys)")); err != nil {
		return 0, err
	}
	// A crossed rule's pair may meet in either direction; it is carried if
	// it meets in a clean block that is not over the size cap (the rule
	// does not split, so bk holds each record's keys once).
	_, err := db.ExecContext(ctx, fmt.Sprintf(`
		INSERT INTO pairs_all
		SELECT c.rid_l, c.rid_r, %[1]d::SMALLINT FROM carried c JOIN bk a ON a.rid = c.rid_l JOIN bk b ON b.rid = c.rid_r
		WHERE c.rules & (1 << %[1]d) <> 0 AND (
			(a.kl = b.kr AND a.kl NOT IN (SELECT k FROM dirty_keys) AND a.kl IN (SELECT k FROM blocks WHERE greatest(nl, nr) <= %[2]d)) OR
			(b.kl = a.kr AND b.kl NOT IN (SELECT k FROM dirty_keys) AND b.kl IN (SELECT k FROM blocks WHERE greatest(nl, nr) <= %[2]d)))`, i, limit))
	return atMost, err
}

// compareDelta makes gammas for pairs, tonight's candidate pairs built by
// blockDelta: a pair of two clean records that was a candidate last night
// keeps last night's levels (a level is a function of the two records'
// prep rows, the nicknames and whether the NHS stage linked them: all the
// same for clean records), every other pair is compared. It returns how
// many pairs were compared.
//
// When last night's scores say each pair's guard before guards were lifted
// (guard_scored), such a pair keeps its score too: its weight is a
// function of its levels, the held model and the held term frequencies, its
// guard of its levels and its two records — all last night's. Then only
// the compared pairs are in gammas (scoreDelta scores them and adds the
// carried ones, kept in scores_carried); carried reports it.
func compareDelta(ctx context.Context, db *store.DB, comps []Comparison) (n int64, carried bool, err error) {
	levels := levelColumns(comps)
	var has int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_columns()
		WHERE database_name = 'prevblk' AND table_name = 'scores' AND column_name = 'guard_scored'`).Scan(&has); err != nil {
		return 0, false, err
	}
	carried = has == 1
	scored := ""
	if carried {
		scored = ", s.weight, s.guard_scored, s.guard_blocks"
	}
	q := fmt.Sprintf(`
		CREATE OR REPLACE TEMP TABLE gammas_carried AS
			SELECT a.rid AS rid_l, b.rid AS rid_r, %[1]s%[2]s
			FROM prevblk.scores s JOIN clean_records a ON a.prev_rid = s.rid_l JOIN clean_records b ON b.prev_rid = s.rid_r
			SEMI JOIN pairs p ON p.rid_l = a.rid AND p.rid_r = b.rid;
		CREATE OR REPLACE TEMP TABLE pairs_compared AS SELECT p.* FROM pairs p ANTI JOIN gammas_carried g USING (rid_l, rid_r);`,
		"s."+strings.Join(levels, ", s."), scored)
	if _, err := db.ExecContext(ctx, q); err != nil {
		return 0, false, fmt.Errorf("carried levels: %w", err)
	}
	if err := compare(ctx, db, comps, "pairs_compared", "gammas_compared"); err != nil {
		return 0, false, err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM gammas_compared`).Scan(&n); err != nil {
		return 0, false, err
	}
	q = `CREATE OR REPLACE TEMP TABLE gammas AS
		SELECT * FROM gammas_carried UNION ALL BY NAME SELECT * FROM gammas_compared;
		DROP TABLE gammas_carried; DROP TABLE gammas_compared; DROP TABLE pairs_compared`
	if carried {
		q = `ALTER TABLE gammas_carried RENAME TO scores_carried; ALTER TABLE gammas_compared RENAME TO gammas; DROP TABLE pairs_compared`
	}
	_, err = db.ExecContext(ctx, q)
	return n, carried, err
}

// scoreDelta makes scores on a night whose carried pairs kept their scores
// (compareDelta): the compared pairs in gammas are scored, the carried ones
// take last night's weight and guard (before lifting: lifting runs over
// every pair afterwards, as on a full night).
func scoreDelta(ctx context.Context, db *store.DB, m *Model) error {
	if err := score(ctx, db, m, "gammas", store.Staged("scores_compared")); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE scores AS
		SELECT * EXCLUDE (weight, guard_scored, guard_blocks), weight, guard_scored AS guard, guard_blocks, guard_scored FROM scores_carried
		UNION ALL BY NAME SELECT * FROM scores_compared;
		DROP TABLE scores_carried; DROP TABLE scores_compared`)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	return nil
}
