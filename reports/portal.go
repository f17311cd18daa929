package reports

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/selondon/carematch/store"
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
	enc := json.NewEncoder(w)
	for rows.Next() {
		var id string
		var nhs, given, family, sex, address, postcode sql.NullString
		var verified, deceased bool
		var dob, dod sql.NullTime
		var locals, replaced []any
		if err := rows.Scan(&id, &nhs, &verified, &given, &family, &dob, &sex, &address, &postcode, &deceased, &dod, &locals, &replaced); err != nil {
			return fmt.Errorf("patients.ndjson: %w", err)
		}
		p := fhirPatient{ResourceType: "Patient", ID: id}
		p.Meta.Profile = []string{profileUKCore}
		if nhs.Valid {
			ident := fhirIdentifier{System: SystemNHSNumber, Value: nhs.String}
			ext := fhirExtension{URL: extVerification}
			code := fhirCoding{System: csVerification, Code: "02", Display: "Number present but not traced"}
			if verified {
				code = fhirCoding{System: csVerification, Code: "01", Display: "Number present and verified"}
			}
			ext.ValueCodeableConcept.Coding = []fhirCoding{code}
			ident.Extension = []fhirExtension{ext}
			p.Identifier = append(p.Identifier, ident)
		}
		p.Identifier = append(p.Identifier, fhirIdentifier{System: SystemMasterID, Value: id})
		for _, l := range locals {
			src, local, _ := strings.Cut(fmt.Sprint(l), "\x1f")
			p.Identifier = append(p.Identifier, fhirIdentifier{System: fmt.Sprintf(SystemLocalIDFmt, src), Value: local})
		}
		if given.Valid || family.Valid {
			n := struct {
				Use    string   `json:"use"`
				Family string   `json:"family,omitempty"`
				Given  []string `json:"given,omitempty"`
			}{Use: "official", Family: family.String}
			if given.Valid {
				n.Given = []string{given.String}
			}
			p.Name = append(p.Name, n)
		}
		switch sex.String {
		case "male", "female", "other", "unknown":
			p.Gender = sex.String
		}
		if dob.Valid {
			p.BirthDate = dob.Time.Format(time.DateOnly)
		}
		if dod.Valid {
			p.DeceasedDate = dod.Time.Format(time.DateOnly)
		} else if deceased {
			t := true
			p.DeceasedBoolean = &t
		}
		if address.Valid || postcode.Valid {
			a := struct {
				Use        string   `json:"use"`
				Text       string   `json:"text,omitempty"`
				Line       []string `json:"line,omitempty"`
				PostalCode string   `json:"postalCode,omitempty"`
			}{Use: "home", Text: address.String, PostalCode: postcode.String}
			if address.Valid {
				a.Line = strings.Split(address.String, ", ")
			}
			p.Address = append(p.Address, a)
		}
		for _, r := range replaced {
			var l fhirLink
			l.Type = "replaces"
			l.Other.Identifier = fhirIdentifier{System: SystemMasterID, Value: fmt.Sprint(r)}
			p.Link = append(p.Link, l)
		}
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.Flush()
}
