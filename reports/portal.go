package reports

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
	"strings"
	"sync"
	"time"

	"github.com/selondon/carematch/store"
	"golang.org/x/sync/errgroup"
)

// FHIR systems carematch uses.
const (
	SystemNHSNumber  = "https://fhir.nhs.uk/Id/nhs-number"
	SystemMasterID   = "https://carematch.selondon.nhs.uk/Id/master-id"
	SystemLocalIDFmt = "https://carematch.selondon.nhs.uk/Id/source/%s" // per source
	extVerification  = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
	csVerification   = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
	profileUKCore    = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
)

// WritePortal writes portal/ from the tables mpi.BuildPortal made — the
// only tables it reads: master_index and xref as Parquet and CSV, and
// patients.ndjson, one FHIR R4 Patient per person.
func WritePortal(ctx context.Context, db *store.DB, dir string) error {
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

type fhirCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type fhirExtension struct {
	URL                  string `json:"url"`
	ValueCodeableConcept struct {
		Coding []fhirCoding `json:"coding"`
	} `json:"valueCodeableConcept"`
}

type fhirIdentifier struct {
	Extension []fhirExtension `json:"extension,omitempty"`
	System    string          `json:"system"`
	Value     string          `json:"value"`
}

type fhirPatient struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Profile []string `json:"profile"`
	} `json:"meta"`
	Identifier []fhirIdentifier `json:"identifier"`
	Name       []struct {
		Use    string   `json:"use"`
		Family string   `json:"family,omitempty"`
		Given  []string `json:"given,omitempty"`
	} `json:"name,omitempty"`
	Gender          string `json:"gender,omitempty"`
	BirthDate       string `json:"birthDate,omitempty"`
	DeceasedBoolean *bool  `json:"deceasedBoolean,omitempty"`
	DeceasedDate    string `json:"deceasedDateTime,omitempty"`
	Address         []struct {
		Use        string   `json:"use"`
		Text       string   `json:"text,omitempty"`
		Line       []string `json:"line,omitempty"`
		PostalCode string   `json:"postalCode,omitempty"`
	} `json:"address,omitempty"`
	Link []fhirLink `json:"link,omitempty"`
}

type fhirLink struct {
	Other struct {
		Identifier fhirIdentifier `json:"identifier"`
	} `json:"other"`
	Type string `json:"type"`
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
		WITH loc AS (SELECT master_id, list(source_id || chr(31) || local_id ORDER BY source_id, local_id) AS locals FROM portal_xref GROUP BY master_id),
		     rep AS (SELECT other_id AS master_id, list(master_id ORDER BY master_id) AS replaced FROM history WHERE event = 'merged_into' GROUP BY other_id)
		SELECT p.master_id, p.nhs_number, p.nhs_number_verified, p.given_name, p.family_name, p.date_of_birth, p.sex,
			p.address, p.postcode, p.deceased, p.date_of_death,
			coalesce(loc.locals, [])::VARCHAR[], coalesce(rep.replaced, [])::VARCHAR[]
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

// patient is the person as a FHIR R4 Patient (UK Core).
func (r *patientRow) patient() fhirPatient {
	p := fhirPatient{ResourceType: "Patient", ID: r.id}
	p.Meta.Profile = []string{profileUKCore}
	if r.nhs.Valid {
		ident := fhirIdentifier{System: SystemNHSNumber, Value: r.nhs.String}
		ext := fhirExtension{URL: extVerification}
		code := fhirCoding{System: csVerification, Code: "02", Display: "Number present but not traced"}
		if r.verified {
			code = fhirCoding{System: csVerification, Code: "01", Display: "Number present and verified"}
		}
		ext.ValueCodeableConcept.Coding = []fhirCoding{code}
		ident.Extension = []fhirExtension{ext}
		p.Identifier = append(p.Identifier, ident)
	}
	p.Identifier = append(p.Identifier, fhirIdentifier{System: SystemMasterID, Value: r.id})
	for _, l := range r.locals {
		src, local, _ := strings.Cut(fmt.Sprint(l), "\x1f")
		p.Identifier = append(p.Identifier, fhirIdentifier{System: fmt.Sprintf(SystemLocalIDFmt, src), Value: local})
	}
	if r.given.Valid || r.family.Valid {
		n := struct {
			Use    string   `json:"use"`
			Family string   `json:"family,omitempty"`
			Given  []string `json:"given,omitempty"`
		}{Use: "official", Family: r.family.String}
		if r.given.Valid {
			n.Given = []string{r.given.String}
		}
		p.Name = append(p.Name, n)
	}
	switch r.sex.String {
	case "male", "female", "other", "unknown":
		p.Gender = r.sex.String
	}
	if r.dob.Valid {
		p.BirthDate = r.dob.Time.Format(time.DateOnly)
	}
	if r.dod.Valid {
		p.DeceasedDate = r.dod.Time.Format(time.DateOnly)
	} else if r.deceased {
		t := true
		p.DeceasedBoolean = &t
	}
	if r.address.Valid || r.postcode.Valid {
		a := struct {
			Use        string   `json:"use"`
			Text       string   `json:"text,omitempty"`
			Line       []string `json:"line,omitempty"`
			PostalCode string   `json:"postalCode,omitempty"`
		}{Use: "home", Text: r.address.String, PostalCode: r.postcode.String}
		if r.address.Valid {
			a.Line = strings.Split(r.address.String, ", ")
		}
		p.Address = append(p.Address, a)
	}
	for _, x := range r.replaced {
		var l fhirLink
		l.Type = "replaces"
		l.Other.Identifier = fhirIdentifier{System: SystemMasterID, Value: fmt.Sprint(x)}
		p.Link = append(p.Link, l)
	}
	return p
}
