package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/fixtures"
)

// Master IDs over consecutive nights, through the real job: the same input
// changes no ID; a person who gains a record keeps theirs; two persons that
// merge keep the older ID and record the other as merged_into; a person who
// splits keeps the ID on the larger part and the other part is split_from
// it; a person whose records are all gone is retired; a new person is
// created. History explains every change.
func TestMasterIDsAcrossNights(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := gpConfig(t, dir, "local_id", "nhs_number", "nhs_number_status", "given_name", "family_name", "date_of_birth", "sex", "postcode")
	// Persons by NHS number: A = 4010232137 (a1, a2), B = 4000000632 (b1),
	// C = no number (c1, corrected to B's details later), D = 6000000006 (d1, d2, d3), E appears later.
	header := "id,nhs,status,given,family,dob,sex,postcode\n"
	rows := map[string]string{
		"a1":  "a1,4010232137,01,Anna,Okafor,1970-01-02,F,SE13 6XY",
		"a2":  "a2,4010232137,01,Anna,Okafor,1970-01-02,F,SE13 6XY",
		"a3":  "a3,4010232137,01,Anna,Okafor,1970-01-02,F,SE13 6XY",
		"b1":  "b1,4000000632,01,Bilal,Khan,1981-05-06,M,DA1 2QJ",
		"c1":  "c1,,,Carl,Lee,1962-09-10,M,SE23 1AA",
		"d1":  "d1,6000000006,01,Dorothy,Webb,1944-07-08,F,SE9 1AA",
		"d2":  "d2,6000000006,01,Dorothy,Webb,1944-07-08,F,SE9 1AA",
		"d3":  "d3,6000000006,01,Dorothy,Webb,1944-07-08,F,SE9 1AA",
		"d3x": "d3,6000000014,01,Derek,Webb,1950-11-12,M,SE9 1AA",
		"e1":  "e1,6000000022,01,Ewa,Nowak,1990-03-04,F,SE4 1AA",
	}
	night := func(ids ...string) map[string]string {
		t.Helper()
		var b strings.Builder
		b.WriteString(header)
		for _, id := range ids {
			b.WriteString(rows[id] + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, "gp.csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "index", "xref.csv")) {
			out[r["local_id"]] = r["master_id"]
		}
		return out
	}
	history := func() []string {
		var out []string
		for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "index", "history.csv")) {
			out = append(out, r["master_id"]+" "+r["event"]+" "+r["other_id"])
		}
		return out
	}

	n1 := night("a1", "a2", "b1", "c1", "d1", "d2", "d3")
	if n1["a1"] != n1["a2"] || n1["b1"] == n1["c1"] || n1["d1"] != n1["d3"] {
		t.Fatalf("night 1 persons: %v", n1)
	}
	h1 := history()
	if len(h1) != 4 {
		t.Fatalf("night 1 history %v", h1)
	}

	n2 := night("a1", "a2", "b1", "c1", "d1", "d2", "d3")
	if !equalMaps(n1, n2) || len(history()) != 4 {
		t.Fatalf("the same input changed IDs or history: %v / %v, %v", n1, n2, history())
	}

	// A gains a3; c1 is corrected: it is Bilal, with his number (a merge);
	// d3 turns out to be Derek, D's husband (split); E is new.
	rows["c1"] = "c1,4000000632,01,Bilal,Khan,1981-05-06,M,DA1 2QJ"
	n3 := night("a1", "a2", "a3", "b1", "c1", "d1", "d2", "d3x", "e1")
	if n3["a3"] != n1["a1"] {
		t.Errorf("A grew but changed ID: %s -> %s", n1["a1"], n3["a3"])
	}
	older, younger := n1["b1"], n1["c1"]
	if older > younger {
		older, younger = younger, older
	}
	if n3["b1"] != n3["c1"] || n3["b1"] != older {
		t.Errorf("merge kept %s, want the older %s", n3["b1"], older)
	}
	if n3["d1"] != n1["d1"] || n3["d3"] == n1["d1"] {
		t.Errorf("split: larger part %s (was %s), smaller %s", n3["d1"], n1["d1"], n3["d3"])
	}
	want := map[string]bool{
		younger + " merged_into " + older:    true,
		n3["d3"] + " split_from " + n1["d1"]: true,
		n3["e1"] + " created ":               true,
	}
	for _, h := range history()[4:] {
		if !want[h] {
			t.Errorf("unexpected history line %q", h)
		}
		delete(want, h)
	}
	for h := range want {
		t.Errorf("history lacks %q", h)
	}

	// E's only record is gone: retired.
	night("a1", "a2", "a3", "b1", "c1", "d1", "d2", "d3x")
	h := history()
	if last := h[len(h)-1]; last != n3["e1"]+" retired " {
		t.Errorf("last history line %q, want %s retired", last, n3["e1"])
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Three fixture nights, each with records gone, corrected and new. Every
// master ID that disappears is explained (merged_into or retired), every new
// one too (created or split_from), and a person whose records are exactly
// the same keeps their ID.
func TestFixtureNights(t *testing.T) {
	dir := t.TempDir()
	cfg := fixtureNight(t, dir, 3_000, 5, 1)
	persons := func() map[string][]string {
		byPerson := map[string][]string{}
		for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "index", "xref.csv")) {
			byPerson[r["master_id"]] = append(byPerson[r["master_id"]], r["source_id"]+"/"+r["local_id"])
		}
		return byPerson
	}
	// later counts each record's later-night corrections in faults.csv.
	later := func() map[string]int {
		n := map[string]int{}
		for _, r := range readCSV(t, filepath.Join(dir, "faults.csv")) {
			if r["fault"] == fixtures.FaultCorrectedNHS || r["fault"] == fixtures.FaultMoved {
				n[r["source_id"]+"/"+r["local_id"]]++
			}
		}
		return n
	}
	m, err := nightly(context.Background(), cfg, nightlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := m.RunID
	for _, s := range m.Sources {
		if c := s.Changes; c == nil || c.New != s.RowsLoaded || c.Changed+c.Unchanged+c.Gone != 0 {
			t.Errorf("night 1, %s: changes %+v, want all %d records new", s.ID, c, s.RowsLoaded)
		}
	}
	for night := 2; night <= 3; night++ {
		before, laterBefore, last := persons(), later(), m
		fixtureNight(t, dir, 3_000, 5, night)
		m, err = nightly(context.Background(), cfg, nightlyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The fingerprints find exactly the records the fixtures changed:
		// a record corrected tonight, and there last night too.
		wantChanged := map[string]int64{}
		for k, n := range later() {
			if n > laterBefore[k] {
				src, _, _ := strings.Cut(k, "/")
				wantChanged[src]++
			}
		}
		for i, s := range m.Sources {
			c := s.Changes
			if c == nil {
				t.Fatalf("night %d, %s: no changes counted", night, s.ID)
			}
			if c.New+c.Changed+c.Unchanged != s.RowsLoaded || c.Changed+c.Unchanged+c.Gone != last.Sources[i].RowsLoaded {
				t.Errorf("night %d, %s: %+v do not add up to %d loaded tonight and %d last night", night, s.ID, *c, s.RowsLoaded, last.Sources[i].RowsLoaded)
			}
			if c.Changed != wantChanged[s.ID] {
				t.Errorf("night %d, %s: %d records changed, the fixtures changed %d", night, s.ID, c.Changed, wantChanged[s.ID])
			}
		}
		after := persons()
		events := map[string]map[string]string{} // run → master_id → event
		for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "index", "history.csv")) {
			if events[r["run_id"]] == nil {
				events[r["run_id"]] = map[string]string{}
			}
			events[r["run_id"]][r["master_id"]] = r["event"]
		}
		tonight := events[m.RunID]
		for id := range before {
			if _, still := after[id]; !still {
				if e := tonight[id]; e != "merged_into" && e != "retired" {
					t.Errorf("night %d: %s disappeared with no explanation (%q)", night, id, e)
				}
			}
		}
		for id := range after {
			if _, was := before[id]; !was {
				if e := tonight[id]; e != "created" && e != "split_from" {
					t.Errorf("night %d: %s appeared with no explanation (%q)", night, id, e)
				}
			}
		}
		counts := map[string]int{}
		for _, e := range tonight {
			counts[e]++
		}
		// About 19 new persons (0.625% of 3,000) and 0.5% of records gone:
		// a person retires when every record of theirs is gone (2–7 a night
		// over the fixture seeds seen).
		if counts["created"] < 10 || counts["retired"] < 1 {
			t.Errorf("night %d events %v: expected new people and retired IDs", night, counts)
		}
		afterBySet := map[string]string{}
		for id, recs := range after {
			afterBySet[strings.Join(recs, ",")] = id
		}
		unchanged, kept := 0, 0
		for id, recs := range before {
			if id2, ok := afterBySet[strings.Join(recs, ",")]; ok {
				unchanged++
				if id == id2 {
					kept++
				}
			}
		}
		// A night changes about 2% of records: most persons keep every one.
		if unchanged < len(before)*9/10 || kept != unchanged {
			t.Errorf("night %d: %d of %d persons have the same records as the night before; %d kept their ID", night, unchanged, len(before), kept)
		}
		if len(events[first]) == 0 {
			t.Errorf("night %d: night 1's history is gone", night)
		}
		t.Logf("night %d: %v; %d unchanged persons kept their IDs", night, counts, kept)
	}
}

