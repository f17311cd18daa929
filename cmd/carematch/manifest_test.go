package main

import (
	"context"
	"testing"
	"time"

	"github.com/selondon/carematch/fixtures"
)

// Step names become the manifest's timing keys: lower case, words joined
// by one underscore.
func TestStepKey(t *testing.T) {
	for in, want := range map[string]string{
		"golden record":            "golden_record",
		"analysts' decisions":      "analysts_decisions",
		"within-source duplicates": "within_source_duplicates",
		"NHS-number conflicts":     "nhs_number_conflicts",
		"persons' numbers":         "persons_numbers",
		"xref files":               "xref_files",
	} {
		if got := stepKey(in); got != want {
			t.Errorf("stepKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// The manifest's wall time is the run's own, by the monotonic clock: not
// counted from started, which is whole seconds (and, here, a fixed date).
func TestManifestWallTime(t *testing.T) {
	dir := t.TempDir()
	if _, err := fixtures.Generate(fixtures.Options{Persons: 200, Seed: 3, Out: dir}); err != nil {
		t.Fatal(err)
	}
	cfg := freshConfig(t, dir)
	at := time.Date(2026, 11, 24, 2, 15, 0, 0, time.UTC)
	t0 := time.Now()
	m, err := nightly(context.Background(), cfg, nightlyOptions{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0).Seconds(); m.Resources.WallSeconds <= 0 || m.Resources.WallSeconds > took {
		t.Errorf("wall_seconds %.3f, but the run took %.3f s", m.Resources.WallSeconds, took)
	}
}
