package main

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/store"
)

// fixtureRun runs the nightly job once on the 20,000-person fixtures and
// shares the result between the tests that look at it.
var fixtureRun struct {
	once sync.Once
	dir  string
	cfg  *config.Config
	m    *reports.Manifest
	err  error
}

func runFixtures20k(t *testing.T) (string, *config.Config, *reports.Manifest) {
	t.Helper()
	if testing.Short() {
		t.Skip("20,000 persons")
	}
	fixtureRun.once.Do(func() {
		fixtureRun.dir = fixtureDir(t, 20_000)
		cfg, err := config.Load(filepath.Join(fixtureRun.dir, "carematch.toml"))
		if err != nil {
			fixtureRun.err = err
			return
		}
		work, _ := os.MkdirTemp("", "carematch-run-")
		cfg.Run.StateDir, cfg.Run.PublishDir = filepath.Join(work, "state"), filepath.Join(work, "publish")
		fixtureRun.cfg = cfg
		// Blocks kept for reuse as a regional night keeps them, so that the
		// tests sharing this run see the outputs do not change with them.
		fixtureRun.m, fixtureRun.err = nightly(context.Background(), cfg, nightlyOptions{keepBlocksFrom: 1})
	})
	if fixtureRun.err != nil {
		t.Fatal(fixtureRun.err)
	}
	return fixtureRun.dir, fixtureRun.cfg, fixtureRun.m
}

