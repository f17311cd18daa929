package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	// The last case stages the records in a file of their own, as a night
	// too big for memory does (stageRecords): the outputs are the same.
	for _, c := range []struct {
		seed   uint64
		inFile bool
	}{{1, false}, {42, false}, {42, true}} {
		name := fmt.Sprint("seed ", c.seed)
		if c.inFile {
			name += ", records staged in a file"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := fixtures.Generate(fixtures.Options{Persons: persons, Seed: c.seed, Out: dir}); err != nil {
				t.Fatal(err)
			}
			cfg := freshConfig(t, dir)
			// A staging file a killed night left behind goes, whichever
			// way this night stages its records.
			if err := os.MkdirAll(filepath.Dir(recordsFile(cfg)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(recordsFile(cfg), []byte("left by a night that was killed"), 0o644); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 11, 24, 2, 15, 0, 0, time.UTC)
			var log strings.Builder
			m, err := nightly(context.Background(), cfg, nightlyOptions{Now: func() time.Time { return at }, recordsInFile: c.inFile,
				Progress: newProgress(&log, false)})
			if err != nil {
				t.Fatal(err)
			}
			if staged := strings.Contains(log.String(), "records are staged in a file"); staged != c.inFile {
				t.Errorf("records staged in a file: %v, want %v", staged, c.inFile)
			}
			if _, err := os.Stat(recordsFile(cfg)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the records' staging file is still there after the night (%v)", err)
			}
			got := digests(t, filepath.Join(cfg.Run.PublishDir, m.RunID))
			name := filepath.Join("testdata", "digests", fmt.Sprintf("seed%d-%d.txt", c.seed, persons))
			if *updateDigests && !c.inFile {
				os.MkdirAll(filepath.Dir(name), 0o755)
				if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if *updateDigests {
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
