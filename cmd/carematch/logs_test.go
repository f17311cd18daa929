package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/selondon/carematch/reports"
)

// What a scheduler reads from a night on the 2,000-person fixtures: with
// --log-format json one JSON object a line on stderr (clock time, level,
// stage, message, elapsed; counts for a source's rows and for the run),
// with --json the run's manifest on stdout; the plain lines carry the clock
// time. No line holds SQL or a Go map, whatever the format.
func TestSchedulerOutput(t *testing.T) {
	dir := fixtureDir(t, 2_000)
	cfg := freshConfig(t, dir)
	cfgPath := configCopy(t, dir, cfg)

	var out, errb bytes.Buffer
	if code := mainCode([]string{"carematch", "run", "--log-format", "json", "--json", "--config", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var m struct {
		RunID  string           `json:"run_id"`
		Status string           `json:"status"`
		Counts map[string]int64 `json:"counts"`
	}
	if err := json.Unmarshal(out.Bytes(), &m); err != nil || m.Status != "succeeded" || m.Counts["persons"] == 0 {
		t.Fatalf("stdout is not the run's manifest (%v): %.300s", err, out.String())
	}
	stages := map[string]bool{}
	var sourceCounts, runCounts, training bool
	sc := bufio.NewScanner(&errb)
	for sc.Scan() {
		var l struct {
			Time    string           `json:"time"`
			Level   string           `json:"level"`
			Stage   string           `json:"stage"`
			Message string           `json:"message"`
			Elapsed *float64         `json:"elapsed_s"`
			Counts  map[string]int64 `json:"counts"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("a line that is not JSON: %q", sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, l.Time); err != nil || l.Elapsed == nil || l.Message == "" ||
			(l.Level != "info" && l.Level != "warning") || l.Stage == "" {
			t.Errorf("line %q: want time, level, stage, message and elapsed_s", sc.Text())
		}
		stages[l.Stage] = true
		training = training || (l.Stage == "link" && strings.HasPrefix(l.Message, "training: u from"))
		sourceCounts = sourceCounts || (l.Stage == "load" && l.Counts["rows_read"] > 0)
		runCounts = runCounts || (l.Stage == "run" && strings.Contains(l.Message, "succeeded") && l.Counts["persons"] == m.Counts["persons"])
		checkConsoleLine(t, sc.Text())
	}
	for _, s := range []string{"run", "load", "link", "index", "portal", "publish"} {
		if !stages[s] {
			t.Errorf("no line of stage %q (%v)", s, stages)
		}
	}
	if !training {
		t.Error("training said nothing of its progress")
	}
	if !sourceCounts || !runCounts {
		t.Errorf("counts: a source's rows %v, the run's %v", sourceCounts, runCounts)
	}

	// Plain lines: "carematch: <clock time> <elapsed>s  stage: message".
	out.Reset()
	errb.Reset()
	if code := mainCode([]string{"carematch", "run", "--config", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	plain := regexp.MustCompile(`^carematch: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +\d+\.\ds  \S`)
	for _, line := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		if !plain.MatchString(line) {
			t.Errorf("plain line %q has no clock time", line)
		}
		checkConsoleLine(t, line)
	}
	if code := mainCode([]string{"carematch", "run", "--log-format", "xml", "--config", cfgPath}, &out, &errb); code != 2 {
		t.Errorf("--log-format xml: exit %d, want 2", code)
	}
}

// checkConsoleLine fails a console line that shows internals: SQL or a Go
// map.
func checkConsoleLine(t *testing.T, line string) {
	t.Helper()
	for _, bad := range []string{"CASE WHEN", "SELECT ", "map[", "year(dob)"} {
		if strings.Contains(line, bad) {
			t.Errorf("console line shows %q: %s", bad, line)
		}
	}
}

// <publish_dir>/carematch.prom, for node_exporter's textfile collector:
// after a night that succeeded, its time as the last success, each stage's
// duration, each source's rows, exceptions by kind and the review queue;
// after a night that failed, success 0 and the last success still the
// earlier night's. Every line is a comment or a sample.
func TestMetricsTextfile(t *testing.T) {
	dir := fixtureDir(t, 2_000)
	cfg := freshConfig(t, dir)
	cfgPath := configCopy(t, dir, cfg)
	runCLI(t, "run", "--quiet", "--config", cfgPath)
	prom := filepath.Join(cfg.Run.PublishDir, "carematch.prom")
	read := func() map[string]float64 {
		data, err := os.ReadFile(prom)
		if err != nil {
			t.Fatal(err)
		}
		sample := regexp.MustCompile(`^(carematch_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})?) (-?[0-9.]+(e[+-]?[0-9]+)?)$`)
		out := map[string]float64{}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
				continue
			}
			m := sample.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("not a Prometheus sample: %q", line)
			}
			v, _ := strconv.ParseFloat(m[4], 64)
			out[m[1]] = v
		}
		return out
	}
	first := read()
	m, err := reports.ReadManifest(filepath.Join(cfg.Run.PublishDir, "current", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"carematch_last_run_success":                               1,
		"carematch_review_queue_items":                             float64(m.Counts["review_pairs"]),
		`carematch_source_rows{source="gp_lewisham",state="read"}`: float64(m.Sources[0].RowsRead),
		`carematch_exceptions{kind="invalid_nhs_number"}`:          float64(m.Exceptions["invalid_nhs_number"]),
		"carematch_last_success_timestamp_seconds":                 float64(m.Finished.UnixMilli()) / 1000,
		`carematch_stage_duration_seconds{stage="link"}`:           float64(m.TimingsMS["link"]) / 1000,
	} {
		if got, ok := first[name]; !ok || math.Abs(got-want) > 0.001 {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	// A night that fails: a required extract is gone.
	broken := filepath.Join(t.TempDir(), "carematch.toml")
	data, _ := os.ReadFile(cfgPath)
	os.WriteFile(broken, []byte(strings.Replace(string(data), "gp_lewisham.csv", "gone.csv", 1)), 0o644)
	var out, errb bytes.Buffer
	if code := mainCode([]string{"carematch", "run", "--quiet", "--config", broken}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errb.String())
	}
	second := read()
	if second["carematch_last_run_success"] != 0 || second["carematch_last_success_timestamp_seconds"] != first["carematch_last_success_timestamp_seconds"] ||
		second["carematch_last_run_timestamp_seconds"] <= first["carematch_last_run_timestamp_seconds"] {
		t.Errorf("after a failed night: success %v, last success %v (was %v), last run %v (was %v)", second["carematch_last_run_success"],
			second["carematch_last_success_timestamp_seconds"], first["carematch_last_success_timestamp_seconds"],
			second["carematch_last_run_timestamp_seconds"], first["carematch_last_run_timestamp_seconds"])
	}
}

// The analysts' commands agree with each other and with the run: explain
// takes --config like review and prints JSON; review list prints each item
// once, as JSON too, with no patient value; review decide refuses a record
// the publication does not have.
func TestAnalystCommands(t *testing.T) {
	dir, cfg := publishedFixture(t)
	cfgPath := configCopy(t, dir, cfg)
	c := "--config=" + cfgPath
	var items []struct {
		ID, Kind, Left, Right string
	}
	if err := json.Unmarshal([]byte(runCLI(t, "review", "list", c, "--json")), &items); err != nil || len(items) == 0 {
		t.Fatalf("review list --json: %v (%d items)", err, len(items))
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.ID] {
			t.Errorf("item %s listed twice", it.ID)
		}
		seen[it.ID] = true
	}
	var e struct {
		Left, Decision string
		MatchWeight    *float64 `json:"match_weight"`
	}
	if err := json.Unmarshal([]byte(runCLI(t, "explain", c, "--json", "--left", items[0].Left, "--right", items[0].Right)), &e); err != nil ||
		e.Left != items[0].Left || e.Decision == "" || e.MatchWeight == nil {
		t.Errorf("explain --config --json: %v %+v", err, e)
	}
	var out, errb bytes.Buffer
	code := mainCode([]string{"carematch", "review", "decide", c, "--left", "gp_lewisham:NO-SUCH-RECORD", "--right", items[0].Right,
		"--analyst", "ann", "--reason", "typo in the id", "link"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "gp_lewisham:NO-SUCH-RECORD is not a record of the current publication") {
		t.Errorf("decide on a record that does not exist: exit %d: %s", code, errb.String())
	}
}
