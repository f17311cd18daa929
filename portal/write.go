package portal

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/selondon/carematch/mpi"
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
			return db.CopyParquetAndCSV(ctx, q, filepath.Join(dir, name+".parquet"), filepath.Join(dir, name+".csv"))
		}}
	}
	return db.RunSteps(ctx, "portal",
		files("master_index", `SELECT * FROM portal_persons ORDER BY master_id`),
		// rid is the order of (source_id, local_id): one integer to sort by.
		files("xref", `SELECT master_id, source_id, local_id, link_method, match_weight FROM portal_xref ORDER BY master_id, rid`),
		store.Step{Name: "patients", Go: func(ctx context.Context) error {
			return writePatients(ctx, db, filepath.Join(dir, "patients.ndjson"))
		}})
}

// patientsQuery reads each person with its records' local IDs (source ID,
// localSep, local ID, sorted) and the IDs it replaced, in master_id order.
// Its columns are those of patientCols, in order.
const patientsQuery = `
		WITH loc AS (SELECT master_id, list_sort(list(source_id || chr(31) || local_id)) AS locals FROM portal_xref GROUP BY master_id),
		     rep AS (SELECT other_id AS master_id, list_sort(list(master_id)) AS replaced FROM history WHERE event = '` + mpi.EventMergedInto + `' GROUP BY other_id)
		SELECT p.master_id, p.nhs_number, p.nhs_number_verified, p.given_name, p.family_name, p.date_of_birth, p.sex,
			p.address, p.postcode, p.deceased, p.date_of_death,
			coalesce(loc.locals, []), coalesce(rep.replaced, [])::VARCHAR[]
		FROM portal_persons p LEFT JOIN loc USING (master_id) LEFT JOIN rep USING (master_id) ORDER BY p.master_id`

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