// The golden record takes the address of the most recent record: by the
// source's update date where it has one, else the extract's own date
// (tonight), among equals the most
// trusted source, and then the lowest source and local ID; and it counts
// the sources a person's records come from.
func TestGoldenRecordAddress(t *testing.T) {
	dir := t.TempDir()
	demo := []string{"local_id", "nhs_number", "given_name", "family_name", "date_of_birth", "address", "postcode"}
	cfgText := sourceTOML("gp", "gp", "gp.csv", demo...) +
		sourceTOML("council", "social_care", "council.csv", append(demo, "consent", "updated")...) +
		sourceTOML("hospital", "hospital", "hospital.csv", append(demo, "updated")...)
	files := map[string]string{
		"carematch.toml": cfgText,
		// Anna: GP (no update date: tonight) beats a council record updated last year.
		// Bilal: no GP record; the hospital updated him more recently than the council.
		// Chen: no update date at the GP nor on the hospital's record: both
		// tonight, and the GP is the more trusted.
		// Dana: the council's two records and the hospital's, updated the same
		// day: the hospital, the more trusted; the council's two between
		// themselves, the lower local ID (seen when the hospital's is gone).
		"gp.csv": "id,nhs,given,family,dob,address,postcode\ng1,4010232137,Anna,Okafor,1970-01-02,1 New Road,SE13 6XY\n" +
			"g2,4010232145,Chen,Wei,1990-02-03,2 Hill Rise,SE13 5AB\n",
		"council.csv": "id,nhs,given,family,dob,address,postcode,consent,updated\nc1,4010232137,Anna,Okafor,1970-01-02,9 Old Street,SE4 1AA,Y,2025-06-01\nc2,4000000632,Bilal,Khan,1981-05-06,5 Council Way,DA1 2QJ,Y,2026-01-10\n" +
			"c4,4010232153,Dana,Moss,1955-04-05,4 Birch Close,BR1 4AA,Y,2026-02-02\nc3,4010232153,Dana,Moss,1955-04-05,3 Ash Close,BR1 3AA,Y,2026-02-02\n" +
			"c6,4010232161,Eve,Moss,1956-04-05,3 Ash Close,BR1 3AA,Y,2026-02-02\nc5,4010232161,Eve,Moss,1956-04-05,4 Birch Close,BR1 4AA,Y,2026-02-02\n",
		"hospital.csv": "id,nhs,given,family,dob,address,postcode,updated\nh1,4000000632,Bilal,Khan,1981-05-06,7 Ward Lane,SE9 1AA,2026-03-02\n" +
			"h2,4010232145,Chen,Wei,1990-02-03,8 Far Away,SE9 9ZZ,\nh3,4010232153,Dana,Moss,1955-04-05,6 Elm Road,SE9 6AA,2026-02-02\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "carematch.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nightly(context.Background(), cfg, nightlyOptions{}); err != nil {
		t.Fatal(err)
	}
	byNHS := map[string]map[string]string{}
	for _, r := range readCSV(t, filepath.Join(cfg.Run.PublishDir, "current", "index", "master_index.csv")) {
		byNHS[r["nhs_number"]] = r
	}
	if a := byNHS["4010232137"]; a["postcode"] != "SE13 6XY" || a["address_source"] != "gp" || a["record_count"] != "2" {
		t.Errorf("Anna: %v", a)
	}
	if b := byNHS["4000000632"]; b["postcode"] != "SE9 1AA" || b["address_source"] != "hospital" {
		t.Errorf("Bilal: %v", b)
	}
	if c := byNHS["4010232145"]; c["postcode"] != "SE13 5AB" || c["address_source"] != "gp" || c["source_count"] != "2" {
		t.Errorf("Chen: %v", c)
	}
	if d := byNHS["4010232153"]; d["postcode"] != "SE9 6AA" || d["source_count"] != "2" || d["record_count"] != "3" {
		t.Errorf("Dana: %v", d)
	}
	if e := byNHS["4010232161"]; e["postcode"] != "BR1 4AA" || e["address_source"] != "council" || e["source_count"] != "1" || e["record_count"] != "2" {
		t.Errorf("Eve: %v", e)
	}
}

// fixtureNight writes the extracts of a fixture night into dir (its first
// night, or a later one over the last) and loads their configuration, whose
// state and publication are in dir.
func fixtureNight(t *testing.T, dir string, persons int, seed uint64, night int) *config.Config {
	t.Helper()
	if _, err := fixtures.Generate(fixtures.Options{Persons: persons, Seed: seed, Out: dir, Night: night}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "carematch.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
