package portal

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/selondon/carematch/store"
)

// Write writes portal/ from the tables Build made — the
// only tables it reads: master_index and xref as Parquet and CSV, and
// patients.ndjson, one FHIR R4 Patient per person.
func Write(ctx context.Context, db *store.DB, dir string) error {
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
			return writePatients(ctx, db, filepath.Join(dir, "patients.ndjson"))
		}})
}

// patientsQuery reads each person with its records' local IDs (source ID,
// localSep, local ID, sorted) and the IDs it replaced, in master_id order
// (portal_persons' own). Its columns are those of patientCols, in order.
const patientsQuery = `
		SELECT master_id, nhs_number, nhs_number_verified, given_name, family_name, date_of_birth, sex,
			address, postcode, deceased, date_of_death, locals, replaced
		FROM portal_persons`

// writePatients writes one FHIR Patient per line, in master_id order. Each
// batch of persons DuckDB hands over is split among one goroutine per CPU,
// and their parts are written in order before the next batch is fetched (a
// batch lives only until then): the file is the same whatever the number of
// CPUs.
func writePatients(ctx context.Context, db *store.DB, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	parts := make([][]byte, runtime.GOMAXPROCS(0))
	err = db.QueryBatches(ctx, patientsQuery, func(b store.Batch) error {
		cols, err := columnsOf(b)
		if err != nil {
			return err
		}
		n := b.Len()
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
			if _, err := w.Write(part); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("patients.ndjson: %w", err)
	}
	return w.Flush()
}
