package portal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/selondon/carematch/store"
)

// patients.ndjson is encoded by several goroutines in batches; the file must
// hold every person once, in master_id order, byte for byte the same with
// one CPU or many. It is written behind (store.WriteBehind), and is big
// enough for that to start: more than two chunks of 32 MiB.
func TestWritePatientsOrderAndContent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n = 90000 // forty-five batches
	db := patientsTables(t, dir, n)
	write := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		path := filepath.Join(dir, fmt.Sprintf("patients-%d.ndjson", procs))
		if lines, err := writePatients(ctx, db, path); err != nil || lines != n+1 {
			t.Fatalf("%d lines (%v), want %d: a Patient a person and one for the ID person 42 replaced", lines, err, n+1)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one, many := write(1), write(4)
	if !bytes.Equal(one, many) {
		t.Fatal("patients.ndjson differs between one CPU and four")
	}
	if len(many) <= 64<<20 {
		t.Fatalf("patients.ndjson of %d bytes: too small to be written behind", len(many))
	}
	sc := bufio.NewScanner(bytes.NewReader(many))
	i := 0
	for ; sc.Scan(); i++ {
		if i == 43 { // the Patient of the ID person 42 replaced, right after it
			var old struct {
				ID     string
				Active *bool
				Link   []struct {
					Type  string
					Other struct{ Reference string }
				}
			}
			if err := json.Unmarshal(sc.Bytes(), &old); err != nil || old.ID != "CM0000000099" || old.Active == nil || *old.Active ||
				len(old.Link) != 1 || old.Link[0].Type != "replaced-by" || old.Link[0].Other.Reference != "Patient/CM0000000042" {
				t.Fatalf("line 44: %v %s", err, sc.Bytes())
			}
			sc.Scan()
		}
		var p struct {
			ID         string `json:"id"`
			Identifier []struct{ System, Value string }
			Link       []struct {
				Type  string
				Other struct{ Identifier struct{ Value string } }
			}
			DeceasedBoolean *bool
			Meta            struct {
				LastUpdated string
				Security    []struct{ Code string }
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if want := fmt.Sprintf("CM%010d", i); p.ID != want || (p.Meta.LastUpdated != "2026-12-01T02:15:00Z") || (len(p.Meta.Security) == 1) != (i == 5) {
			t.Fatalf("line %d: id %s, want %s", i+1, p.ID, want)
		}
		// Every value from its own row, whatever batch it came in.
		if local := p.Identifier[len(p.Identifier)-1]; i != 42 && (local.Value != "L"+p.ID || local.System != fmt.Sprintf(SystemLocalIDFmt, "gp")) {
			t.Fatalf("line %d: local identifier %+v", i+1, local)
		}
		switch i {
		case 42:
			if len(p.Identifier) != 3 || len(p.Link) != 1 || p.Link[0].Type != "replaces" || p.Link[0].Other.Identifier.Value != "CM0000000099" {
				t.Errorf("person 42: %+v", p)
			}
		case 7:
			if p.DeceasedBoolean == nil || !*p.DeceasedBoolean {
				t.Errorf("person 7 is deceased: %+v", p)
			}
		}
	}
	if i != n {
		t.Errorf("%d lines, want %d", i, n)
	}
}

// patientsTables makes the two tables writePatients reads, n persons in a
// database file in dir, closed when the test ends.
func patientsTables(t *testing.T, dir string, n int) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "t.duckdb"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(context.Background(), fmt.Sprintf(`
		CREATE TABLE portal_persons AS
		SELECT 'CM' || lpad(i::VARCHAR, 10, '0') AS master_id,
			CASE WHEN i %% 3 = 0 THEN NULL ELSE '9434765919' END AS nhs_number, i %% 2 = 0 AS nhs_number_verified,
			'Given' || i AS given_name, 'Family' AS family_name, DATE '1970-01-01' + i::INTEGER AS date_of_birth,
			CASE WHEN i %% 2 = 0 THEN 'female' ELSE 'unknown' END AS sex,
			'1 High Street, London' AS address, 'SE13 6XY' AS postcode, i = 7 AS deceased, NULL::DATE AS date_of_death,
			CASE WHEN i = 42 THEN ['gp' || chr(31) || 'L' || master_id, 'lgt' || chr(31) || 'M' || master_id]
			     ELSE ['gp' || chr(31) || 'L' || master_id] END AS locals,
			CASE WHEN i = 42 THEN ['CM0000000099'] ELSE [] END::VARCHAR[] AS replaced, i = 5 AS restricted
		FROM range(%d) t(i) ORDER BY master_id;
		CREATE TABLE portal_prints AS SELECT master_id, TIMESTAMP '2026-12-01 02:15:00' AS last_updated FROM portal_persons;`, n)); err != nil {
		t.Fatal(err)
	}
	return db
}

// A write that fails — a full disk — fails the step, naming the file; the
// writer's goroutine does not leave the query waiting on it.
func TestWritePatientsReportsAFailedWrite(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	db := patientsTables(t, t.TempDir(), 20000)
	done := make(chan error, 1)
	go func() {
		_, err := writePatients(context.Background(), db, "/dev/full")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "patients.ndjson") || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("got %v, want patients.ndjson and the disk's error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("writePatients still running a minute after its writes began to fail")
	}
}
