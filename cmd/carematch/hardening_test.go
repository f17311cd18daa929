package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/publish"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/review"
	"github.com/selondon/carematch/store"
)

// A decision log damaged in every way found so far — a 2 MB line written
// before the limits, a line of garbage, a torn last line — does not stop the
// night: the good decisions apply, each bad line is reported with its line,
// and `review decisions` warns instead of failing.
func TestDamagedDecisionLogDoesNotStopTheNight(t *testing.T) {
	cfg, cfgPath := gpExtract(t, "id,nhs,status,given,family,dob,postcode\n"+
		"a1,4010232137,01,Anna,Okafor,1970-01-02,SE13 6XY\n"+
		"a2,4010232137,01,Anna,Okafor,1970-01-02,SE13 6XY\n"+
		"x1,,,Kwame,Mensah,1955-03-04,SE4 1AA\n",
		"local_id", "nhs_number", "nhs_number_status", "given_name", "family_name", "date_of_birth", "postcode")
	c := "--config=" + cfgPath
	runCLI(t, "review", "decide", c, "--left", "gp:a1", "--right", "gp:a2", "--analyst", "ann", "--reason", "two women, one number", "no-link")
	log := review.Open(cfg.Run.StateDir).Path()
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"action":"decide","decision":{"id":"D000002","reason":"` + strings.Repeat("x", 2<<20) + "\"}}\n")
	f.WriteString("not json\n\n")
	f.WriteString(`{"action":"decide","decision":{"id":"D0000`)
	f.Close()

	// The page and the CLI refuse an over-long reason at the door.
	var out, errb strings.Builder
	if code := mainCode([]string{"carematch", "review", "decide", c, "--left", "gp:x1", "--right", "gp:a1", "--analyst", "ann",
		"--reason", strings.Repeat("y", review.MaxReasonBytes+1), "link"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "reason is over") {
		t.Fatalf("over-long reason: exit %d: %s", code, errb.String())
	}

	out.Reset()
	errb.Reset()
	if code := mainCode([]string{"carematch", "review", "decisions", c}, &out, &errb); code != 0 {
		t.Fatalf("review decisions: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "D000001") || strings.Count(errb.String(), "cannot be applied") != 3 {
		t.Errorf("review decisions: stdout %q stderr %q", out.String(), errb.String())
	}

	m, err := nightly(context.Background(), cfg, nightlyOptions{})
	if err != nil {
		t.Fatalf("the night stopped: %v", err)
	}
	person := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "index", "xref.csv")) {
		person[r["local_id"]] = r["master_id"]
	}
	if person["a1"] == person["a2"] {
		t.Error("the good decision (no-link) was not applied")
	}
	var lines []string
	for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "exceptions", "stale_decision.csv")) {
		if r["source_id"] == "decisions" {
			lines = append(lines, r["line"])
		}
	}
	if strings.Join(lines, ",") != "2,3,5" || m.Exceptions["stale_decision"] != 3 {
		t.Errorf("unreadable lines reported: %v (manifest %d)", lines, m.Exceptions["stale_decision"])
	}
	// The next decision cuts the torn tail instead of gluing itself to it.
	runCLI(t, "review", "decide", c, "--left", "gp:x1", "--right", "gp:a1", "--analyst", "ann", "--reason", "checked", "no-link")
	fold, err := review.Open(cfg.Run.StateDir).Read()
	if err != nil || len(fold.InForce) != 2 || len(fold.Unreadable) != 2 {
		t.Errorf("after the next decision: %+v, %v", fold, err)
	}
}

