package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/selondon/carematch/extract"
	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/publish"
	"github.com/selondon/carematch/store"
)

// Tonight's candidate pairs built from last night's — blocking only where
// records changed, carrying the pairs of clean blocks — are exactly the
// pairs a full night's blocking made, with the same rules, on fixture
// nights 2 and 3 (records gone, corrected, moved and new): with the default
// rules, and with as many as a pair can record (linkage.MaxBlockingRules:
// the defaults and copies of the NHS number's rule, whose bits reach 30).
func TestBlockingSinceLastNight(t *testing.T) {
	most := append([]string(nil), linkage.DefaultBlockingRules...)
	for i := len(most); i < linkage.MaxBlockingRules; i++ {
		most = append(most, fmt.Sprintf("nhs_number | max_block %d", 1000+i))
	}
	// A crossed rule that pairs namesakes, tested as the defaults' are: the
	// ride value goes with each record on either side.
	crossed := []string{"given_initial, year(dob) ~ given_initial, year(dob) | share CASE WHEN NOT nhs_disputed THEN nhs_number::BIGINT END", "nhs_number"}
	for _, tc := range []struct {
		name      string
		rules     []string
		mustSplit bool                                   // the first rule splits blocks on night 1
		holds     func(context.Context, *store.DB) error // what else the night's pairs must show
	}{
		{"default rules", nil, false, numbersApart(linkage.DefaultBlockingRules)},
		{"31 rules", most, false, nil},
		{"crossed with a share", crossed, false, numbersApart(crossed)},
		// Small blocks split by a key of alternatives, so that the fixture's
		// few thousand records have parts to split.
		{"split by either key", []string{"dob, given_initial | split 2 by sex, either(left(family_name, 1), district)", "nhs_number"}, true, nil},
		// Big blocks, split, whose pairs a typo then tests: the slip's value
		// goes with each record to its part, on a full night and on one
		// that rebuilds only the dirty blocks.
		{"split with a typo", []string{"given_initial, year(dob) | split 2 by sex | typo day(dob)", "nhs_number"}, true, nil},
		// The same for values a pair must share one of.
		{"split with a share", []string{"given_initial, left(postcode, 3) | split 2 by sex | share year(dob), month(dob)", "nhs_number"}, true, nil},
		// The same for a value a pair must differ on; the second rule
		// makes the pairs of one date the first leaves out.
		{"split with a differ", []string{"given_initial, year(dob) | split 2 by sex | differ dob", "dob, given_initial", "nhs_number"}, true, differHolds},
	} {
		t.Run(tc.name, func(t *testing.T) { blockingSinceLastNight(t, tc.rules, tc.mustSplit, tc.holds) })
	}
}

