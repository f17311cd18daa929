package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/selondon/carematch/fixtures"
)

var updateDigests = flag.Bool("update", false, "rewrite testdata/digests")

// digestPersons is the fixture size of the output digests; the renovation's
// byte-for-byte check ran the same test at 20,000 (CAREMATCH_DIGEST_PERSONS).
const digestPersons = 3_000

// The nightly job's outputs — index, portal, exceptions, review queue and
// model — on fixture seeds 1 and 42 are byte-for-byte what they were when
// testdata/digests was written. A change that means to change them says so
// with -update, and the diff of the digest file shows which files moved.
// The manifest and report.html hold timings, so they are left out.
func TestOutputDigests(t *testing.T) {
	if testing.Short() {
		t.Skip("two fixture runs")
	}
	persons := digestPersons
	if v := os.Getenv("CAREMATCH_DIGEST_PERSONS"); v != "" {
		fmt.Sscan(v, &persons)
	}
	for _, seed := range []uint64{1, 42} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			dir := t.TempDir()
			if _, err := fixtures.Generate(fixtures.Options{Persons: persons, Seed: seed, Out: dir}); err != nil {
				t.Fatal(err)
			}
			cfg := freshConfig(t, dir)
			at := time.Date(2026, 11, 24, 2, 15, 0, 0, time.UTC)
			m, err := nightly(context.Background(), cfg, nightlyOptions{Now: func() time.Time { return at }})
			if err != nil {
				t.Fatal(err)
			}
			got := digests(t, filepath.Join(cfg.Run.PublishDir, m.RunID))
			name := filepath.Join("testdata", "digests", fmt.Sprintf("seed%d-%d.txt", seed, persons))
			if *updateDigests {
				os.MkdirAll(filepath.Dir(name), 0o755)
				if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatalf("%v (write it with go test ./cmd/carematch -run TestOutputDigests -update)", err)
			}
			if got != string(want) {
				t.Errorf("outputs changed (-want +got):\n%s", lineDiff(string(want), got))
			}
		})
	}
}

// digests lists "sha256  path" for every published file but the manifest and
// report.html, sorted by path.
func digests(t *testing.T, run string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(run, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(run, p)
		if rel == "manifest.json" || rel == "report.html" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		lines = append(lines, hex.EncodeToString(sum[:])+"  "+rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	return strings.Join(lines, "\n") + "\n"
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	in := func(xs []string, x string) bool {
		for _, y := range xs {
			if y == x {
				return true
			}
		}
		return false
	}
	var b strings.Builder
	for _, l := range w {
		if !in(g, l) {
			b.WriteString("-" + l + "\n")
		}
	}
	for _, l := range g {
		if !in(w, l) {
			b.WriteString("+" + l + "\n")
		}
	}
	return b.String()
}
