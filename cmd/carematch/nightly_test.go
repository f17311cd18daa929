package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/fixtures"
	"github.com/selondon/carematch/publish"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/store"
)

// fixtureDir generates a fixture population once per test binary and size.
var fixtureCache sync.Map

func fixtureDir(t *testing.T, persons int) string {
	t.Helper()
	key := fmt.Sprint(persons)
	if d, ok := fixtureCache.Load(key); ok {
		return d.(string)
	}
	dir, err := os.MkdirTemp("", "carematch-fixtures-")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fixtures.Generate(fixtures.Options{Persons: persons, Seed: 42, Out: dir}); err != nil {
		t.Fatal(err)
	}
	fixtureCache.Store(key, dir)
	return dir
}

// freshConfig loads the fixture config with its state and publication in a
// folder of the test's own.
func freshConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(dir, "carematch.toml"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	cfg.Run.StateDir = filepath.Join(work, "state")
	cfg.Run.PublishDir = filepath.Join(work, "publish")
	cfg.Run.TempDir = filepath.Join(work, "state", "tmp")
	return cfg
}

// gpColumns names each field's column in the small hand-made GP extracts
// (gp.csv) of the end-to-end tests.
var gpColumns = map[string]string{"local_id": "id", "nhs_number": "nhs", "nhs_number_status": "status",
	"given_name": "given", "family_name": "family", "date_of_birth": "dob", "sex": "sex", "address": "address", "postcode": "postcode",
	"sensitive": "sensitive", "consent": "consent", "updated": "updated"}

// sourceTOML is a [[source]] table for a hand-made extract whose columns
// are named as in gpColumns.
func sourceTOML(id, kind, path string, fields ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n[[source]]\nid = %q\nkind = %q\npath = %q\n  [source.columns]\n", id, kind, path)
	for _, f := range fields {
		fmt.Fprintf(&b, "  %s = %q\n", f, gpColumns[f])
	}
	return b.String()
}

