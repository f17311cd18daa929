package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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
		"A full night: the first night", `id="tail-low">≤ -38<`, `id="tail-high">≥ &#43;58<`, `id="status"><b>Published</b>`,
		`<a href="exceptions/invalid_nhs_number.csv">invalid_nhs_number</a>`, `id="model"`, "swapped with family name",
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
	// The gaps from rows read to persons shared add up, line by line.
	var gap []int64
	var starts, minus []bool
	gaps := page[strings.Index(page, `<table id="gaps">`):]
	gaps = gaps[:strings.Index(gaps, "</table>")]
	for _, m := range regexp.MustCompile(`<tr(?: class="(minus|start)")?><td>(− )?[^<]*</td><td>(\d+)</td>`).FindAllStringSubmatch(gaps, -1) {
		n, _ := strconv.ParseInt(m[3], 10, 64)
		gap, starts, minus = append(gap, n), append(starts, m[1] == "start"), append(minus, m[2] != "")
	}
	total, ok := int64(0), len(gap) == 13
	for i, n := range gap {
		switch {
		case minus[i]:
			total -= n
		case i > 0 && !starts[i] && total != n:
			ok = false
		default:
			total = n
		}
	}
	if !ok {
		t.Errorf("the gaps do not add up: %v", gap)
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
	_ = chromium
	// At a desk's width and a phone's: the page renders (a screenshot with
	// something in it), and nothing but a table's own scroller is wider
	// than the window.
	ctx := headlessChromium(t)
	for _, width := range []int64{1280, 390} {
		var png []byte
		var overflow bool
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate("file://"+path),
			chromedp.WaitVisible(chromedp.CSS(`#gaps`))); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatal(err)
		}
		overflow, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if len(png) < 20_000 || overflow {
			t.Errorf("at %d px: a %d-byte screenshot, wider than the window: %v", width, len(png), overflow)
		}
		os.WriteFile(filepath.Join(t.TempDir(), fmt.Sprintf("report-%d.png", width)), png, 0o644)
	}
}