// A restricted person's address never reaches the portal through another
// record of the same NHS number that did not link to them (here a record
// with another given name and date of birth: an NHS-number conflict, left
// apart for review): restriction follows the number, as opt-outs do.
func TestRestrictionFollowsTheNHSNumber(t *testing.T) {
	cfg, _ := gpExtract(t, "id,nhs,status,given,family,dob,address,postcode,sensitive\n"+
		"r1,4010232137,01,Anna,Okafor,1970-01-02,1 Hidden Road,SE13 6XY,Y\n"+
		"r2,4010232137,,Maria,Okafor,1991-05-06,1 Hidden Road,SE13 6XY,N\n"+
		"o1,,,Kwame,Mensah,1955-03-04,2 Open Street,SE4 1AA,N\n",
		"local_id", "nhs_number", "nhs_number_status", "given_name", "family_name", "date_of_birth", "address", "postcode", "sensitive")
	if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(cfg.Run.PublishDir, "current")
	person := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(cur, "index", "xref.csv")) {
		person[r["local_id"]] = r["master_id"]
	}
	if person["r1"] == person["r2"] {
		t.Fatal("the test needs r2 apart from the restricted person")
	}
	restricted := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(cur, "portal", "master_index.csv")) {
		restricted[r["master_id"]] = r["restricted"]
		if r["master_id"] != person["o1"] && (r["address"] != "" || r["postcode"] != "") {
			t.Errorf("person %s holding a restricted number published an address", r["master_id"])
		}
	}
	if restricted[person["r2"]] != "true" || restricted[person["r1"]] != "true" || restricted[person["o1"]] != "false" {
		t.Errorf("restricted flags: %v", restricted)
	}
	data, err := os.ReadFile(filepath.Join(cur, "portal", "patients.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "Hidden Road") + strings.Count(string(data), "SE13"); n != 0 {
		t.Errorf("patients.ndjson carries the hidden address %d times", n)
	}
}

