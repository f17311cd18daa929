package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What the portal reads as FHIR, over two fixture nights (the second merges
// and splits persons): every resource of patients.ndjson valid against the
// FHIR R4 JSON schema by an independent validator (npm's
// @asymmetrik/fhir-json-schema-validator, pinned in
// portal/testdata/fhir-validator); a merged master ID an inactive Patient
// whose link replaced-by names an active Patient that links replaces back;
// a restricted person labelled R; meta.lastUpdated the first night's time
// for a person unchanged since, the second night's for one that changed;
// manifest.json a Bulk Data manifest counting the file's lines.
func TestFHIRPortal(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	at := func(night int) time.Time { return time.Date(2026, 12, night, 2, 15, 0, 0, time.UTC) }
	cfg := fixtureNight(t, dir, 3_000, 11, 1)
	if _, err := nightly(ctx, cfg, nightlyOptions{Now: func() time.Time { return at(1) }}); err != nil {
		t.Fatal(err)
	}
	// An analyst joins two persons of one record each: the next night one ID
	// is merged into the other. (Persons of more records may not merge
	// whole: a record whose link to the other person's records scores below
	// the review band is kept apart, and the analyst's link takes only its
	// two records.)
	xref := readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "portal", "xref.csv"))
	records := map[string]int{}
	for _, r := range xref {
		records[r["master_id"]]++
	}
	var pair []string
	for _, r := range xref {
		if records[r["master_id"]] == 1 && len(pair) < 2 && r["source_id"] == "gp_lewisham" {
			pair = append(pair, r["source_id"]+":"+r["local_id"])
		}
	}
	if len(pair) < 2 {
		t.Fatalf("%d one-record persons in gp_lewisham, want two to merge", len(pair))
	}
	runCLI(t, "review", "decide", "--config", filepath.Join(dir, "carematch.toml"), "--left", pair[0], "--right", pair[1],
		"--analyst", "ann", "--reason", "one person, two registrations", "link")
	cfg = fixtureNight(t, dir, 3_000, 11, 2)
	if _, err := nightly(ctx, cfg, nightlyOptions{Now: func() time.Time { return at(2) }}); err != nil {
		t.Fatal(err)
	}
	portal := filepath.Join(cfg.Run.PublishDir, "current", "portal")
	ndjson := filepath.Join(portal, "patients.ndjson")

	type patient struct {
		ID   string `json:"id"`
		Meta struct {
			LastUpdated string `json:"lastUpdated"`
			Security    []struct{ Code string }
		} `json:"meta"`
		Active bool `json:"active"`
		Link   []struct {
			Other struct{ Reference string }
			Type  string
		} `json:"link"`
	}
	byID := map[string]patient{}
	var order []string
	f, err := os.Open(ndjson)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var p patient
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		byID[p.ID] = p
		order = append(order, p.ID)
	}
	f.Close()
	restricted := map[string]bool{}
	for _, r := range readCSV(t, filepath.Join(portal, "master_index.csv")) {
		restricted[r["master_id"]] = r["restricted"] == "true"
	}
	var inactive, labelled, first, second int
	for _, id := range order {
		p := byID[id]
		if !p.Active {
			inactive++
			if len(p.Link) != 1 || p.Link[0].Type != "replaced-by" {
				t.Fatalf("inactive %s: links %+v", id, p.Link)
			}
			survivor := byID[strings.TrimPrefix(p.Link[0].Other.Reference, "Patient/")]
			back := false
			for _, l := range survivor.Link {
				back = back || (l.Type == "replaces" && l.Other.Reference == "Patient/"+id)
			}
			if !survivor.Active || !back {
				t.Errorf("%s is replaced by %s, which is not an active Patient linking back", id, p.Link[0].Other.Reference)
			}
			continue
		}
		isR := len(p.Meta.Security) == 1 && p.Meta.Security[0].Code == "R"
		if isR != restricted[id] {
			t.Errorf("%s: security label R %v, restricted %v", id, isR, restricted[id])
		}
		if isR {
			labelled++
		}
		switch p.Meta.LastUpdated {
		case at(1).Format(time.RFC3339):
			first++
		case at(2).Format(time.RFC3339):
			second++
		default:
			t.Errorf("%s: lastUpdated %q", id, p.Meta.LastUpdated)
		}
	}
	if inactive == 0 || labelled == 0 || first < 10*second || second == 0 {
		t.Errorf("%d inactive (merged) Patients, %d labelled restricted, lastUpdated night 1 %d, night 2 %d", inactive, labelled, first, second)
	}
	var m struct {
		TransactionTime string
		Output          []struct {
			Type, URL string
			Count     int
		}
	}
	data, err := os.ReadFile(filepath.Join(portal, "manifest.json"))
	if err != nil || json.Unmarshal(data, &m) != nil || m.TransactionTime != at(2).Format(time.RFC3339) ||
		len(m.Output) != 1 || m.Output[0].Type != "Patient" || m.Output[0].URL != "patients.ndjson" || m.Output[0].Count != len(order) {
		t.Errorf("portal/manifest.json: %v %s", err, data)
	}
	validateFHIR(t, ndjson)
}

// validateFHIR runs the pinned npm validator over an NDJSON file. Without
// node and npm the test is skipped, unless CI asks for it
// (CAREMATCH_REQUIRE_FHIR_VALIDATOR=1).
func validateFHIR(t *testing.T, ndjson string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNPM := exec.LookPath("npm")
	if errNode != nil || errNPM != nil {
		if os.Getenv("CAREMATCH_REQUIRE_FHIR_VALIDATOR") != "" {
			t.Fatal("node and npm are needed for the FHIR validator")
		}
		t.Skip("no node and npm: FHIR validation skipped")
	}
	src := filepath.Join("..", "..", "portal", "testdata", "fhir-validator")
	work := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "validate.js"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	install := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = work
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	out, err := exec.Command(node, filepath.Join(work, "validate.js"), ndjson).CombinedOutput()
	if err != nil {
		t.Fatalf("FHIR validation: %v\n%s", err, out)
	}
	t.Logf("FHIR R4 schema: %s", strings.TrimSpace(string(out)))
}