func blockingSinceLastNight(t *testing.T, rules []string, mustSplit bool, holds func(context.Context, *store.DB) error) {
	dir := t.TempDir()
	cfg := fixtureNight(t, dir, 3_000, 5, 1)
	cfg.Linkage.BlockingRules = rules
	ctx := context.Background()
	m, err := nightly(ctx, cfg, nightlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A split must have had parts to split, or the nights below would not
	// test it.
	if mustSplit && m.Linkage.Blocking[0].SplitBlocks == 0 {
		t.Fatalf("night 1 split no block of %q", m.Linkage.Blocking[0].Rule)
	}
	for night := 2; night <= 3; night++ {
		prev := publish.PreviousState(cfg.Run.StateDir)
		fixtureNight(t, dir, 3_000, 5, night)
		m, err = nightly(ctx, cfg, nightlyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Mode != "incremental" {
			t.Fatalf("night %d: a %s night (%s), want incremental", night, m.Mode, m.ModeReason)
		}
		// The night made its pairs from last night's; a full blocking of
		// its prep, on a copy of its state, is what they must be.
		fullOnCopy(t, ctx, rules, cfg.Linkage.MaxPairsPerRule, publish.PreviousState(cfg.Run.StateDir), night)
		db, err := store.Open(publish.PreviousState(cfg.Run.StateDir), 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := blockSinceOnState(ctx, db, linkage.Options{BlockingRules: rules, MaxPairsPerRule: cfg.Linkage.MaxPairsPerRule}, prev); err != nil {
			db.Close()
			t.Fatalf("night %d: %v", night, err)
		}
		var full, delta, onlyFull, onlyDelta, badRule, topBit int64
		err = db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM pair_rules), (SELECT count(*) FROM pairs_delta),
			(SELECT count(*) FROM (SELECT rid_l, rid_r, rules FROM pair_rules EXCEPT SELECT rid_l, rid_r, rules FROM pairs_delta)),
			(SELECT count(*) FROM (SELECT rid_l, rid_r, rules FROM pairs_delta EXCEPT SELECT rid_l, rid_r, rules FROM pair_rules)),
			(SELECT count(*) FROM pairs_delta WHERE rules & -rules <> 1 << rule),
			(SELECT count(*) FROM pair_rules WHERE rules & (1 << (? - 1)) <> 0)`, cmp.Or(len(rules), len(linkage.DefaultBlockingRules))).Scan(&full, &delta, &onlyFull, &onlyDelta, &badRule, &topBit)
		if err == nil && holds != nil {
			err = holds(ctx, db)
		}
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("night %d: %d pairs by full blocking, %d built from last night's, %d found by the last rule", night, full, delta, topBit)
		if onlyFull != 0 || onlyDelta != 0 || full != delta || full == 0 || badRule != 0 || topBit == 0 {
			t.Errorf("night %d: %d pairs only in the full night's, %d only in the one built from last night's (of %d, %d); %d with a first rule that is not their lowest; %d found by the last rule (want some: its bit kept)",
				night, onlyFull, onlyDelta, full, delta, badRule, topBit)
		}
		cleanAsPrepSays(t, ctx, rules, prev, publish.PreviousState(cfg.Run.StateDir))
		if night == 3 {
			capAtLastNightsMost(t, ctx, rules, prev, publish.PreviousState(cfg.Run.StateDir))
		}
	}
}

// differHolds fails unless the night's first rule, written "| differ
// dob", found no pair of one date of birth while the second rule found
// some: the pair test held through the night's blocking, not only in a
// unit test.
func differHolds(ctx context.Context, db *store.DB) error {
	var first, second int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FILTER (rules & 1 <> 0), count(*) FILTER (rules & 2 <> 0)
		FROM pair_rules p JOIN prep a ON a.rid = p.rid_l JOIN prep b ON b.rid = p.rid_r WHERE a.dob = b.dob`).Scan(&first, &second); err != nil {
		return err
	}
	if first != 0 || second == 0 {
		return fmt.Errorf("pairs of one date of birth: %d found by the rule that must differ on it (want none), %d by the rule of the date (want some)", first, second)
	}
	return nil
}

// numbersApart is a check that fails unless the night's pairs that only
// the rules with a share test made — of rules, whose share test is the
// undisputed NHS number's, as the defaults' for namesakes is
// (linkage.shareNumber) — hold no two different NHS numbers where neither
// is disputed, verified or not, while some of their pairs hold two numbers
// one of which the night's NHS-number stage disputed: the test read the
// flag that stage set, on full and incremental nights alike.
func numbersApart(rules []string) func(context.Context, *store.DB) error {
	return func(ctx context.Context, db *store.DB) error {
		brs, err := linkage.ParseBlockingRules(rules)
		if err != nil {
			return err
		}
		var namesakes int64
		for i, br := range brs {
			if br.Share != nil {
				namesakes |= 1 << i
			}
		}
		var apart, disputed int64
		if err := db.QueryRowContext(ctx, `SELECT
				count(*) FILTER (p.rules & ~$1 = 0 AND NOT a.nhs_disputed AND NOT b.nhs_disputed),
				count(*) FILTER (p.rules & $1 <> 0 AND (a.nhs_disputed OR b.nhs_disputed))
			FROM pair_rules p JOIN prep a ON a.rid = p.rid_l JOIN prep b ON b.rid = p.rid_r
			WHERE a.nhs_number <> b.nhs_number`, namesakes).Scan(&apart, &disputed); err != nil {
			return err
		}
		if apart != 0 || disputed == 0 {
			return fmt.Errorf("pairs of two different NHS numbers by the namesake rules alone: %d of two undisputed (want none), %d with one disputed (want some)", apart, disputed)
		}
		return nil
	}
}

// fullOnCopy blocks a copy of the committed state at path in full
// (linkage.Block) and fails unless its pairs, and each pair's rules, are
// exactly the state's pair_rules.
func fullOnCopy(t *testing.T, ctx context.Context, rules []string, maxPairs int64, path string, night int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "full.duckdb")
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(cp, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := linkage.Block(ctx, db, linkage.Options{BlockingRules: rules, MaxPairsPerRule: maxPairs}); err != nil {
		t.Fatalf("night %d: full blocking: %v", night, err)
	}
	var full, onlyFull, onlyNight int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM pairs),
		(SELECT count(*) FROM (SELECT rid_l, rid_r, rules FROM pairs EXCEPT SELECT rid_l, rid_r, rules FROM pair_rules)),
		(SELECT count(*) FROM (SELECT rid_l, rid_r, rules FROM pair_rules EXCEPT SELECT rid_l, rid_r, rules FROM pairs))`).Scan(&full, &onlyFull, &onlyNight); err != nil {
		t.Fatal(err)
	}
	if full == 0 || onlyFull != 0 || onlyNight != 0 {
		t.Errorf("night %d: %d pairs by full blocking, %d of them not among the night's, %d of the night's not among them", night, full, onlyFull, onlyNight)
	}
}

// blockSinceOnState is linkage.BlockSince on a committed night's state
// database (db), from the state before it (prev): the night's record
// changes, which lived only while it ran, are made again from both
// nights' fingerprints first.
func blockSinceOnState(ctx context.Context, db *store.DB, opt linkage.Options, prev string) error {
	if _, known, err := extract.CompareRecordPrints(ctx, db, prev); err != nil || !known {
		return fmt.Errorf("record changes (known %v): %v", known, err)
	}
	return linkage.BlockSince(ctx, db, opt, prev)
}

// capAtLastNightsMost checks that tonight's pairs are not built from last
// night's (state prev) when a rule might pass the pair cap: with the cap at
// the most pairs a rule made last night, that rule's pairs tonight are at
// most those and its dirty blocks', which may pass it, and a full night's
// blocking must decide whether it is dropped.
func capAtLastNightsMost(t *testing.T, ctx context.Context, rules []string, prev, tonight string) {
	t.Helper()
	pdb, err := store.OpenReadOnly(prev)
	if err != nil {
		t.Fatal(err)
	}
	var most int64
	err = pdb.QueryRowContext(ctx, `SELECT max(pairs_at_most) FROM blocking_rules`).Scan(&most)
	pdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(tonight, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = blockSinceOnState(ctx, db, linkage.Options{BlockingRules: rules, MaxPairsPerRule: most}, prev)
	if !errors.Is(err, linkage.ErrNoDelta) {
		t.Errorf("a rule's pairs capped at last night's most (%d): %v, want %v", most, err, linkage.ErrNoDelta)
	}
}

// cleanAsPrepSays checks the clean records blocking found from the
// records' fingerprints and the flags computed across records (tonight's
// state from prev) against the definition: the records whose every prep
// column but rid, file and line is last night's. Last night's flags are
// flipped on a few records first, as a source's latest update moving on or
// a number's new holder would flip them on records that did not change.
// It fails when prep gains a column made from more than its record's
// fields that linkage's prepFlags does not name, or prepFlags loses one.
func cleanAsPrepSays(t *testing.T, ctx context.Context, rules []string, prev, tonight string) {
	t.Helper()
	data, err := os.ReadFile(prev)
	if err != nil {
		t.Fatal(err)
	}
	prev = filepath.Join(t.TempDir(), "last-night-flags-flipped.duckdb")
	if err := os.WriteFile(prev, data, 0o600); err != nil {
		t.Fatal(err)
	}
	pdb, err := store.Open(prev, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pdb.ExecContext(ctx, `UPDATE prep SET stale = NOT stale WHERE rid % 101 = 1;
		UPDATE prep SET nhs_disputed = NOT nhs_disputed WHERE rid % 101 = 2;
		UPDATE prep SET quarantined = NOT quarantined WHERE rid % 101 = 3;
		UPDATE prep SET withheld = NOT withheld WHERE rid % 101 = 4`)
	if cerr := pdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(tonight, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := blockSinceOnState(ctx, db, linkage.Options{BlockingRules: rules}, prev); err != nil {
		t.Fatal(err)
	}
	var cols string
	if err := db.QueryRowContext(ctx, `SELECT string_agg('"' || column_name || '"', ', ' ORDER BY column_index) FROM duckdb_columns()
		WHERE database_name = current_database() AND table_name = 'prep' AND column_name NOT IN ('rid', 'file', 'line')`).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	detach, err := db.AttachReadOnly(ctx, prev, "lastnight")
	if err != nil {
		t.Fatal(err)
	}
	defer detach()
	var clean, onlyFound, onlyByPrep int64
	err = db.QueryRowContext(ctx, `WITH n AS (SELECT rid, source_id, local_id, hash(`+cols+`) AS h FROM prep),
		p AS (SELECT rid, source_id, local_id, hash(`+cols+`) AS h FROM lastnight.prep),
		byprep AS (SELECT p.rid AS prev_rid, n.rid FROM n JOIN p USING (source_id, local_id) WHERE n.h = p.h)
		SELECT (SELECT count(*) FROM clean_records), (SELECT count(*) FROM (SELECT prev_rid, rid FROM clean_records EXCEPT SELECT * FROM byprep)),
			(SELECT count(*) FROM (SELECT * FROM byprep EXCEPT SELECT prev_rid, rid FROM clean_records))`).Scan(&clean, &onlyFound, &onlyByPrep)
	if err != nil {
		t.Fatal(err)
	}
	if onlyFound != 0 || onlyByPrep != 0 || clean == 0 {
		t.Errorf("of %d clean records found by fingerprints and flags, %d have a prep row unlike last night's; %d more have one like it", clean, onlyFound, onlyByPrep)
	}
}
