package reports

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/selondon/carematch/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// The exception files analysts open every morning: their names, columns,
// order and modes, against golden files (go test ./reports -update).
func TestWriteExceptionsGolden(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "x.duckdb"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateSchema(ctx, nil); err != nil {
		t.Fatal(err)
	}
	a, err := db.NewAppender(ctx, "exceptions")
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"invalid_nhs_number", "gp_b", "g2", int64(7), "nhs_number", "check digit: does not match modulus 11", "4010232138", "gp.csv"},
		{"invalid_nhs_number", "gp_a", "g1", int64(3), "nhs_number", "spreadsheet notation: the digits are lost", "9.43477E+09", "gp.csv"},
		{"rejected_rows", "gp_a", nil, int64(9), nil, "wrong field count: 3 fields, the header has 13", "g5,1,2", "gp.csv"},
		{"rejected_rows", "gp_a", "g4", int64(6), "local_id", "duplicate local_id within the extract (first at line 5)", "g4", "gp.csv"},
		{"invalid_postcode", "asc", "a1", int64(2), "postcode", "not a valid UK postcode", "SE13 OXY, \"quoted\"", "asc.csv"},
		{"nhs_number_conflict", "lgt", "l1", int64(4), "nhs_number", "a later stage's kind", nil, "lgt.csv"},
	}
	for _, r := range rows {
		vals := make([]any, len(r))
		copy(vals, r)
		if err := a.Append(toValues(vals)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "exceptions")
	counts, err := WriteExceptions(ctx, db, dir)
	if err != nil {
		t.Fatal(err)
	}
	if counts["rejected_rows"] != 2 || counts["invalid_value"] != 0 || counts["nhs_number_conflict"] != 1 {
		t.Errorf("counts %v", counts)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(store.ExceptionKinds)+1 {
		t.Errorf("%d files, want the known kinds and summary", len(entries))
	}
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().Perm() != FileMode {
			t.Errorf("%s mode %v, want %v", e.Name(), info.Mode().Perm(), os.FileMode(FileMode))
		}
		got, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		golden := filepath.Join("testdata", "golden", e.Name())
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./reports -update)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n%s\nwant:\n%s", e.Name(), got, want)
		}
	}
}