// gpConfig writes dir/carematch.toml for one GP extract, dir/gp.csv, with
// the fields given (their columns named as in gpColumns), and loads it.
func gpConfig(t *testing.T, dir string, fields ...string) (*config.Config, string) {
	t.Helper()
	path := filepath.Join(dir, "carematch.toml")
	if err := os.WriteFile(path, []byte(sourceTOML("gp", "gp", "gp.csv", fields...)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

// gpExtract writes a GP extract (gp.csv, its header naming the columns as in
// gpColumns) and its configuration in a folder of the test's own.
func gpExtract(t *testing.T, csv string, fields ...string) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gp.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	return gpConfig(t, dir, fields...)
}

// runCLI runs the real command line and returns its standard output; a
// non-zero exit fails the test.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := mainCode(append([]string{"carematch"}, args...), &out, &errb); code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// The generator keeps its own record of every fault it injected; a run over
// its extracts must report exactly the exceptions those faults call for, at
// the lines where they were injected, and load every other row.
func TestFixtureRunMatchesInjectedFaults(t *testing.T) {
	dir, cfg, m := runFixtures20k(t)
	exc := filepath.Join(cfg.Run.PublishDir, "current", "exceptions")

	type key struct{ kind, source string }
	want := map[key]int{}
	wantLines := map[string]bool{} // kind/source/line
	rejectedLines := map[string]bool{}
	for _, f := range readCSV(t, filepath.Join(dir, "faults.csv")) {
		kind := fixtures.ExpectedException(f["fault"])
		if kind == "" {
			continue
		}
		want[key{kind, f["source_id"]}]++
		wantLines[kind+"/"+f["source_id"]+"/"+f["line"]] = true
		if fixtures.RejectsRow(f["fault"]) {
			rejectedLines[f["source_id"]+"/"+f["line"]] = true
		}
	}
	// Value faults on a rejected row are not reported: the row never loads.
	for k := range want {
		if k.kind == "rejected_rows" {
			continue
		}
		n := 0
		for l := range wantLines {
			parts := strings.SplitN(l, "/", 3)
			if parts[0] == k.kind && parts[1] == k.source && rejectedLines[parts[1]+"/"+parts[2]] {
				n++
			}
		}
		want[k] -= n
	}
	got := map[key]int{}
	loadKinds := map[string]bool{"rejected_rows": true, "invalid_nhs_number": true, "invalid_date_of_birth": true, "invalid_postcode": true, "invalid_value": true}
	for _, r := range readCSV(t, filepath.Join(exc, "summary.csv")) {
		if !loadKinds[r["kind"]] {
			continue // linkage's exceptions are tested with linkage
		}
		var n int
		fmt.Sscan(r["count"], &n)
		got[key{r["kind"], r["source_id"]}] = n
	}
	for k := range want {
		if want[k] == 0 {
			delete(want, k)
		}
	}
	if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(sortedKeys(want)) {
		t.Errorf("exception kinds by source:\n got %v\nwant %v", sortedKeys(got), sortedKeys(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s in %s: %d reported, %d injected", k.kind, k.source, got[k], n)
		}
	}
	// Each reported exception is at a line where a fault was injected.
	for _, kind := range []string{"rejected_rows", "invalid_nhs_number", "invalid_date_of_birth", "invalid_postcode"} {
		for _, r := range readCSV(t, filepath.Join(exc, kind+".csv")) {
			if !wantLines[kind+"/"+r["source_id"]+"/"+r["line"]] {
				t.Errorf("%s %s line %s: reported but not injected", kind, r["source_id"], r["line"])
			}
		}
	}
	if n := len(readCSV(t, filepath.Join(exc, "invalid_value.csv"))); n != 0 {
		t.Errorf("%d invalid_value exceptions; the generator injects none", n)
	}

	// Every row read is loaded or rejected, and the truth accounts for all.
	truth := readCSV(t, filepath.Join(dir, "truth.csv"))
	rejected := int64(len(rejectedLines))
	if m.Counts["rows_read"] != m.Counts["rows_loaded"]+m.Counts["rows_rejected"] {
		t.Errorf("read %d != loaded %d + rejected %d", m.Counts["rows_read"], m.Counts["rows_loaded"], m.Counts["rows_rejected"])
	}
	if m.Counts["rows_rejected"] != rejected {
		t.Errorf("rejected %d rows, %d faults reject a row", m.Counts["rows_rejected"], rejected)
	}
	if got := m.Counts["rows_loaded"]; got != m.Counts["records"] {
		t.Errorf("rows_loaded %d but %d records", got, m.Counts["records"])
	}
	for _, s := range m.Sources {
		if len(s.Files) != 1 || len(s.Files[0].SHA256) != 64 || s.Files[0].Bytes == 0 {
			t.Errorf("%s: manifest files %+v", s.ID, s.Files)
		}
	}
	if len(m.Sources) != 10 {
		t.Errorf("%d sources in the manifest", len(m.Sources))
	}
	// Rows read = truth rows + rows the export wrote twice (same local_id).
	var twice int64
	for _, f := range readCSV(t, filepath.Join(dir, "faults.csv")) {
		if f["fault"] == fixtures.FaultDuplicateRow {
			twice++
		}
	}
	if m.Counts["rows_read"] != int64(len(truth))+twice {
		t.Errorf("rows read %d, truth has %d rows and %d rows were written twice", m.Counts["rows_read"], len(truth), twice)
	}
}

func sortedKeys[K comparable, V any](m map[K]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, fmt.Sprint(k))
	}
	sort.Strings(ks)
	return ks
}

// A run stopped at any stage — as a kill would — leaves the previous
// publication, `current` and the committed state as they were, and the next
// run succeeds.
func TestStoppedRunLeavesPreviousIntact(t *testing.T) {
	dir := fixtureDir(t, 2_000)
	cfg := freshConfig(t, dir)
	ctx := context.Background()
	first, err := nightly(ctx, cfg, nightlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		var b strings.Builder
		filepath.Walk(filepath.Dir(cfg.Run.PublishDir), func(p string, info os.FileInfo, err error) error {
			// failed/ keeps the stopped night's manifest, and carematch.prom
			// its metrics: neither is the publication.
			if err != nil || strings.Contains(p, string(filepath.Separator)+"failed") || filepath.Base(p) == reports.MetricsFile {
				return err
			}
			if info.Mode()&os.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				fmt.Fprintf(&b, "%s -> %s\n", p, target)
			} else if !info.IsDir() {
				fmt.Fprintf(&b, "%s %d\n", p, info.Size())
			}
			return nil
		})
		return b.String()
	}
	before := snapshot()
	// Each of these nights is incremental (the same extracts and
	// configuration as the night before): a stop in any of its stages.
	for _, stage := range []string{"load", "link", "index", "portal", "report", "manifest"} {
		_, err := nightly(ctx, cfg, nightlyOptions{stopAfter: stage})
		if !errors.Is(err, errStopped) {
			t.Fatalf("stop after %s: %v", stage, err)
		}
		if after := snapshot(); after != before {
			t.Fatalf("stop after %s changed the published state:\nbefore\n%s\nafter\n%s", stage, before, after)
		}
		if publish.Current(cfg.Run.PublishDir) != filepath.Join(cfg.Run.PublishDir, first.RunID) {
			t.Fatalf("current moved")
		}
	}
	second, err := nightly(ctx, cfg, nightlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if publish.Current(cfg.Run.PublishDir) != filepath.Join(cfg.Run.PublishDir, second.RunID) {
		t.Fatalf("current does not point at the new run")
	}
	if second.Mode != modeIncremental {
		t.Errorf("the night after the stopped ones is %s (%s), want incremental from the committed state", second.Mode, second.ModeReason)
	}
}

// Two runs at once: the second refuses with a clear message.
func TestSecondRunRefused(t *testing.T) {
	dir := fixtureDir(t, 2_000)
	cfg := freshConfig(t, dir)
	held, err := publish.Begin(cfg.Run.PublishDir, cfg.Run.StateDir, nowFunc())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Abort(nil)
	_, err = nightly(context.Background(), cfg, nightlyOptions{})
	if !errors.Is(err, publish.ErrLocked) {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(err.Error(), "another carematch run is using this state directory") || !strings.Contains(err.Error(), "held by pid") {
		t.Errorf("message %q", err)
	}
}

// Nothing a run prints — progress, summary or error — holds a patient's
// value: no NHS number, name or date of birth from the extracts.
func TestNoPatientValuesOnConsole(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := mainCode([]string{"carematch", "demo", "--persons", "2000", "--dir", dir}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, stderr.String())
	}
	console := stdout.String() + stderr.String()
	if regexp.MustCompile(`\b\d{10}\b`).MatchString(console) {
		t.Errorf("a ten-digit number on the console:\n%s", console)
	}
	exc := filepath.Join(dir, "var", "publish", "current", "exceptions")
	for _, kind := range []string{"invalid_nhs_number", "invalid_date_of_birth", "invalid_postcode", "rejected_rows"} {
		for _, r := range readCSV(t, filepath.Join(exc, kind+".csv")) {
			if v := r["value"]; len(v) >= 5 && strings.Contains(console, v) {
				t.Errorf("%s value of %s line %s is on the console", kind, r["source_id"], r["line"])
			}
		}
	}
	for _, name := range []string{"SMITH", "Smith", "PATEL", "Patel"} {
		if strings.Contains(console, name) {
			t.Errorf("name %s on the console", name)
		}
	}
	// The demo's closing lines: the report and the review page, and a
	// command that works as printed.
	out := stdout.String()
	report := regexp.MustCompile(`the analysts' report: +(\S+)`).FindStringSubmatch(out)
	next := regexp.MustCompile(`run the next night: +carematch (run --config \S+)`).FindStringSubmatch(out)
	if report == nil || next == nil || !strings.Contains(out, "review serve --config") {
		t.Fatalf("the demo's closing lines:\n%s", out)
	}
	if _, err := os.Stat(report[1]); err != nil {
		t.Errorf("report: %v", err)
	}
	if code := mainCode(append([]string{"carematch", "--quiet"}, strings.Fields(next[1])...), &stdout, &stderr); code != 0 {
		t.Errorf("%s as printed: exit %d: %s", next[1], code, stderr.String())
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.toml"), []byte("[run\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "nofile.toml"), []byte("[[source]]\nid=\"a\"\nkind=\"gp\"\npath=\"none.csv\"\n[source.columns]\nlocal_id=\"x\"\n"), 0o644)
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"carematch", "nhs-number", "4010232137"}, 0},
		{[]string{"carematch", "nhs-number", "4010232138"}, 1},
		{[]string{"carematch", "run"}, 2},
		{[]string{"carematch", "run", "--config", filepath.Join(dir, "bad.toml")}, 2},
		{[]string{"carematch", "run", "--no-such-flag"}, 2},
		{[]string{"carematch", "nope"}, 2},
		{[]string{"carematch", "run", "--quiet", "--config", filepath.Join(dir, "nofile.toml")}, 1},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if got := mainCode(tt.args, &out, &errb); got != tt.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tt.args[1:], got, tt.code, errb.String())
		}
	}
}

