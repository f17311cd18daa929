package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/selondon/carematch/internal/cp1252"
)

// The portal's files, read back and checked against the raw extracts — not
// against the pipeline's own flags: no person on the opt-out list, no social
// care record without an explicit yes, no address for a restricted person,
// every patients.ndjson line a well-formed FHIR R4 Patient; and nothing in
// index/ or exceptions/ world-readable.
func TestPortalPrivacy(t *testing.T) {
	dir, cfg, _ := runFixtures20k(t)
	run := filepath.Join(cfg.Run.PublishDir, "current")
	portal := filepath.Join(run, "portal")

	// Index: which person each record belongs to.
	personOf := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(run, "index", "xref.csv")) {
		personOf[r["source_id"]+"/"+r["local_id"]] = r["master_id"]
	}
	portalPersons := map[string]map[string]string{}
	for _, r := range readCSV(t, filepath.Join(portal, "master_index.csv")) {
		portalPersons[r["master_id"]] = r
	}
	portalRecords := map[string]bool{}
	for _, r := range readCSV(t, filepath.Join(portal, "xref.csv")) {
		portalRecords[r["source_id"]+"/"+r["local_id"]] = true
		if portalPersons[r["master_id"]] == nil {
			t.Errorf("portal xref names a person not in portal master_index")
		}
	}
	if len(portalPersons) < 1000 {
		t.Fatalf("only %d persons in the portal", len(portalPersons))
	}

	// Raw extracts: opted-out numbers' records, unconsented social care,
	// restricted records.
	optedOut := map[string]bool{}
	for _, r := range readCSV(t, filepath.Join(dir, "optouts.csv")) {
		if r["nhs_number"] != "" { // a quarter of the forms carry none
			optedOut[r["nhs_number"]] = true
		}
	}
	// Every record of a person who filled in a form, number or not, is
	// kept out (optouts_truth.csv says whose each form is).
	opted := map[string]bool{}
	for _, r := range readCSV(t, filepath.Join(dir, "optouts_truth.csv")) {
		opted[r["person_id"]] = true
	}
	leaked := 0
	for _, r := range readCSV(t, filepath.Join(dir, "truth.csv")) {
		if opted[r["person_id"]] && portalRecords[r["source_id"]+"/"+r["local_id"]] {
			leaked++
		}
	}
	if len(opted) < 100 || leaked > 0 {
		t.Errorf("%d records of the %d persons who opted out are in the portal", leaked, len(opted))
	}
	var optedOutRecords, unconsented, restricted []string
	scanExtract(t, filepath.Join(dir, "gp_lewisham.csv"), ',', false, func(r map[string]string) {
		key := "gp_lewisham/" + r["PatientGuid"]
		if optedOut[r["NhsNumber"]] {
			optedOutRecords = append(optedOutRecords, key)
		}
		if r["SpineSensitive"] == "true" && r["Deleted"] != "true" {
			restricted = append(restricted, key)
		}
	})
	for _, c := range []struct {
		file   string
		delim  rune
		w1252  bool
		source string
	}{{"lewisham_asc.csv", ',', false, "lewisham_asc"}, {"greenwich_asc.csv", ';', true, "greenwich_asc"}, {"bexley_asc.csv", '\t', false, "bexley_asc"}} {
		scanExtract(t, filepath.Join(dir, c.file), c.delim, c.w1252, func(r map[string]string) {
			key := c.source + "/" + r["PERSON_ID"]
			if r["CONSENT_TO_SHARE"] != "Y" {
				unconsented = append(unconsented, key)
			}
			if optedOut[r["NHS_ID"]] {
				optedOutRecords = append(optedOutRecords, key)
			}
		})
	}
	if len(optedOutRecords) < 20 || len(unconsented) < 10 || len(restricted) < 10 {
		t.Fatalf("too few cases to test: %d opted-out records, %d unconsented, %d restricted", len(optedOutRecords), len(unconsented), len(restricted))
	}
	for _, k := range optedOutRecords {
		if id, ok := personOf[k]; ok && portalPersons[id] != nil {
			t.Errorf("record %s carries an opted-out number but its person %s is in the portal", k, id)
		}
	}
	for _, k := range unconsented {
		if portalRecords[k] {
			t.Errorf("social care record %s without consent is in the portal", k)
		}
	}
	for _, k := range restricted {
		id, ok := personOf[k]
		if !ok {
			continue
		}
		if p := portalPersons[id]; p != nil && (p["address"] != "" || p["postcode"] != "") {
			t.Errorf("restricted person %s has an address in the portal", id)
		}
	}

	// patients.ndjson: one well-formed Patient per portal person.
	f, err := os.Open(filepath.Join(portal, "patients.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	date := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	lines := 0
	for sc.Scan() {
		lines++
		var p struct {
			ResourceType string
			ID           string
			Meta         struct{ Profile []string }
			Identifier   []struct {
				System, Value string
				Extension     []struct{ URL string }
			}
			Gender    string
			BirthDate string
			Address   []json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		if p.ResourceType != "Patient" || p.ID == "" || len(p.Identifier) == 0 || len(p.Meta.Profile) == 0 {
			t.Fatalf("line %d: not a Patient: %s", lines, sc.Text()[:min(200, len(sc.Text()))])
		}
		person := portalPersons[p.ID]
		if person == nil {
			t.Fatalf("line %d: patient %s is not a portal person", lines, p.ID)
		}
		if p.BirthDate != "" && !date.MatchString(p.BirthDate) {
			t.Errorf("patient %s: birthDate %q", p.ID, p.BirthDate)
		}
		switch p.Gender {
		case "", "male", "female", "other", "unknown":
		default:
			t.Errorf("patient %s: gender %q", p.ID, p.Gender)
		}
		for _, id := range p.Identifier {
			if id.System == "" || id.Value == "" {
				t.Errorf("patient %s: empty identifier", p.ID)
			}
			if id.System == "https://fhir.nhs.uk/Id/nhs-number" {
				if optedOut[id.Value] {
					t.Errorf("patient %s carries an opted-out number", p.ID)
				}
				if len(id.Extension) != 1 || !strings.HasSuffix(id.Extension[0].URL, "Extension-UKCore-NHSNumberVerificationStatus") {
					t.Errorf("patient %s: NHS number without its verification status", p.ID)
				}
			}
			if src, ok := strings.CutPrefix(id.System, "https://carematch.selondon.nhs.uk/Id/source/"); ok && !portalRecords[src+"/"+id.Value] {
				t.Errorf("patient %s names a record not shared", p.ID)
			}
		}
		if person["restricted"] == "true" && len(p.Address) > 0 {
			t.Errorf("restricted patient %s has an address", p.ID)
		}
	}
	if lines != len(portalPersons) {
		t.Errorf("%d patients, %d portal persons", lines, len(portalPersons))
	}

	// Analysts' folders are not world-readable.
	for _, sub := range []string{"index", "exceptions"} {
		entries, _ := os.ReadDir(filepath.Join(run, sub))
		for _, e := range entries {
			info, _ := e.Info()
			if info.Mode().Perm()&0o007 != 0 {
				t.Errorf("%s/%s is world-readable (%v)", sub, e.Name(), info.Mode().Perm())
			}
		}
	}
}

// scanExtract calls f with each row of a delimited extract as a map.
func scanExtract(t *testing.T, path string, delim rune, w1252 bool, f func(map[string]string)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if w1252 {
		data = cp1252.Decode(data)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(data), "\ufeff")))
	r.Comma, r.FieldsPerRecord, r.LazyQuotes = delim, -1, true
	hdr, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return
		}
		if err != nil || len(rec) != len(hdr) {
			continue // a row the loader rejects
		}
		m := map[string]string{}
		for i, h := range hdr {
			m[h] = rec[i]
		}
		f(m)
	}
}
