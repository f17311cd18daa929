package extract

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const oneSource = `
[[source]]
id = "gp"
kind = "gp"
path = "gp.EXT"
date_format = "%d/%m/%Y"
  [source.columns]
  local_id = "Id"
  nhs_number = "Nhs"
  family_name = "Surname"
  date_of_birth = "Dob"
`

// Rows that must be rejected, each with its line and a reason, and never
// loaded as a patient or with a changed value.
func TestHostileRows(t *testing.T) {
	hdr := "Id,Nhs,Surname,Dob"
	for _, tc := range []struct {
		name, ext, file string
		loaded          []string // local_id:surname of the rows loaded
		rejected        []string // line:reason prefix
	}{
		{"header repeated (two extracts joined)", "csv",
			hdr + "\na1,,SMITH,01/02/1970\n" + hdr + "\na2,,JONES,01/02/1971\n",
			[]string{"a1:SMITH", "a2:JONES"}, []string{"3:the row repeats the header"}},
		{"header repeated with its BOM", "csv",
			"\xef\xbb\xbf" + hdr + "\na1,,SMITH,01/02/1970\n\xef\xbb\xbf" + hdr + "\r\na2,,JONES,01/02/1971\n",
			[]string{"a1:SMITH", "a2:JONES"}, []string{"3:the row repeats the header"}},
		{"a BOM before a data line stays out of the local_id", "csv",
			hdr + "\n\xef\xbb\xbfa1,,SMITH,01/02/1970\n",
			[]string{"a1:SMITH"}, nil},
		{"a NUL byte", "csv",
			hdr + "\na\x001,,SMITH,01/02/1970\na2,,JONES,01/02/1971\n",
			[]string{"a2:JONES"}, []string{`2:a NUL byte in column "Id"`}},
		{"invalid UTF-8 in JSON lines", "jsonl",
			`{"Id":"a1","Surname":"SM` + "\xff" + `ITH","Nhs":null,"Dob":"01/02/1970"}` + "\n" + `{"Id":"a2","Surname":"JONES","Nhs":null,"Dob":"01/02/1971"}` + "\n",
			[]string{"a2:JONES"}, []string{"1:invalid UTF-8"}},
		{"a NUL byte in JSON lines", "jsonl",
			`{"Id":"a1\u0000","Surname":"SMITH","Nhs":null,"Dob":"01/02/1970"}` + "\n" + `{"Id":"a2","Surname":"JONES","Nhs":null,"Dob":"01/02/1971"}` + "\n",
			[]string{"a2:JONES"}, []string{`1:a NUL byte in column "Id"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "gp."+tc.ext, []byte(tc.file))
			db := openDB(t)
			res, err := LoadAll(context.Background(), db, parseConfig(t, dir, strings.ReplaceAll(oneSource, "EXT", tc.ext)), Options{Today: today})
			if err != nil {
				t.Fatal(err)
			}
			got := query(t, db, "SELECT local_id || ':' || family_name FROM records ORDER BY line")
			if strings.Join(got, ",") != strings.Join(tc.loaded, ",") {
				t.Errorf("loaded %q, want %q", got, tc.loaded)
			}
			rej := query(t, db, "SELECT line || ':' || reason FROM exceptions WHERE kind = 'rejected_rows' ORDER BY line")
			if len(rej) != len(tc.rejected) {
				t.Fatalf("rejected %q, want %q", rej, tc.rejected)
			}
			for i := range rej {
				if !strings.HasPrefix(rej[i], tc.rejected[i]) {
					t.Errorf("rejected %q, want %q", rej[i], tc.rejected[i])
				}
			}
			if r := res[0]; r.Read != r.Loaded+r.Rejected {
				t.Errorf("read %d ≠ loaded %d + rejected %d", r.Read, r.Loaded, r.Rejected)
			}
		})
	}
}

// Input that must stop the run with one clear line: a configured column the
// header names twice, and a required source none of whose rows loads.
func TestHostileFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		optional   bool
		is         error
		parts      []string
	}{
		{"a configured column twice", "Id,Nhs,Surname,Dob,Surname\na1,,SMITH,01/02/1970,X\n", false, ErrDuplicateColumn,
			[]string{"gp.csv: line 1: field family_name (column \"Surname\")", "column 3 and 5"}},
		{"every row rejected", "Id,Nhs,Surname,Dob\na1,,SMITH,01/02/1970,\na2,,JONES,01/02/1971,\n", false, ErrNoRowLoaded,
			[]string{"load gp", "all 2 rows were rejected, the first at gp.csv line 2: wrong field count"}},
		{"every row rejected, optional source", "Id,Nhs,Surname,Dob\na1,,SMITH,01/02/1970,\n", true, nil, nil},
		{"an unconfigured column twice is no matter", "Id,Nhs,Surname,Dob,Note,Note\na1,,SMITH,01/02/1970,x,y\n", false, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "gp.csv", []byte(tc.file))
			cfg := strings.ReplaceAll(oneSource, "EXT", "csv")
			if tc.optional {
				cfg = strings.Replace(cfg, `kind = "gp"`, "kind = \"gp\"\nrequired = false", 1)
			}
			_, err := LoadAll(context.Background(), openDB(t), parseConfig(t, dir, cfg), Options{Today: today})
			checkLoadError(t, err, tc.is, tc.parts)
			if err != nil && strings.Contains(err.Error(), "SMITH") {
				t.Errorf("a patient value in the error: %q", err)
			}
		})
	}
}

// Typed Parquet columns are read by their type: a DATE in the source's
// date_format, a whole number held as DOUBLE or DECIMAL with its digits.
// A configured column with no single value is a clear error.
func TestParquetTypedColumns(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t)
	ctx := context.Background()
	pq := filepath.Join(dir, "gp.parquet")
	if _, err := db.ExecContext(ctx, `COPY (SELECT * FROM (VALUES
		(1::BIGINT, 4010232137::DOUBLE, 'SMITH', DATE '1970-02-01', {'a': 1}),
		(2::BIGINT, 4000000632::DECIMAL(10,0), 'JONES', DATE '1971-03-04', {'a': 2}),
		(3::BIGINT, NULL, 'LEE', NULL, NULL)) v(Id, Nhs, Surname, Dob, Blob)) TO '`+pq+`' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(oneSource, "EXT", "parquet")
	res, err := LoadAll(ctx, db, parseConfig(t, dir, cfg), Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	got := query(t, db, `SELECT local_id || ':' || coalesce(nhs_number, '-') || ':' || coalesce(strftime(date_of_birth, '%Y-%m-%d'), '-') FROM records ORDER BY line`)
	want := []string{"1:4010232137:1970-02-01", "2:4000000632:1971-03-04", "3:-:-"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("records %q, want %q", got, want)
	}
	if n := query(t, db, "SELECT count(*)::VARCHAR FROM exceptions"); n[0] != "0" || res[0].Loaded != 3 {
		t.Errorf("exceptions %s, loaded %d", n[0], res[0].Loaded)
	}
	_, err = LoadAll(ctx, openDB(t), parseConfig(t, dir, strings.Replace(cfg, `family_name = "Surname"`, `family_name = "Blob"`, 1)), Options{Today: today})
	if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), `field family_name (column "Blob")`) || !strings.Contains(err.Error(), "STRUCT") {
		t.Errorf("a STRUCT column configured: %v", err)
	}
}
