package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Analysts' decisions through the command line, then the nightly job: the
// index follows every decision — a no-link between two records sharing an
// NHS number, a link the model would never make, a detach — and decisions
// that no longer apply are reported. Revoking one restores the machine's
// answer; export and import carry decisions to another state directory.
func TestReviewDecisionsDriveTheIndex(t *testing.T) {
	dir := t.TempDir()
	cfg, cfgPath := gpConfig(t, dir, "local_id", "nhs_number", "nhs_number_status", "given_name", "family_name", "date_of_birth", "postcode")
	gp := "id,nhs,status,given,family,dob,postcode\n" +
		"a1,4010232137,01,Anna,Okafor,1970-01-02,SE13 6XY\n" + // a1, a2 share a verified number
		"a2,4010232137,01,Anna,Okafor,1970-01-02,SE13 6XY\n" +
		"x1,,,Kwame,Mensah,1955-03-04,SE4 1AA\n" + // x1, y1: nothing in common
		"y1,,,Priya,Shah,1990-07-08,DA1 2QJ\n" +
		"d1,6000000006,01,Dorothy,Webb,1944-07-08,SE9 1AA\n" +
		"d2,6000000006,01,Dorothy,Webb,1944-07-08,SE9 1AA\n"
	// zz is there the first night only: a decision about it goes stale.
	if err := os.WriteFile(filepath.Join(dir, "gp.csv"), []byte(gp+"zz,,,Zed,Nobody,1960-01-01,E1 6AN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() (map[string]string, map[string]string) {
		t.Helper()
		if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
			t.Fatal(err)
		}
		person, method := map[string]string{}, map[string]string{}
		for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "index", "xref.csv")) {
			person[r["local_id"]], method[r["local_id"]] = r["master_id"], r["link_method"]
		}
		return person, method
	}
	p, _ := run()
	if p["a1"] != p["a2"] || p["x1"] == p["y1"] || p["d1"] != p["d2"] {
		t.Fatalf("machine answer: %v", p)
	}
	c := "--config=" + cfgPath
	runCLI(t, "review", "decide", c, "--left", "gp:a1", "--right", "gp:a2", "--analyst", "ann", "--reason", "different women, same number", "no-link")
	runCLI(t, "review", "decide", c, "--left", "gp:x1", "--right", "gp:y1", "--analyst", "ann", "--reason", "confirmed by phone", "link")
	runCLI(t, "review", "decide", c, "--left", "gp:d2", "--analyst", "ann", "--reason", "not her record", "detach")
	runCLI(t, "review", "decide", c, "--left", "gp:zz", "--right", "gp:a1", "--analyst", "ann", "--reason", "record since removed", "link")
	// A decision, then its opposite about the same pair: the later wins.
	runCLI(t, "review", "decide", c, "--left", "gp:d1", "--right", "gp:x1", "--analyst", "ann", "--reason", "first thought", "link")
	runCLI(t, "review", "decide", c, "--left", "gp:x1", "--right", "gp:d1", "--analyst", "bob", "--reason", "second look", "no-link")
	if err := os.WriteFile(filepath.Join(dir, "gp.csv"), []byte(gp), 0o644); err != nil {
		t.Fatal(err)
	}

	p, m := run()
	if p["a1"] == p["a2"] {
		t.Error("no-link between records sharing an NHS number was not followed")
	}
	if p["x1"] != p["y1"] || m["x1"] != "analyst" || m["y1"] != "analyst" {
		t.Errorf("link below threshold not followed: %v %v", p, m)
	}
	if p["d1"] == p["d2"] || m["d2"] != "singleton" {
		t.Errorf("detach not followed: %v %v", p, m)
	}
	if p["d1"] == p["x1"] {
		t.Error("the later no-link did not replace the earlier link")
	}
	var stale []string
	for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "exceptions", "stale_decision.csv")) {
		stale = append(stale, r["value"]+": "+r["reason"])
	}
	if len(stale) != 2 || !strings.Contains(strings.Join(stale, "\n"), "not in tonight's extracts") || !strings.Contains(strings.Join(stale, "\n"), "replaced it") {
		t.Errorf("stale decisions reported: %v", stale)
	}

	// Export, import elsewhere: the same decisions in force.
	exported := runCLI(t, "review", "export", c)
	if strings.Count(exported, "\n") != 6 { // header + 5 in force
		t.Errorf("export:\n%s", exported)
	}
	other := t.TempDir()
	_, otherCfg := gpConfig(t, other, "local_id", "nhs_number", "nhs_number_status", "given_name", "family_name", "date_of_birth", "postcode")
	for name, text := range map[string]string{"gp.csv": gp, "decisions.csv": exported} {
		if err := os.WriteFile(filepath.Join(other, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out := runCLI(t, "review", "import", "--config="+otherCfg, "--analyst", "carol", filepath.Join(other, "decisions.csv")); !strings.Contains(out, "5 decisions imported") {
		t.Errorf("import: %s", out)
	}
	if got := runCLI(t, "review", "decisions", "--config="+otherCfg); strings.Count(got, "\n") != 6 || !strings.Contains(got, "imported by carol") {
		t.Errorf("imported decisions:\n%s", got)
	}
	// Importing the same file again changes nothing.
	if out := runCLI(t, "review", "import", "--config="+otherCfg, "--analyst", "carol", filepath.Join(other, "decisions.csv")); !strings.Contains(out, "0 decisions imported, 5 already in force") {
		t.Errorf("import again: %s", out)
	}
	if got := runCLI(t, "review", "decisions", "--config="+otherCfg); strings.Count(got, "\n") != 6 {
		t.Errorf("decisions after importing twice:\n%s", got)
	}

	// Revoke the no-link: the shared number links a1 and a2 again.
	id := ""
	for _, line := range strings.Split(exported, "\n") {
		if strings.Contains(line, ",no_link,gp,a1,") {
			id = strings.SplitN(line, ",", 2)[0]
		}
	}
	runCLI(t, "review", "revoke", c, "--analyst", "ann", "--reason", "mistake", id)
	p, _ = run()
	if p["a1"] != p["a2"] {
		t.Error("after revoking the no-link the records did not link again")
	}
	// x1 moves: the link decided about x1 and y1 is suspended and re-opened,
	// and the report says which record changed.
	gp2 := strings.Replace(gp, "x1,,,Kwame,Mensah,1955-03-04,SE4 1AA", "x1,,,Kwame,Mensah,1955-03-04,SE4 9ZZ", 1)
	os.WriteFile(filepath.Join(dir, "gp.csv"), []byte(gp2), 0o644)
	p, _ = run()
	if p["x1"] == p["y1"] {
		t.Error("a decision about a record that changed was still applied")
	}
	found := false
	for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "exceptions", "stale_decision.csv")) {
		if strings.Contains(r["reason"], "gp:x1 have changed since") {
			found = true
		}
	}
	if !found {
		t.Error("the re-opened decision is not reported with the changed record")
	}
	// Every action is in the audit log.
	log, _ := os.ReadFile(filepath.Join(cfg.Run.StateDir, "decisions.jsonl"))
	if strings.Count(string(log), "\n") != 7 || !strings.Contains(string(log), `"action":"revoke"`) {
		t.Errorf("audit log:\n%s", log)
	}
	// Mistakes are usage errors.
	var out, errb bytes.Buffer
	if code := mainCode([]string{"carematch", "review", "decide", c, "--left", "gp:a1", "--right", "gp:a2", "--reason", "x", "--analyst", "a", "merge"}, &out, &errb); code != 2 {
		t.Errorf("unknown kind: exit %d", code)
	}
	if code := mainCode([]string{"carematch", "review", "decide", c, "--left", "gp:a1", "--right", "gp:a2", "--analyst", "a", "link"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "reason") {
		t.Errorf("no reason: exit %d %s", code, errb.String())
	}
}

// The queue through the command line: list the open items, show one's
// evidence (no patient values on the console), decide it by its ID, and the
// next night it does not come back.
func TestReviewQueueCommands(t *testing.T) {
	dir := fixtureDir(t, 2_000)
	cfg := freshConfig(t, dir)
	cfgPath := configCopy(t, dir, cfg)
	if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	c := "--config=" + cfgPath
	list := runCLI(t, "review", "list", c)
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) < 3 {
		t.Fatalf("no open items:\n%s", list)
	}
	item := strings.Fields(lines[1])[0]
	if !strings.Contains(list, "nhs_number_conflict") {
		t.Error("NHS number conflicts are not in the queue")
	}
	show := runCLI(t, "review", "show", c, item)
	if !strings.Contains(show, "match weight") || !strings.Contains(show, "decision:") {
		t.Errorf("show:\n%s", show)
	}
	if regexpTenDigits.MatchString(show) {
		t.Errorf("an NHS number on the console:\n%s", show)
	}
	runCLI(t, "review", "decide", c, "--analyst", "ann", "--reason", "checked", item, "no-link")
	if strings.Contains(runCLI(t, "review", "list", c), item) {
		t.Error("a decided item is still listed")
	}
	if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(runCLI(t, "review", "list", c), item) {
		t.Error("a decided item came back the next night")
	}
}

var regexpTenDigits = regexp.MustCompile(`\b\d{10}\b`)