func nowFunc() func() time.Time { return time.Now }

// Retention: after a successful run only the newest keep_runs publications
// (and their databases) remain; current points at the newest; history keeps
// every night.
func TestRetention(t *testing.T) {
	dir := fixtureDir(t, 2_000)
	cfg := freshConfig(t, dir)
	cfg.Run.KeepRuns = 2
	var ids []string
	for i := 0; i < 3; i++ {
		m, err := nightly(context.Background(), cfg, nightlyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.RunID)
	}
	entries, _ := os.ReadDir(cfg.Run.PublishDir)
	var runs []string
	for _, e := range entries {
		if e.Name() != "current" && e.Name() != ".carematch-state" && e.Name() != reports.MetricsFile {
			runs = append(runs, e.Name())
		}
	}
	if strings.Join(runs, ",") != strings.Join(ids[1:], ",") {
		t.Errorf("publications %v, want the newest two of %v", runs, ids)
	}
	if publish.Current(cfg.Run.PublishDir) != filepath.Join(cfg.Run.PublishDir, ids[2]) {
		t.Error("current is not the newest run")
	}
	if _, err := os.Stat(filepath.Join(cfg.Run.StateDir, "runs", ids[0]+".duckdb")); !os.IsNotExist(err) {
		t.Errorf("the oldest night's database is still there (%v)", err)
	}
	nights := map[string]bool{}
	for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "index", "history.csv")) {
		nights[r["run_id"]] = true
	}
	if !nights[ids[0]] {
		t.Error("history lost the first night")
	}
}

