package portal

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/selondon/carematch/mpi"
	"github.com/selondon/carematch/store"
	"golang.org/x/sync/errgroup"
)

// Write writes portal/ from the tables Build made — the
// only tables it reads: master_index and xref as Parquet and CSV, and
// patients.ndjson, one FHIR R4 Patient per person.
func Write(ctx context.Context, db *store.DB, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	for name, q := range map[string]string{
		"master_index": `SELECT * FROM portal_persons ORDER BY master_id`,
		"xref":         `SELECT * FROM portal_xref ORDER BY master_id, source_id, local_id`,
	} {
		if err := db.CopyParquet(ctx, q, filepath.Join(dir, name+".parquet")); err != nil {
			return err
		}
		if err := db.CopyCSV(ctx, q, filepath.Join(dir, name+".csv")); err != nil {
			return err
		}
	}
	return writePatients(ctx, db, filepath.Join(dir, "patients.ndjson"))
}

// patientRow is one person as writePatients reads it from portal_persons.
type patientRow struct {
	id                                         string
	nhs, given, family, sex, address, postcode sql.NullString
	verified, deceased                         bool
	dob, dod                                   sql.NullTime
	locals, replaced                           []any
}

// patientBatch is a run of consecutive persons, encoded by one worker.
type patientBatch struct {
	seq  int
	rows []patientRow
	out  bytes.Buffer
}

// writePatients writes one FHIR Patient per line, in master_id order. One
// goroutine reads the rows, one per CPU encodes batches of them, and the
// caller's writes them in order: the file is the same whatever the number of
// CPUs.
func writePatients(ctx context.Context, db *store.DB, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rows, err := db.QueryContext(ctx, `
		WITH loc AS (SELECT master_id, list_sort(list({'source_id': source_id, 'local_id': local_id})) AS locals FROM portal_xref GROUP BY master_id),
		     rep AS (SELECT other_id AS master_id, list_sort(list(master_id)) AS replaced FROM history WHERE event = `+store.QuoteString(mpi.EventMergedInto)+` GROUP BY other_id)
		SELECT p.master_id, p.nhs_number, p.nhs_number_verified, p.given_name, p.family_name, p.date_of_birth, p.sex,
			p.address, p.postcode, p.deceased, p.date_of_death,
			coalesce(loc.locals, []), coalesce(rep.replaced, [])::VARCHAR[]
		FROM portal_persons p LEFT JOIN loc USING (master_id) LEFT JOIN rep USING (master_id) ORDER BY p.master_id`)
	if err != nil {
		return fmt.Errorf("patients.ndjson: %w", err)
	}
	defer rows.Close()

	const batchSize = 2048
	workers := runtime.GOMAXPROCS(0)
	g, gctx := errgroup.WithContext(ctx)
	todo := make(chan *patientBatch, workers)
	done := make(chan *patientBatch, workers)
	g.Go(func() error {
		defer close(todo)
		b := &patientBatch{}
		send := func() error {
			select {
			case todo <- b:
				b = &patientBatch{seq: b.seq + 1}
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		for rows.Next() {
			var r patientRow
			if err := rows.Scan(&r.id, &r.nhs, &r.verified, &r.given, &r.family, &r.dob, &r.sex, &r.address, &r.postcode,
				&r.deceased, &r.dod, &r.locals, &r.replaced); err != nil {
				return fmt.Errorf("patients.ndjson: %w", err)
			}
			b.rows = append(b.rows, r)
			if len(b.rows) == batchSize {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("patients.ndjson: %w", err)
		}
		if len(b.rows) > 0 {
			return send()
		}
		return nil
	})
	var encoders sync.WaitGroup
	for range workers {
		encoders.Add(1)
		g.Go(func() error {
			defer encoders.Done()
			for b := range todo {
				enc := json.NewEncoder(&b.out)
				for i := range b.rows {
					if err := enc.Encode(b.rows[i].patient()); err != nil {
						return fmt.Errorf("patients.ndjson: %w", err)
					}
				}
				b.rows = nil
				select {
				case done <- b:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
	}
	go func() { encoders.Wait(); close(done) }()
	g.Go(func() error {
		pending := map[int]*patientBatch{}
		next := 0
		for b := range done {
			pending[b.seq] = b
			for p, ok := pending[next]; ok; p, ok = pending[next] {
				if _, err := w.Write(p.out.Bytes()); err != nil {
					return err
				}
				delete(pending, next)
				next++
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return w.Flush()
}