// Accuracy on the fixtures (20,000 persons, ten sources, default config),
// pinned just under what the engine reaches (docs/BENCHMARKS.md): precision
// ≥ 0.9999, recall ≥ 0.9965 and under 0.4% of records in the review queue, as
// issue 13 asks. Seed 42 reaches 0.99676 (0.99712 before the fixtures keyed
// a digit of the day or the month wrong: most such pairs with another fault
// go to the review band).
// Twins, parent/child namesakes and same-name strangers are never merged.
func TestLinkageAccuracyOnFixtures(t *testing.T) {
	dir, cfg, m := runFixtures20k(t)
	ev, err := evaluate(context.Background(), filepath.Join(cfg.Run.PublishDir, "current"), filepath.Join(dir, "truth.csv"), "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	ev.Print(&b)
	t.Logf("\n%s", b.String())
	if ev.Precision < 0.9999 {
		t.Errorf("precision %.5f, floor 0.9999", ev.Precision)
	}
	if ev.Recall < 0.9965 {
		t.Errorf("recall %.5f, floor 0.9965", ev.Recall)
	}
	if ev.ByMethod["nhs_number"] == nil || ev.ByMethod["nhs_number"].Precision < 0.99995 {
		t.Errorf("NHS-number links: %+v", ev.ByMethod["nhs_number"])
	}
	if share := float64(m.Counts["review_pairs"]) / float64(m.Counts["indexed_records"]); share >= 0.004 {
		t.Errorf("%d review items for %d records: %.2f%%, want under 0.4%%", m.Counts["review_pairs"], m.Counts["indexed_records"], 100*share)
	}
	for _, kind := range []string{"twins", "parent_child_same_name", "same_name_same_dob"} {
		v := ev.HardNegatives[kind]
		if v[0] < 10 {
			t.Errorf("only %d %s pairs to look at", v[0], kind)
		}
		// Twins and namesakes in one household are held back by the household
		// guards, strangers with the same names and date of birth elsewhere
		// by the namesake guard.
		if v[1] > 0 {
			t.Errorf("%d of %d %s pairs merged", v[1], v[0], kind)
		}
	}
	if unscored, below := incoherentPairs(t, cfg.Run.StateDir, m.Linkage.ReviewThreshold); unscored != 0 || below != 0 {
		t.Errorf("%d pairs in one person unscored, %d below the review band", unscored, below)
	}
	if !m.Linkage.EMConverged {
		t.Error("EM did not converge")
	}
	// The prior comes from the verified numbers and counts about as many
	// matches among all pairs as the truth holds (0.95-0.97 of them on six
	// seeds, where EM's count is 1.07 of them here and 3.4 at ten million
	// records: linkage/prior.go).
	model, err := linkage.LoadModel(filepath.Join(cfg.Run.PublishDir, "current", "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := float64(m.Linkage.Records)
	matches := model.Training.MatchRateAllPairs * n * (n - 1) / 2
	if ratio := matches / float64(ev.TruthPairs); m.Linkage.PriorFrom != linkage.PriorFromNumbers || ratio < 0.9 || ratio > 1.05 || m.Linkage.Prior != model.Prior() {
		t.Errorf("the prior from %q (%.2f bits) counts %.0f matches among all pairs, %.2f of the %d true pairs", m.Linkage.PriorFrom, m.Linkage.Prior, matches, ratio, ev.TruthPairs)
	}
	if l := m.Linkage; l.LinkThreshold != linkage.NumbersLinkThreshold || l.ReviewThreshold != linkage.NumbersReviewThreshold {
		t.Errorf("thresholds %v and %v, want the defaults for the numbers' prior", l.LinkThreshold, l.ReviewThreshold)
	}
	// Blocking stays selective: under one candidate pair a record here, 3.0
	// at two million records (docs/LINKAGE.md); the manifest says so.
	if l := m.Linkage; l.PairsPerRecord <= 0 || l.PairsPerRecord > 6 || l.PairsPerRecord != perRecord(l.CandidatePairs, l.Records) {
		t.Errorf("%.2f candidate pairs a record (%d pairs, %d records)", l.PairsPerRecord, l.CandidatePairs, l.Records)
	}
	// A rule whose blocks grow splits them, and the manifest counts the
	// blocks split: the pseudo-postcode of no fixed abode puts more than six
	// records of one initial together.
	var split int64
	for _, r := range m.Linkage.Blocking {
		if strings.HasPrefix(r.Rule, "postcode, given_initial | split") {
			split = r.SplitBlocks
		}
	}
	if split == 0 {
		t.Errorf("no block of the postcode rule split: %+v", m.Linkage.Blocking)
	}
	// No memory_limit configured: once the records were counted the night
	// gave DuckDB what they need (here the floor of 1 GiB), and the manifest
	// says which.
	if want := store.MemoryLimitFor(m.Counts["records"]); cfg.Run.MemoryLimit != "" || m.Resources.MemoryLimit != want {
		t.Errorf("memory limit %q in the manifest, want the default %q (configured %q)", m.Resources.MemoryLimit, want, cfg.Run.MemoryLimit)
	}
	// DuckDB kept freed blocks for reuse up to that limit (at most a tenth
	// of the machine), set once it was known — for this night, though it
	// is smaller than store.KeepBlocksFrom; the manifest says it as DuckDB
	// does ("1.0 GiB").
	if b := m.Resources.BlockMemory; b == "" || b == "0 bytes" || !strings.HasSuffix(b, "iB") {
		t.Errorf("block memory %q in the manifest, want the limit %s", b, m.Resources.MemoryLimit)
	}
	// The fixtures plant strangers with the same name and date of birth: the
	// verified numbers show it, so the namesake guard holds (and is lifted
	// for movers), and twin guards are lifted for misspelt names.
	if l := m.Linkage; l.NamesakeChecked < 20 || float64(l.Namesakes) < 0.01*float64(l.NamesakeChecked) || l.GuardsLifted <= l.TyposLifted || l.TyposLifted == 0 {
		t.Errorf("namesakes %d of %d checked; guards lifted %d, for typos %d", l.Namesakes, l.NamesakeChecked, l.GuardsLifted, l.TyposLifted)
	}
	for _, f := range []string{"model.json", "index/xref.parquet", "index/xref.csv", "index/master_index.parquet", "exceptions/review_queue.csv"} {
		if _, err := os.Stat(filepath.Join(cfg.Run.PublishDir, "current", f)); err != nil {
			t.Error(err)
		}
	}
}

// The probabilistic engine alone, on the public data sets (no NHS numbers),
// with the configurations committed under examples/. Floors just under the
// figures in docs/BENCHMARKS.md.
func TestLinkageAccuracyOnPublicData(t *testing.T) {
	if testing.Short() {
		t.Skip("public data sets")
	}
	// Since persons must hang together (no two records below the review
	// band), FEBRL 2 and 3 and fake_1000 give up recall for it: their
	// duplicates are corrupted apart from each other (docs/LINKAGE.md).
	floors := map[string]float64{"febrl1": 0.995, "febrl2": 0.995, "febrl3": 0.993, "fake_1000": 0.87}
	names := make([]string, 0, len(floors))
	for n := range floors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cfgPath := filepath.Join("..", "..", "examples", name, "carematch.toml")
			cfg, err := config.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(cfg.Sources[0].Path); err != nil {
				t.Skipf("public data not beside the repository: %v", err)
			}
			work := t.TempDir()
			cfg.Run.StateDir, cfg.Run.PublishDir = filepath.Join(work, "state"), filepath.Join(work, "publish")
			m, err := nightly(context.Background(), cfg, nightlyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// No NHS numbers: the prior is EM's, and so are the thresholds.
			if l := m.Linkage; l.PriorFrom != linkage.PriorFromEM || l.LinkThreshold != linkage.DefaultLinkThreshold || l.ReviewThreshold != linkage.DefaultReviewThreshold {
				t.Errorf("prior from %q, thresholds %v and %v", l.PriorFrom, l.LinkThreshold, l.ReviewThreshold)
			}
			ev, err := evaluate(context.Background(), filepath.Join(cfg.Run.PublishDir, "current"), filepath.Join(filepath.Dir(cfgPath), "truth.csv"), "")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: precision %.4f recall %.4f F1 %.4f", name, ev.Precision, ev.Recall, ev.F1)
			if ev.F1 < floors[name] {
				t.Errorf("F1 %.4f, floor %.3f", ev.F1, floors[name])
			}
			// No published person holds two records that score below the
			// review band, or two never scored.
			if unscored, below := incoherentPairs(t, cfg.Run.StateDir, linkage.DefaultReviewThreshold); unscored != 0 || below != 0 {
				t.Errorf("%d pairs in one person unscored, %d below the review band", unscored, below)
			}
		})
	}
}

// The same input in another row order, with another thread count, gives
// the same index, byte for byte.
func TestDeterministicIndex(t *testing.T) {
	src := fixtureDir(t, 2_000)
	shuffled := t.TempDir()
	entries, _ := os.ReadDir(src)
	r := rand.New(rand.NewPCG(7, 7))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		ext := filepath.Ext(e.Name())
		if e.Name() != "carematch.toml" && e.Name() != "truth.csv" && e.Name() != "faults.csv" && (ext == ".csv" || ext == ".txt" || ext == ".jsonl") {
			data = shuffleRows(data, ext != ".jsonl", r)
		}
		if err := os.WriteFile(filepath.Join(shuffled, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	index := func(dir string, threads int) string {
		cfg := freshConfig(t, dir)
		cfg.Linkage.Threads = threads
		if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, f := range []string{"xref.csv", "master_index.csv"} {
			data, err := os.ReadFile(filepath.Join(cfg.Run.PublishDir, "current", "index", f))
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
		return b.String()
	}
	a := index(src, 2)
	b := index(shuffled, 1)
	if a != b {
		la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
		for i := range la {
			if i >= len(lb) || la[i] != lb[i] {
				t.Fatalf("index differs at line %d:\n%s\n%s", i+1, la[i], lb[min(i, len(lb)-1)])
			}
		}
		t.Fatal("index differs")
	}
}

// shuffleRows shuffles the data rows of a file, keeping a header line (and a
// BOM) in place. Line endings are kept with their lines.
func shuffleRows(data []byte, header bool, r *rand.Rand) []byte {
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Split(func(d []byte, atEOF bool) (int, []byte, error) {
		if i := strings.IndexByte(string(d), '\n'); i >= 0 {
			return i + 1, d[:i+1], nil
		}
		if atEOF && len(d) > 0 {
			return len(d), d, nil
		}
		return 0, nil, nil
	})
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	start := 0
	if header {
		start = 1
	}
	body := lines[start:]
	r.Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
	return []byte(strings.Join(lines, ""))
}