// Within-source duplicates the generator made (a second record of a person
// in the same extract) are reported, and what is reported is real.
func TestWithinSourceDuplicates(t *testing.T) {
	dir, cfg, _ := runFixtures20k(t)
	truth := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(dir, "truth.csv")) {
		truth[r["source_id"]+"/"+r["local_id"]] = r["person_id"]
	}
	reported := map[string]bool{}
	real := 0
	rows := readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "exceptions", "within_source_duplicate.csv"))
	for _, r := range rows {
		reported[r["source_id"]+"/"+r["local_id"]] = true
	}
	for _, r := range rows {
		// Real if another record of the same person is in the same source.
		for k := range reported {
			if k != r["source_id"]+"/"+r["local_id"] && strings.HasPrefix(k, r["source_id"]+"/") && truth[k] == truth[r["source_id"]+"/"+r["local_id"]] {
				real++
				break
			}
		}
	}
	injected, found := 0, 0
	for _, f := range readCSV(t, filepath.Join(dir, "faults.csv")) {
		if f["fault"] == fixtures.FaultDuplicate {
			injected++
			if reported[f["source_id"]+"/"+f["local_id"]] {
				found++
			}
		}
	}
	t.Logf("%d reported, %d real; %d of %d injected duplicates found", len(rows), real, found, injected)
	if injected < 100 || float64(found) < 0.95*float64(injected) {
		t.Errorf("found %d of %d injected within-source duplicates", found, injected)
	}
	if float64(real) < 0.99*float64(len(rows)) {
		t.Errorf("%d of %d reported duplicates are real", real, len(rows))
	}
}

// A source that reads far fewer rows than last night is reported.
func TestSourceRowDrop(t *testing.T) {
	src := fixtureDir(t, 2_000)
	dir := t.TempDir()
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(src, e.Name()))
		os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644)
	}
	cfg := freshConfig(t, dir)
	if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "lgt_person.txt"))
	lines := strings.SplitAfter(string(data), "\n")
	os.WriteFile(filepath.Join(dir, "lgt_person.txt"), []byte(strings.Join(lines[:len(lines)/3], "")), 0o644)
	m, err := nightly(context.Background(), cfg, nightlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "exceptions", "source_row_drop.csv"))
	if len(rows) != 1 || rows[0]["source_id"] != "lgt" || !strings.Contains(rows[0]["reason"], "fell from") || m.Exceptions["source_row_drop"] != 1 {
		t.Errorf("drops: %v (manifest %d)", rows, m.Exceptions["source_row_drop"])
	}
}

