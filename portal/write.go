package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
// batch of persons DuckDB hands over is split among one goroutine per CPU;
// their parts are handed, in order, to a goroutine of their own that writes
// them while the next batch is fetched and encoded (a batch lives only until
// its parts are made; the parts are copies). The file is the same whatever
// the number of CPUs.
//
// Writing overlaps the rest because at two million records it was more than
// half the step: 1.19 GB of Patients took 3.4 s of write calls, most of it
// the kernel filling the page cache, against 2.4 s for DuckDB's side of the
// query and 1.2 s of encoding (docs/BENCHMARKS.md, the fourteenth session).
// The file is written behind (store.WriteBehind): at ten million records
// its 5.9 GB in the page cache kept the writer in the kernel for most of
// the step, which took 12.7–24.9 s in three nights; written behind,
// 10.0–15.0 s in nine.
func writePatients(ctx context.Context, db *store.DB, path string) (int64, error) {
	f, err := store.CreateWriteBehind(path, 0o640)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	out := newPartsWriter(f, runtime.GOMAXPROCS(0))
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
		parts, err := out.next()
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		for p := range parts {
			from, to := n*p/len(parts), n*(p+1)/len(parts)
			wg.Go(func() {
				buf := parts[p][:0]
				for i := from; i < to; i++ {
					buf = cols.appendPatient(buf, i)
				}
				parts[p] = buf
			})
		}
		wg.Wait()
		out.write(parts)
		return nil
	})
	lines, werr := out.close()
	if err == nil {
		err = werr
	}
	if err != nil {
		return 0, fmt.Errorf("patients.ndjson: %w", err)
	}
	return lines, nil
}

// partsWriter writes sets of encoded parts to a file, in the order they are
// given, on a goroutine of its own, counting the lines. Two sets of buffers
// go round: one being filled while the other is written. With two sets and
// room for one in full, write never blocks on a writer that has stopped:
// the set it was writing is never handed back, so at most one other can be
// waiting in full.
type partsWriter struct {
	free  chan [][]byte // sets written, to be filled again
	full  chan [][]byte // sets filled, to be written
	done  chan struct{} // closed when the writer has stopped
	lines int64         // read only after done
	err   error         // the first write error; read only after done
}

func newPartsWriter(f io.Writer, parts int) *partsWriter {
	w := &partsWriter{free: make(chan [][]byte, 2), full: make(chan [][]byte, 1), done: make(chan struct{})}
	for range 2 {
		w.free <- make([][]byte, parts)
	}
	go func() {
		defer close(w.done)
		for set := range w.full {
			for _, part := range set {
				w.lines += int64(bytes.Count(part, []byte{'\n'}))
				if _, w.err = f.Write(part); w.err != nil {
					return // next sees done and reports the error
				}
			}
			w.free <- set
		}
	}()
	return w
}

// next returns a set of buffers to fill, or the write error that stopped the
// writer.
func (w *partsWriter) next() ([][]byte, error) {
	select {
	case set := <-w.free:
		return set, nil
	case <-w.done:
		return nil, w.err
	}
}

// write hands a filled set to the writer.
func (w *partsWriter) write(set [][]byte) { w.full <- set }

// close waits for every set handed over to be written and returns the lines
// written and the first write error.
func (w *partsWriter) close() (int64, error) {
	close(w.full)
	<-w.done
	return w.lines, w.err
}
