package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// MetricsFile is the Prometheus textfile every run writes beside its
// publications (<publish_dir>/carematch.prom), for node_exporter's textfile
// collector: a scheduler's dashboard and alerts read the nights from it.
const MetricsFile = "carematch.prom"

// WriteMetrics writes the metrics of night m, which ended (succeeded or
// failed), to path: atomically (a temporary file renamed over it), so that
// the collector never reads half a file. lastSuccess is the finish of the
// last night that succeeded (m's own when it did; zero when none has). It
// holds counts and times only, never a patient's value.
func WriteMetrics(path string, m *Manifest, lastSuccess time.Time) error {
	var b strings.Builder
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP carematch_%s %s\n# TYPE carematch_%s gauge\n", name, help, name)
	}
	value := func(name, labels string, v float64) {
		fmt.Fprintf(&b, "carematch_%s%s %s\n", name, labels, formatFloat(v))
	}
	ok := 0.0
	if m.Status == "succeeded" {
		ok = 1
	}
	gauge("last_run_success", "1 if the last night succeeded, 0 if it failed.")
	value("last_run_success", "", ok)
	gauge("last_run_timestamp_seconds", "When the last night finished (Unix time).")
	value("last_run_timestamp_seconds", "", unix(m.Finished))
	gauge("last_success_timestamp_seconds", "When the last night that succeeded finished (Unix time; 0 if none has).")
	value("last_success_timestamp_seconds", "", unix(lastSuccess))
	gauge("run_duration_seconds", "How long the last night took.")
	value("run_duration_seconds", "", m.Resources.WallSeconds)
	gauge("run_peak_memory_bytes", "The last night's peak resident memory.")
	value("run_peak_memory_bytes", "", float64(m.Resources.PeakRSSBytes))

	gauge("stage_duration_seconds", "How long each stage of the last night took.")
	for _, st := range []string{"load", "link", "index", "portal", "report", "publish"} {
		if ms, ok := m.TimingsMS[st]; ok {
			value("stage_duration_seconds", fmt.Sprintf(`{stage=%q}`, st), float64(ms)/1000)
		}
	}
	gauge("source_rows", "Rows of each source's extract last night, by what became of them.")
	for _, s := range m.Sources {
		for _, r := range []struct {
			state string
			n     int64
		}{{"read", s.RowsRead}, {"loaded", s.RowsLoaded}, {"rejected", s.RowsRejected}} {
			value("source_rows", fmt.Sprintf(`{source=%q,state=%q}`, s.ID, r.state), float64(r.n))
		}
	}
	gauge("exceptions", "Exceptions of each kind last night (exceptions/<kind>.csv).")
	kinds := make([]string, 0, len(m.Exceptions))
	for k := range m.Exceptions {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		value("exceptions", fmt.Sprintf(`{kind=%q}`, k), float64(m.Exceptions[k]))
	}
	for _, c := range []struct{ name, count, help string }{
		{"review_queue_items", "review_pairs", "Items in the analysts' review queue."},
		{"persons", "persons", "Persons in the index."},
		{"indexed_records", "indexed_records", "Records in the index."},
	} {
		gauge(c.name, c.help)
		value(c.name, "", float64(m.Counts[c.count]))
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), ".carematch.prom.*")
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone once renamed
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("metrics: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil { // counts only: the collector may read it
		tmp.Close()
		return fmt.Errorf("metrics: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

func formatFloat(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.3f", v), ".000") }