// configCopy writes a copy of the fixtures' config whose state and
// publication are the test's own (cfg's) and whose extract paths point back
// at the fixtures, for tests that run the command line on a config file.
func configCopy(t *testing.T, dir string, cfg *config.Config) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "carematch.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), `state_dir   = "var/state"`, `state_dir   = "`+cfg.Run.StateDir+`"`, 1)
	text = strings.Replace(text, `publish_dir = "var/publish"`, `publish_dir = "`+cfg.Run.PublishDir+`"`, 1)
	text = strings.ReplaceAll(text, `path         = "`, `path         = "`+dir+`/`)
	text = strings.Replace(text, `path        = "optouts.csv"`, `path        = "`+dir+`/optouts.csv"`, 1)
	path := filepath.Join(t.TempDir(), "carematch.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// publishedFixture is the 2,000-person fixtures after one night, in a state
// and publication of the test's own.
func publishedFixture(t *testing.T) (string, *config.Config) {
	t.Helper()
	dir := fixtureDir(t, 2_000)
	cfg := freshConfig(t, dir)
	if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

// A night of the size that keeps DuckDB's freed blocks says the machine's
// transparent huge page mode: in its manifest (on Linux, one of the
// kernel's three), and in its log when the mode is not always. Under
// madvise it asks for them for DuckDB's memory unless run.advise_huge_pages
// is false, and says which in both. Its manifest also says how long
// DuckDB's allocator kept freed pages: ten seconds, unless the environment
// set the allocator's options; and its log, with no memory_limit
// configured, what it gave DuckDB and why.
func TestHugePagesReported(t *testing.T) {
	mode := store.HugePages()
	off := false
	for _, advise := range []*bool{nil, &off} {
		cfg := fixtureNight(t, t.TempDir(), 1_000, 3, 1)
		cfg.Run.AdviseHugePages = advise
		var log bytes.Buffer
		m, err := nightly(context.Background(), cfg, nightlyOptions{keepBlocksFrom: 1, Progress: newProgress(&log, false)})
		if err != nil {
			t.Fatal(err)
		}
		if hp := m.Resources.HugePages; hp != mode || (runtime.GOOS == "linux" && hp != "always" && hp != "madvise" && hp != "never") {
			t.Errorf("huge pages %q in the manifest, the kernel says %q", hp, mode)
		}
		advised := mode == "madvise" && advise == nil
		if m.Resources.HugePagesAdvised != advised {
			t.Errorf("mode %q, advise_huge_pages %v: advised %v in the manifest, want %v", mode, advise, m.Resources.HugePagesAdvised, advised)
		}
		said := strings.Contains(log.String(), "transparent huge pages are "+strconv.Quote(mode))
		if want := mode != "" && mode != "always"; said != want {
			t.Errorf("mode %q: logged %v, want %v:\n%s", mode, said, want, log.String())
		}
		if asks := strings.Contains(log.String(), "DuckDB's memory asks for them"); asks != advised {
			t.Errorf("mode %q, advise_huge_pages %v: logged asking %v, want %v:\n%s", mode, advise, asks, advised, log.String())
		}
		if d := m.Resources.AllocatorDecayMS; d == nil || (!allocatorPreset && *d != 10_000) {
			t.Errorf("allocator decay %v ms in the manifest, want 10000", d)
		}
		if lim := m.Resources.MemoryLimit; lim != "" && cfg.Run.MemoryLimit == "" {
			sized := fmt.Sprintf("load: DuckDB may use %s for %d records (run.memory_limit unset: 1 KiB a record, at most 1/%d of this machine)", lim, m.Counts["records"], store.DefaultMemoryShare)
			if !strings.Contains(log.String(), sized) {
				t.Errorf("the log does not say %q:\n%s", sized, log.String())
			}
		}
	}
}

// allocatorPreset says whether the environment gave DuckDB's allocator its
// options before any test opened a database.
var _, allocatorPreset = os.LookupEnv(store.AllocatorEnv)

// A night of a few thousand records runs DuckDB on one thread, unless the
// configuration says otherwise; the manifest says which, and the log why.
func TestThreadsForSmallNights(t *testing.T) {
	for _, tc := range []struct {
		name       string
		configured int
		want       int
		said       bool
	}{
		{"unset", 0, 1, true},
		{"configured", 2, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fixtureNight(t, t.TempDir(), 1_000, 3, 1)
			cfg.Linkage.Threads = tc.configured
			var log bytes.Buffer
			m, err := nightly(context.Background(), cfg, nightlyOptions{Progress: newProgress(&log, false)})
			if err != nil {
				t.Fatal(err)
			}
			if m.Counts["records"] >= store.OneThreadBelow {
				t.Fatalf("%d records: not a small night", m.Counts["records"])
			}
			if m.Resources.Threads != tc.want {
				t.Errorf("threads %d in the manifest, want %d", m.Resources.Threads, tc.want)
			}
			if said := strings.Contains(log.String(), "DuckDB works on 1 thread"); said != tc.said {
				t.Errorf("logged one thread: %v, want %v:\n%s", said, tc.said, log.String())
			}
			// On one thread the training sample is drawn beside blocking,
			// and the checkpoint beside the files is not refused.
			if beside := strings.Contains(log.String(), "beside blocking"); beside != (tc.want == 1) {
				t.Errorf("training sample drawn beside blocking: %v on %d threads:\n%s", beside, tc.want, log.String())
			}
			if strings.Contains(log.String(), "checkpoint beside the files failed") {
				t.Errorf("the checkpoint beside the files failed:\n%s", log.String())
			}
		})
	}
}
