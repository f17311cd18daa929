package store

import "testing"

// TestRecordsInFile: the records are staged in a file when, at about 3.3
// bytes of memory for each byte of the extracts, they would take more than
// half the memory limit — the ten-million-record fixture's 1.26 GiB under
// the default sixth of 24 GiB, not the two-million's 0.25 GiB, unless the
// limit is made small.
func TestRecordsInFile(t *testing.T) {
	const gib = int64(1) << 30
	for _, c := range []struct {
		bytes int64
		limit string
		want  bool
	}{
		{gib * 126 / 100, "4017MiB", true},
		{gib / 4, "4017MiB", false},
		{gib / 2, "4017MiB", false},
		{gib / 4, "900MB", true},
		{gib * 126 / 100, "", false}, // DuckDB's own limit: not bounded here
		{gib * 126 / 100, "80%", false},
		{0, "1GiB", false},
	} {
		if got := RecordsInFile(c.bytes, c.limit); got != c.want {
			t.Errorf("RecordsInFile(%d MiB, %q) = %v, want %v", c.bytes>>20, c.limit, got, c.want)
		}
	}
}
