package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/publish"
	"github.com/selondon/carematch/store"
)

// Tonight's candidate pairs built from last night's — blocking only where
// records changed, carrying the pairs of clean blocks — are exactly the
// pairs a full night's blocking made, with the same rules, on fixture
// nights 2 and 3 (records gone, corrected, moved and new).
func TestBlockingSinceLastNight(t *testing.T) {
	dir := t.TempDir()
	cfg := fixtureNight(t, dir, 3_000, 5, 1)
	ctx := context.Background()
	if _, err := nightly(ctx, cfg, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	for night := 2; night <= 3; night++ {
		prev := publish.PreviousState(cfg.Run.StateDir)
		fixtureNight(t, dir, 3_000, 5, night)
		if _, err := nightly(ctx, cfg, nightlyOptions{}); err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(publish.PreviousState(cfg.Run.StateDir), 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := linkage.BlockSince(ctx, db, linkage.Options{BlockingRules: cfg.Linkage.BlockingRules, MaxPairsPerRule: cfg.Linkage.MaxPairsPerRule}, prev); err != nil {
			db.Close()
			t.Fatalf("night %d: %v", night, err)
		}
		var full, delta, onlyFull, onlyDelta, badRule int64
		err = db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM pair_rules), (SELECT count(*) FROM pairs_delta),
			(SELECT count(*) FROM (SELECT rid_l, rid_r, rules FROM pair_rules EXCEPT SELECT rid_l, rid_r, rules FROM pairs_delta)),
			(SELECT count(*) FROM (SELECT rid_l, rid_r, rules FROM pairs_delta EXCEPT SELECT rid_l, rid_r, rules FROM pair_rules)),
			(SELECT count(*) FROM pairs_delta WHERE rules & -rules <> 1 << rule)`).Scan(&full, &delta, &onlyFull, &onlyDelta, &badRule)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("night %d: %d pairs by full blocking, %d built from last night's", night, full, delta)
		if onlyFull != 0 || onlyDelta != 0 || full != delta || full == 0 || badRule != 0 {
			t.Errorf("night %d: %d pairs only in the full night's, %d only in the one built from last night's (of %d, %d); %d with a first rule that is not their lowest",
				night, onlyFull, onlyDelta, full, delta, badRule)
		}
		if night == 3 {
			capAtLastNightsMost(t, ctx, cfg.Linkage.BlockingRules, prev, publish.PreviousState(cfg.Run.StateDir))
			sameWithoutKeptPrints(t, ctx, cfg.Linkage.BlockingRules, prev, publish.PreviousState(cfg.Run.StateDir))
		}
	}
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
	err = linkage.BlockSince(ctx, db, linkage.Options{BlockingRules: rules, MaxPairsPerRule: most}, prev)
	if !errors.Is(err, linkage.ErrNoDelta) {
		t.Errorf("a rule's pairs capped at last night's most (%d): %v, want %v", most, err, linkage.ErrNoDelta)
	}
}

// sameWithoutKeptPrints checks the prints an incremental night keeps for
// the next (prep_prints): built from night 2's kept prints, night 3's clean
// records and pairs are those built by hashing night 2's prep again.
func sameWithoutKeptPrints(t *testing.T, ctx context.Context, rules []string, prev, tonight string) {
	t.Helper()
	data, err := os.ReadFile(prev)
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "prev-without-prints.duckdb")
	if err := os.WriteFile(bare, data, 0o600); err != nil {
		t.Fatal(err)
	}
	bdb, err := store.Open(bare, 1)
	if err != nil {
		t.Fatal(err)
	}
	var kept int64
	if err := bdb.QueryRowContext(ctx, `SELECT count(*) FROM prep_prints`).Scan(&kept); err != nil {
		t.Fatalf("night 2 was incremental and kept no prints: %v", err)
	}
	_, err = bdb.ExecContext(ctx, `DROP TABLE prep_prints`)
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	built := func(from string) (clean, pairs int64) {
		db, err := store.Open(tonight, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := linkage.BlockSince(ctx, db, linkage.Options{BlockingRules: rules}, from); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM clean), (SELECT count(*) FROM pairs_delta)`).Scan(&clean, &pairs); err != nil {
			t.Fatal(err)
		}
		return clean, pairs
	}
	c1, p1 := built(prev)
	c2, p2 := built(bare)
	if c1 != c2 || p1 != p2 || c1 == 0 {
		t.Errorf("from night 2's %d kept prints: %d clean records, %d pairs; hashing its prep again: %d, %d", kept, c1, p1, c2, p2)
	}
}