// junkExtract writes the three shapes of junk that once exhausted memory or
// retrained the model: 10,000 rows sharing one NHS number, 20,000 people
// sharing one date of birth and postcode, and 5,000 identical rows.
func junkExtract(t *testing.T, path string) int {
	t.Helper()
	given := []string{"Amy", "Ben", "Cara", "Dan", "Eve", "Finn", "Gail", "Hugo", "Isla", "Jon", "Kay", "Liam", "Mia", "Ned", "Ola", "Pete", "Rae", "Sam", "Tia", "Val"}
	family := []string{"Abbot", "Baker", "Clark", "Doyle", "Evans", "Frost", "Grant", "Hale", "Irwin", "Jones", "Knox", "Lowe", "Marsh", "Nash", "Owen", "Price", "Quinn", "Reed", "Shaw", "Tate"}
	var b strings.Builder
	b.WriteString("id,nhs,given,family,dob,postcode\n")
	n := 0
	row := func(nhs, g, f, dob, pc string) {
		n++
		fmt.Fprintf(&b, "j%d,%s,%s,%s,%s,%s\n", n, nhs, g, f, dob, pc)
	}
	for i := range 10_000 {
		row("4010232137", given[i%20], family[(i/20)%20], fmt.Sprintf("%d-%02d-%02d", 1930+i%70, 1+i%12, 1+i%28), fmt.Sprintf("SE%d %dAB", 1+i%28, i%10))
	}
	for i := range 20_000 {
		row("", given[i%20], family[(i/20)%20], "1980-05-05", "SE1 1AA")
	}
	for range 5_000 {
		row("", "Test", "Patient", "1970-01-01", "SE2 2BB")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// Junk that made millions of pairs (killed at 12 GB) or retrained the model
// now finishes under a memory limit: its records are quarantined and
// reported, the log warns, and the people in the other sources are linked
// as well as without it.
func TestJunkIsQuarantined(t *testing.T) {
	if testing.Short() {
		t.Skip("two fixture runs")
	}
	dir, base := publishedFixture(t)
	baseEval, err := evaluate(context.Background(), filepath.Join(base.Run.PublishDir, "current"), filepath.Join(dir, "truth.csv"), "")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := configCopy(t, dir, freshConfig(t, dir))
	junk := filepath.Join(t.TempDir(), "junk.csv")
	rows := junkExtract(t, junk)
	text, _ := os.ReadFile(cfgPath)
	cfgText := strings.Replace(string(text), "[run]\n", "[run]\nmemory_limit = \"2GiB\"\n", 1) +
		sourceTOML("junk", "other", junk, "local_id", "nhs_number", "given_name", "family_name", "date_of_birth", "postcode")
	os.WriteFile(cfgPath, []byte(cfgText), 0o644)
	var out, errb strings.Builder
	if code := mainCode([]string{"carematch", "run", "--config", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"WARNING junk: 10000 records quarantined", "sharing one NHS number", "one date of birth and postcode"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	if strings.Contains(errb.String(), "4010232137") || strings.Contains(errb.String(), "SE1 1AA") {
		t.Error("a patient value in the log")
	}
	// Where the time went: each linkage step in the log, the stages on stdout.
	for _, want := range []string{"link: prepare took", "link: compare took"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	for _, want := range []string{"candidate pairs", "stages (s):", "    compare", "  portal", "    golden_record", "    patients", "by link method: nhs_number"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the summary does not say %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "map[") {
		t.Error("a Go map in the summary")
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(cfg.Run.PublishDir, "current")
	// A configured limit, and a night too small for DuckDB to keep the
	// blocks it frees (store.KeepBlocksFrom).
	var m reports.Manifest
	if data, err := os.ReadFile(filepath.Join(cur, "manifest.json")); err != nil || json.Unmarshal(data, &m) != nil {
		t.Fatalf("manifest: %v", err)
	}
	if m.Resources.MemoryLimit != "2GiB" || m.Resources.BlockMemory != "" || m.Counts["records"] >= store.KeepBlocksFrom {
		t.Errorf("memory limit %q, block memory %q for %d records; want 2GiB and none", m.Resources.MemoryLimit, m.Resources.BlockMemory, m.Counts["records"])
	}
	q := readCSV(t, filepath.Join(cur, "exceptions", "quarantined.csv"))
	if len(q) != rows {
		t.Errorf("%d records quarantined, want all %d junk rows", len(q), rows)
	}
	for _, r := range readCSV(t, filepath.Join(cur, "portal", "xref.csv")) {
		if r["source_id"] == "junk" {
			t.Fatal("a quarantined record reached the portal")
		}
	}
	ev, err := evaluate(context.Background(), cur, filepath.Join(dir, "truth.csv"), "")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Precision < baseEval.Precision || ev.Recall < baseEval.Recall-0.002 {
		t.Errorf("with junk: precision %.5f recall %.5f; without: %.5f %.5f", ev.Precision, ev.Recall, baseEval.Precision, baseEval.Recall)
	}
}

// A run that meets DuckDB's memory limit fails with one line naming the
// stage and the limit, and publishes nothing.
func TestOutOfMemoryNamesTheStage(t *testing.T) {
	dir, _ := publishedFixture(t)
	cfg := freshConfig(t, dir)
	cfg.Run.MemoryLimit = "8MB"
	_, err := nightly(context.Background(), cfg, nightlyOptions{})
	if err == nil {
		t.Fatal("the run fitted in 8 MB")
	}
	msg := err.Error()
	if !strings.Contains(msg, "ran out of memory") || !strings.Contains(msg, `run.memory_limit "8MB"`) || strings.Count(msg, "\n") > 0 {
		t.Fatalf("error: %s", msg)
	}
	stage, _, _ := strings.Cut(msg, ":")
	if !slices.Contains([]string{"load", "link", "index", "portal", "report"}, stage) {
		t.Errorf("the error does not start with a stage: %s", msg)
	}
	if publish.Current(cfg.Run.PublishDir) != "" {
		t.Error("a failed run published")
	}
}

// Every error from a stage names the stage and the step, in one line: a
// blocking rule naming no column fails at link: blocking; a corrupted state
// database from last night fails at load: row drops.
func TestStageErrorsNameTheStep(t *testing.T) {
	dir, base := publishedFixture(t)
	cfg := freshConfig(t, dir)
	cfg.Linkage.BlockingRules = []string{"no_such_column"}
	_, err := nightly(context.Background(), cfg, nightlyOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "link: blocking: ") || !strings.Contains(err.Error(), "no_such_column") {
		t.Errorf("bad blocking rule: %v", err)
	}
	prev := publish.PreviousState(base.Run.StateDir)
	if err := os.WriteFile(prev, []byte("not a database"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = nightly(context.Background(), base, nightlyOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "load: row drops: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("corrupted state: %v", err)
	}
}
