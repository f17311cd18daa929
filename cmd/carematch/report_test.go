package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// report.html: one self-contained page with the run's figures — nothing
// fetched from the network, no script, no patient value — that a browser
// renders. The browser check runs Debian's chromium headless; .ci/run
// installs it and sets CAREMATCH_REQUIRE_CHROMIUM so CI cannot skip it.
func TestReportHTML(t *testing.T) {
	_, cfg, m := runFixtures20k(t)
	path := filepath.Join(cfg.Run.PublishDir, "current", "report.html")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	for _, want := range []string{
		`id="rows-read">` + strconv.FormatInt(m.Counts["rows_read"], 10) + `<`,
		`id="persons">` + strconv.FormatInt(m.Counts["persons"], 10) + `<`,
		`id="review">` + strconv.FormatInt(m.Counts["review_pairs"], 10) + `<`,
		`id="change-created">`, "Data quality by source", "gp_lewisham", "ooh_greenwich_bexley",
		`aria-label="match weight histogram"`, `aria-label="records by link method"`, "nhs_number_conflict",
		"A full night: the first night",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, src := range m.Sources {
		if want := `id="records-` + src.ID + `-new">` + strconv.FormatInt(src.RowsLoaded, 10) + `<`; !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q: the first night's records are all new", want)
		}
	}
	if strings.Count(page, "<rect") < 20 {
		t.Error("the charts have no bars")
	}
	if regexp.MustCompile(`(?i)<script|src="https?:|href="https?:|@import`).MatchString(page) {
		t.Error("report.html is not self-contained")
	}
	if regexp.MustCompile(`\b\d{10}\b`).MatchString(page) {
		t.Error("a ten-digit number (an NHS number?) in report.html")
	}

	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CAREMATCH_REQUIRE_CHROMIUM") != "" {
			t.Fatal("chromium is required here and not installed")
		}
		t.Skip("no chromium on this machine (.ci/run installs it)")
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--window-size=1280,1600", "--screenshot="+shot, "file://"+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 20_000 {
		t.Fatalf("screenshot %v (%v): the page did not render", st, err)
	}
}
