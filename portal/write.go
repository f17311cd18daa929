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
	"sync"
	"time"

	"github.com/selondon/carematch/store"
)

// WriteOptions tell Write about the night.
type WriteOptions struct {
	RunID string
	// TransactionTime is when the night began: the data are as of then
	// (the Bulk Data manifest's transactionTime).
	TransactionTime time.Time
}

// Write writes portal/ from the tables Build made — the
// only tables it reads: master_index and xref as Parquet and CSV,
// patients.ndjson (one FHIR R4 Patient per person, and an inactive one per
// master ID a person replaced), and manifest.json, a FHIR Bulk Data export
// manifest of the Patient file.
func Write(ctx context.Context, db *store.DB, dir string, opt WriteOptions) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	files := func(name, q string) store.Step {
		return store.Step{Name: name + " files", Go: func(ctx context.Context) error {
			return db.CopyScanParquetAndCSV(ctx, q, filepath.Join(dir, name+".parquet"), filepath.Join(dir, name+".csv"))
		}}
	}
	// Build made both tables in the files' order: they are scanned as they are.
	return db.RunSteps(ctx, "portal",
		files("master_index", `SELECT * EXCLUDE (locals, replaced) FROM portal_persons`),
		files("xref", `SELECT * FROM portal_xref`),
		store.Step{Name: "patients", Go: func(ctx context.Context) error {
			n, err := writePatients(ctx, db, filepath.Join(dir, "patients.ndjson"))
			if err != nil {
				return err
			}
			return writeBulkManifest(filepath.Join(dir, "manifest.json"), opt, n)
		}})
}

// bulkManifest is a FHIR Bulk Data export's manifest
// (https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status),
// for a portal that loads portal/ as it would a bulk export. The file's url
// is relative to the manifest: the portal reads the folder, not a server.
type bulkManifest struct {
	TransactionTime     string       `json:"transactionTime"`
	Request             string       `json:"request"`
	RequiresAccessToken bool         `json:"requiresAccessToken"`
	Output              []bulkOutput `json:"output"`
	Error               []bulkOutput `json:"error"`
	Extension           bulkExt      `json:"extension"`
}

type bulkOutput struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int64  `json:"count"`
}

type bulkExt struct {
	RunID         string `json:"carematch_run_id"`
	SchemaVersion string `json:"carematch_schema_version"`
}

func writeBulkManifest(path string, opt WriteOptions, patients int64) error {
	m := bulkManifest{TransactionTime: opt.TransactionTime.UTC().Format(time.RFC3339), Request: "carematch run " + opt.RunID,
		Output: []bulkOutput{{Type: "Patient", URL: "patients.ndjson", Count: patients}}, Error: []bulkOutput{},
		Extension: bulkExt{RunID: opt.RunID, SchemaVersion: store.FilesSchemaVersion}}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o640)
}

// patientsQuery reads each person with its records' local IDs (source ID,
// localSep, local ID, sorted), the IDs it replaced, whether it is
// restricted and when its content last changed, in master_id order. Its
// columns are those of patientCols, in order.
//
// portal_prints is made from portal_persons in the same order, row for row,
// so the two are read side by side (a positional join: at two million
// records a join on master_id and the sort after it cost 2 s); every row's
// two master IDs are compared as the Patients are written.
const patientsQuery = `
		SELECT p.master_id, nhs_number, nhs_number_verified, given_name, family_name, date_of_birth, sex,
			address, postcode, deceased, date_of_death, locals, replaced, restricted,
			strftime(q.last_updated, '%Y-%m-%dT%H:%M:%SZ') AS last_updated, q.master_id AS prints_id
		FROM portal_persons p POSITIONAL JOIN portal_prints q`

// writePatients writes one FHIR Patient per line, in master_id order. Each
// batch of persons DuckDB hands over is split among one goroutine per CPU,
// and their parts are written in order before the next batch is fetched (a
// batch lives only until then): the file is the same whatever the number of
// CPUs.
func writePatients(ctx context.Context, db *store.DB, path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return 0, err
	}
	var lines int64
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	parts := make([][]byte, runtime.GOMAXPROCS(0))
	err = db.QueryBatches(ctx, patientsQuery, func(b store.Batch) error {
		cols, err := columnsOf(b)
		if err != nil {
			return err
		}
		n := b.Len()
		for i := range n {
			if cols.id.Value(i) != cols.printsID.Value(i) {
				return fmt.Errorf("portal_prints is out of step with portal_persons at %s", cols.id.Value(i))
			}
		}
		var wg sync.WaitGroup
		for p := range parts {
			from, to := n*p/len(parts), n*(p+1)/len(parts)
			wg.Go(func() {
				out := parts[p][:0]
				for i := from; i < to; i++ {
					out = cols.appendPatient(out, i)
				}
				parts[p] = out
			})
		}
		wg.Wait()
		for _, part := range parts {
			lines += int64(bytes.Count(part, []byte{'\n'}))
			if _, err := w.Write(part); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("patients.ndjson: %w", err)
	}
	return lines, w.Flush()
}
