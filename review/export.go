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
// It returns how many were imported.
func (l *Log) Import(r io.Reader, importer string) (int, error) {
	cr := csv.NewReader(r)
	rows, err := cr.ReadAll()
	if err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		return 0, fmt.Errorf("import: line 1: the header must be %s", strings.Join(csvHeader, ","))
	}
	n := 0
	for i, row := range rows[1:] {
		d := Decision{Kind: row[1], Left: Record{Source: row[2], Local: row[3]}, Analyst: row[6], Reason: row[7] + " (imported by " + importer + ")"}
		if row[4] != "" {
			d.Right = &Record{Source: row[4], Local: row[5]}
		}
		if t, err := time.Parse(time.RFC3339, row[8]); err == nil {
			d.At = t
		}
		if _, err := l.Decide(d); err != nil {
			return n, fmt.Errorf("import: line %d: %w", i+2, err)
		}
		n++
	}
	return n, nil
}
