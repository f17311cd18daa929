package review

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// csvHeader is the export format, one decision per row.
var csvHeader = []string{"id", "kind", "left_source_id", "left_local_id", "right_source_id", "right_local_id", "analyst", "reason", "at"}

// Export writes the decisions in force as CSV (a team may keep them under
// version control). It returns the log as it read it, whose unreadable lines
// the caller may want to mention.
func (l *Log) Export(w io.Writer) (*Folded, error) {
	f, err := l.Read()
	if err != nil {
		return nil, err
	}
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, d := range f.InForce {
		rs, rl := "", ""
		if d.Right != nil {
			rs, rl = d.Right.Source, d.Right.Local
		}
		cw.Write([]string{d.ID, d.Kind, d.Left.Source, d.Left.Local, rs, rl, d.Analyst, d.Reason, d.At.Format(time.RFC3339)})
	}
	cw.Flush()
	return f, cw.Error()
}

// Import records the decisions of an exported CSV as new decisions (each
// keeps its analyst, reason and time; the importer is in the audit reason).
// A decision already in force — the same records, kind, analyst and time —
// is not recorded again, so importing a file twice changes nothing. It
// returns how many were imported and how many were in force already.
func (l *Log) Import(r io.Reader, importer string) (imported, already int, err error) {
	inForce, _, err := l.InForce()
	if err != nil {
		return 0, 0, err
	}
	have := map[string]bool{}
	same := func(d Decision) string {
		return d.Key() + "|" + d.Kind + "|" + d.Analyst + "|" + d.At.UTC().Format(time.RFC3339)
	}
	for _, d := range inForce {
		have[same(d)] = true
	}
	cr := csv.NewReader(r)
	rows, err := cr.ReadAll()
	if err != nil {
		return 0, 0, fmt.Errorf("import: %w", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		return 0, 0, fmt.Errorf("import: line 1: the header must be %s", strings.Join(csvHeader, ","))
	}
	for i, row := range rows[1:] {
		d := Decision{Kind: row[1], Left: Record{Source: row[2], Local: row[3]}, Analyst: row[6], Reason: row[7] + " (imported by " + importer + ")"}
		if row[4] != "" {
			d.Right = &Record{Source: row[4], Local: row[5]}
		}
		if t, err := time.Parse(time.RFC3339, row[8]); err == nil {
			d.At = t
		}
		if have[same(d)] {
			already++
			continue
		}
		if _, err := l.Decide(d); err != nil {
			return imported, already, fmt.Errorf("import: line %d: %w", i+2, err)
		}
		have[same(d)] = true
		imported++
	}
	return imported, already, nil
}
