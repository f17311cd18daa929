package extract

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/internal/cp1252"
	"github.com/selondon/carematch/store"
)

var today = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func openDB(t *testing.T, extras ...string) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "test.duckdb"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateSchema(context.Background(), extras); err != nil {
		t.Fatal(err)
	}
	return db
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func parseConfig(t *testing.T, dir, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(text), filepath.Join(dir, "carematch.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const emisHeader = "PatientGuid,NhsNumber,NHSNumberStatus,Title,GivenName,Surname,DateOfBirth,Sex,NumberAndStreet,Town,Postcode,SpineSensitive,Deleted"

const loadConfig = `
[[source]]
id = "gp"
kind = "gp"
path = "gp.csv"
  [source.columns]
  local_id = "PatientGuid"
  nhs_number = "NhsNumber"
  nhs_number_status = "NHSNumberStatus"
  title = "Title"
  given_name = "GivenName"
  family_name = "Surname"
  date_of_birth = "DateOfBirth"
  sex = "Sex"
  address = ["NumberAndStreet", "Town"]
  postcode = "Postcode"
  sensitive = "SpineSensitive"
  deleted = "Deleted"

[[source]]
id = "asc"
kind = "social_care"
path = "asc.txt"
delimiter = "\\t"
encoding = "windows-1252"
date_format = "%d/%m/%Y"
  [source.columns]
  local_id = "PERSON_ID"
  nhs_number = "NHS_ID"
  given_name = "FIRST_NAME"
  family_name = "LAST_NAME"
  date_of_birth = "DATE_OF_BIRTH"
  sex = "GENDER"
  consent = "CONSENT"
  [source.columns.extra]
  ref = "REF"

[[source]]
id = "ooh"
kind = "out_of_hours"
path = "ooh.jsonl"
date_format = "%d/%m/%Y"
  [source.columns]
  local_id = "CaseRef"
  nhs_number = "NHSNumber"
  given_name = "Forename"
  family_name = "Surname"
  date_of_birth = "DOB"

[[source]]
id = "pq"
kind = "hospital"
path = "pq.parquet"
  [source.columns]
  local_id = "PERSON_ID"
  nhs_number = "NHS_NBR_IDENT"
  date_of_birth = "BIRTH_DT"
`

func TestLoadAllFormats(t *testing.T) {
	dir := t.TempDir()
	gp := "\xef\xbb\xbf" + emisHeader + "\r\n" +
		"g1,943 476 5919,01,,Mrs Zoë,O'Brien,1975-03-04,F,1 High St,Lewisham,se136xy,N,N\r\n" + // test-range number
		"g2,4010232137,01,Mr,John,Smith-Jones,1980-02-31,M,2 High St,Lewisham,ZZ99 3VZ,Y,N\r\n" + // impossible date
		"g3,9.43477E+09,02,,Ann,Lee,2090-01-01,Q,,,NOTAPC,maybe,N\r\n" + // spreadsheet, future, bad sex, bad pc, bad flag
		"g4,4000000632,01,,Bob,Lee,1950-01-01,M,,,,N,Y\r\n" + // deleted
		"g4,4000000632,01,,Bob,Lee,1950-01-01,M,,,,N,N\r\n" + // duplicate local id
		",4000000632,01,,Bob,Lee,1950-01-01,M,,,,N,N\r\n" + // missing local id
		"g5,1,2\r\n" + // wrong field count
		"g6,\"unterminated,x,,a,b,1950-01-01,M,,,,N,N\r\n" + // bad quoting, at the end of the file
		"g7,,,,Cy,Moss,1950-01-01,M,,,,N,N\r\n"
	writeFile(t, dir, "gp.csv", []byte(gp))
	asc := "PERSON_ID\tNHS_ID\tFIRST_NAME\tLAST_NAME\tDATE_OF_BIRTH\tGENDER\tCONSENT\tREF\n" +
		"a1\t4010232137\tRenée\tDupont\t4/3/1975\tFemale\tY\tR1\n" +
		"a2\t\tJosé\tGarcía\t04/03/1975\t2\t\tR2\n"
	writeFile(t, dir, "asc.txt", cp1252.Encode(asc))
	ooh := `{"CaseRef":"c1","NHSNumber":4010232137,"Forename":"Jim","Surname":"Bo","DOB":"01/02/2003"}` + "\n" +
		"not json\n" +
		`{"CaseRef":"c2","NHSNumber":null,"Forename":"Al","Surname":"Bo","DOB":"01/02/2003"}` + "\n"
	writeFile(t, dir, "ooh.jsonl", []byte(ooh))
	db := openDB(t, "ref")
	ctx := context.Background()
	pq := filepath.Join(dir, "pq.parquet")
	if _, err := db.ExecContext(ctx, `COPY (SELECT * FROM (VALUES ('p1', '4010232137', DATE '1975-03-04'), ('p2', NULL, NULL)) v(PERSON_ID, NHS_NBR_IDENT, BIRTH_DT)) TO '`+pq+`' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, dir, loadConfig)
	res, err := LoadAll(ctx, db, cfg, Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	// DuckDB loads on one thread (loadThreads), then works on the two
	// openDB gave it again.
	if n, err := db.Threads(ctx); err != nil || n != 2 {
		t.Errorf("threads %d (%v) after loading, want the 2 before", n, err)
	}
	want := map[string][3]int64{"gp": {9, 5, 4}, "asc": {2, 2, 0}, "ooh": {3, 2, 1}, "pq": {2, 2, 0}}
	for _, r := range res {
		got := [3]int64{r.Read, r.Loaded, r.Rejected}
		if got != want[r.ID] {
			t.Errorf("%s: read/loaded/rejected %v, want %v", r.ID, got, want[r.ID])
		}
		if len(r.Files) != 1 || len(r.Files[0].SHA256) != 64 || r.Files[0].Bytes == 0 {
			t.Errorf("%s: files %+v", r.ID, r.Files)
		}
	}

	// Every row read is loaded or rejected, in the database too.
	var loaded, rejected int64
	db.QueryRowContext(ctx, "SELECT count(*) FROM records").Scan(&loaded)
	db.QueryRowContext(ctx, "SELECT count(*) FROM exceptions WHERE kind = 'rejected_rows'").Scan(&rejected)
	if loaded != 11 || rejected != 5 {
		t.Errorf("records %d rejected %d", loaded, rejected)
	}

	exc := query(t, db, "SELECT source_id || ':' || line || ':' || coalesce(field,'') || ':' || reason FROM exceptions ORDER BY source_id, line, field")
	for _, w := range []string{
		"gp:2:nhs_number:test range",
		"gp:3:date_of_birth:impossible date",
		"gp:4:nhs_number:spreadsheet notation",
		"gp:4:date_of_birth:date in the future",
		"gp:4:sex:unrecognised sex code",
		"gp:4:postcode:not a valid UK postcode",
		"gp:4:sensitive:not a yes/no value",
		"gp:6:local_id:duplicate local_id within the extract (first at line 5)",
		"gp:7:local_id:missing local_id",
		"gp:8::wrong field count: 3 fields, the header has 13",
		"gp:9::bad quoting",
		"ooh:2::not one JSON object",
	} {
		found := false
		for _, e := range exc {
			if strings.HasPrefix(e, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no exception %q in\n%s", w, strings.Join(exc, "\n"))
		}
	}

	rows := query(t, db, `SELECT source_id||':'||local_id||':'||line||':'||coalesce(nhs_number,'-')||':'||nhs_verified||':'||coalesce(title,'-')||':'||
		coalesce(given_name,'-')||':'||coalesce(family_name,'-')||':'||coalesce(strftime(date_of_birth,'%Y-%m-%d'),'-')||':'||coalesce(sex,'-')||':'||
		coalesce(postcode,'-')||':'||coalesce(postcode_kind,'-')||':'||sensitive||':'||coalesce(consent::VARCHAR,'-')||':'||deleted||':'||coalesce(extra_ref,'-')
		FROM records ORDER BY source_id, line`)
	wantRows := []string{
		"asc:a1:2:4010232137:false:-:RENEE:DUPONT:1975-03-04:female:-:-:false:true:false:R1",
		"asc:a2:3:-:false:-:JOSE:GARCIA:1975-03-04:female:-:-:false:-:false:R2",
		"gp:g1:2:-:false:MRS:ZOE:OBRIEN:1975-03-04:female:SE13 6XY:standard:false:-:false:-",
		"gp:g2:3:4010232137:true:MR:JOHN:SMITH-JONES:-:male:ZZ99 3VZ:pseudo:true:-:false:-",
		"gp:g3:4:-:false:-:ANN:LEE:-:unknown:-:invalid:false:-:false:-",
		"gp:g4:5:4000000632:true:-:BOB:LEE:1950-01-01:male:-:-:false:-:true:-",
		"gp:g7:10:-:false:-:CY:MOSS:1950-01-01:male:-:-:false:-:false:-",
		"ooh:c1:1:4010232137:false:-:JIM:BO:2003-02-01:-:-:-:false:-:false:-",
		"ooh:c2:3:-:false:-:AL:BO:2003-02-01:-:-:-:false:-:false:-",
		"pq:p1:1:4010232137:false:-:-:-:1975-03-04:-:-:-:false:-:false:-",
		"pq:p2:2:-:false:-:-:-:-:-:-:-:false:-:false:-",
	}
	if strings.Join(rows, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
	}
}

// checkLoadError checks a load's error: none when is is nil, else one that
// wraps is and says every part.
func checkLoadError(t *testing.T, err, is error, parts []string) {
	t.Helper()
	if is == nil {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if !errors.Is(err, is) {
		t.Fatalf("error %v, want %v", err, is)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func query(t *testing.T, db *store.DB, q string) []string {
	t.Helper()
	rs, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestLoadFatalErrors(t *testing.T) {
	one := `
[[source]]
id = "gp"
kind = "gp"
path = "gp.csv"
  [source.columns]
  local_id = "PatientGuid"
  nhs_number = "NhsNumber"
`
	tests := []struct {
		name  string
		file  []byte // nil: no file
		mode  os.FileMode
		cfg   string
		is    error
		parts []string
	}{
		{"missing source", nil, 0, one, ErrMissingSource, []string{"load gp: ", "gp.csv", "no file matches"}},
		{"empty file", []byte{}, 0o644, one, ErrEmptyFile, []string{"load gp: ", "gp.csv", "no rows: 0 bytes"}},
		{"header only", []byte("PatientGuid,NhsNumber\n"), 0o644, one, ErrEmptyFile, []string{"gp.csv", "a header and no rows"}},
		{"missing column", []byte("PatientGuid,NHSNumber\nx,1\n"), 0o644, one, ErrMissingColumn, []string{"gp.csv: line 1: field nhs_number (column \"NhsNumber\")", "matched exactly"}},
		{"unreadable", []byte("PatientGuid,NhsNumber\nx,1\n"), 0o000, one, ErrUnreadable, []string{"gp.csv", "cannot be read: permission denied"}},
		{"a directory", []byte("dir"), 0, one, ErrUnreadable, []string{"gp.csv", "cannot be read: it is a directory"}},
		{"optional missing is fine", nil, 0, strings.Replace(one, `kind = "gp"`, "kind = \"gp\"\nrequired = false", 1), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mode == 0o000 && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			dir := t.TempDir()
			if string(tt.file) == "dir" {
				os.Mkdir(filepath.Join(dir, "gp.csv"), 0o755)
			} else if tt.file != nil {
				writeFile(t, dir, "gp.csv", tt.file)
				os.Chmod(filepath.Join(dir, "gp.csv"), tt.mode)
			}
			_, err := LoadAll(context.Background(), openDB(t), parseConfig(t, dir, tt.cfg), Options{Today: today})
			checkLoadError(t, err, tt.is, tt.parts)
		})
	}
}

// TestSourceBytes: a source's extract is every file its path names — a glob
// counts each file it matches, a missing file or a bad pattern nothing.
func TestSourceBytes(t *testing.T) {
	dir := t.TempDir()
	for name, n := range map[string]int{"gp_1.csv": 100, "gp_2.csv": 23, "other.txt": 7} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Repeat("x", n)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for path, want := range map[string]int64{
		"gp_1.csv": 100, "gp_*.csv": 123, "*": 130, "missing.csv": 0, "[": 0,
	} {
		if got := SourceBytes(&config.Source{Path: filepath.Join(dir, path)}); got != want {
			t.Errorf("SourceBytes(%s) = %d, want %d", path, got, want)
		}
	}
}
