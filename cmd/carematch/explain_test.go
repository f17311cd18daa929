package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/selondon/carematch/reports"
)

// explain and evaluate, run as a user would, on a published run.
func TestExplainAndEvaluateCommands(t *testing.T) {
	dir := fixtureDir(t, 2_000)
	cfg := freshConfig(t, dir)
	if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(cfg.Run.PublishDir, "current")
	xref := readCSV(t, filepath.Join(run, "index", "xref.csv"))

	// A probabilistic link and a pair of records of two different persons.
	var linkedL, linkedR, otherL, otherR string
	byMaster := map[string][]map[string]string{}
	for _, r := range xref {
		byMaster[r["master_id"]] = append(byMaster[r["master_id"]], r)
	}
	for _, rs := range byMaster {
		if linkedL == "" && len(rs) == 2 && rs[0]["link_method"] == "probabilistic" {
			linkedL, linkedR = rs[0]["source_id"]+":"+rs[0]["local_id"], rs[1]["source_id"]+":"+rs[1]["local_id"]
		}
	}
	otherL = xref[0]["source_id"] + ":" + xref[0]["local_id"]
	otherR = xref[len(xref)-1]["source_id"] + ":" + xref[len(xref)-1]["local_id"]
	if linkedL == "" {
		t.Fatal("no probabilistic pair in the fixture run")
	}

	explain := func(l, r string) (string, int) {
		var out, errb bytes.Buffer
		code := mainCode([]string{"carematch", "explain", "--run", run, "--left", l, "--right", r}, &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := explain(linkedL, linkedR)
	if code != 0 {
		t.Fatalf("explain exit %d: %s", code, out)
	}
	for _, want := range []string{"pairs match (by NHS numbers)", "given_name", "family_name", "date_of_birth", "residence", "nhs_number", "match weight", "decision: link (probabilistic)"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	// The waterfall adds up: the running total after the last comparison
	// (nhs_number) is the match weight.
	var lastRunning string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "nhs_number" {
			lastRunning = f[len(f)-1]
		}
	}
	if lastRunning == "" || !strings.Contains(out, "match weight "+lastRunning+",") {
		t.Errorf("running total %q is not the match weight:\n%s", lastRunning, out)
	}
	if regexp.MustCompile(`\b\d{10}\b`).MatchString(out) {
		t.Errorf("an NHS number in explain's output:\n%s", out)
	}

	out, code = explain(otherL, otherR)
	if code != 0 || !strings.Contains(out, "decision: no link") {
		t.Errorf("unrelated records: exit %d\n%s", code, out)
	}
	out, code = explain(otherL, "gp_lewisham:no-such-record")
	if code != 1 || !strings.Contains(out, "record is not in the index") {
		t.Errorf("unknown record: exit %d\n%s", code, out)
	}
	if _, code = explain(otherL, "nocolon"); code != 2 {
		t.Errorf("bad record syntax: exit %d, want 2", code)
	}

	var evOut, evErr bytes.Buffer
	if code := mainCode([]string{"carematch", "evaluate", "--json", "--truth", filepath.Join(dir, "truth.csv"), "--run", run}, &evOut, &evErr); code != 0 {
		t.Fatalf("evaluate exit %d: %s", code, evErr.String())
	}
	var ev reports.Evaluation
	if err := json.Unmarshal(evOut.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Records == 0 || ev.Precision < 0.99 || ev.Recall < 0.98 || len(ev.HardNegatives) == 0 {
		t.Errorf("evaluation %+v", ev)
	}
}

// A fitted model saved with one run can be reused by the next: on the same
// input it gives the same index, and the model says it was reused.
func TestModelReuse(t *testing.T) {
	dir := fixtureDir(t, 2_000)
	first := freshConfig(t, dir)
	if _, err := nightly(context.Background(), first, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(first.Run.PublishDir, "current")
	second := freshConfig(t, dir)
	second.Linkage.Model = filepath.Join(cur, "model.json")
	if _, err := nightly(context.Background(), second, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	cur2 := filepath.Join(second.Run.PublishDir, "current")
	a := readCSV(t, filepath.Join(cur, "index", "xref.csv"))
	b := readCSV(t, filepath.Join(cur2, "index", "xref.csv"))
	if len(a) != len(b) {
		t.Fatalf("%d and %d xref rows", len(a), len(b))
	}
	for i := range a {
		if a[i]["master_id"] != b[i]["master_id"] || a[i]["match_weight"] != b[i]["match_weight"] {
			t.Fatalf("row %d differs: %v / %v", i, a[i], b[i])
		}
	}
	var m struct {
		Training struct {
			Reused string `json:"reused_from"`
		} `json:"training"`
	}
	data, err := os.ReadFile(filepath.Join(cur2, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Training.Reused != second.Linkage.Model {
		t.Errorf("reused_from %q (%v)", m.Training.Reused, err)
	}
}
