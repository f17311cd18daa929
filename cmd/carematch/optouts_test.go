package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Opt-out forms as the Connect Care form collects them — the NHS number only
// when the person knew it — through the real nightly job, scored with the
// model the 20,000-person fixtures trained. A form without a number matches
// its person exactly, with a typo, or at the address the person has since
// left; a form that names twins' household but no given name cannot tell
// them apart and withholds both until an analyst decides (a review item of
// kind optout each); a form that matches nobody is reported; the old
// one-number form still works. No record of an opted-out person reaches
// portal/, and the person who did not opt out is there. An analyst's
// no_link between the form and one twin releases her the next night, and
// the other twin stays withheld.
func TestOptoutFormsWithoutNumbers(t *testing.T) {
	dir, cfg, cfgPath := gpScoredByFixtureModel(t, "\n[optouts]\npath = \"forms.csv\"\ndate_format = \"%d/%m/%Y\"\n  [optouts.columns]\n"+
		"  nhs_number = \"NHS\"\n  given_name = \"First\"\n  family_name = \"Last\"\n  date_of_birth = \"Born\"\n  postcode = \"Postcode\"\n  address = \"Address\"\n",
		"local_id", "nhs_number", "nhs_number_status", "given_name", "family_name", "date_of_birth", "sex", "address", "postcode")
	var b strings.Builder
	b.WriteString("id,nhs,status,given,family,dob,sex,address,postcode\n")
	for _, r := range []string{
		"ada,4010232153,01,Ada,Obi,1980-02-03,F,12 Lee High Road,SE13 6XY",
		"ada2,,,Ada,Obi,1980-02-03,F,12 Lee High Road,SE13 6XY",
		"dina,4010232161,01,Dina,Mensah,1985-07-08,F,22 Camberwell Road,SE5 0EZ",
		"carl,4010232188,01,Carl,Reid,1975-06-21,M,7 Hither Green Lane,SE13 6QA",
		"amy,4010232196,01,Amy,Stone,1990-05-06,F,3 Broadway,DA1 2QJ",
		"beth,4010232218,01,Beth,Stone,1990-05-06,F,3 Broadway,DA1 2QJ",
		"sam,4010232226,01,Sam,Taylor,1962-09-30,M,9 Sydenham Road,SE26 5QX",
		"eve,4010232137,01,Eve,Clarke,1970-11-12,F,15 Eltham Road,SE12 8ES",
	} {
		b.WriteString(r + "\n")
	}
	// Other people, so that no name is common only because the extract is small.
	writeWithFillers(t, filepath.Join(dir, "gp.csv"), &b, 1500, ",,")
	forms := "NHS,First,Last,Born,Postcode,Address\n" +
		",Ada,Obi,03/02/1980,SE13 6XY,12 Lee High Road\n" + // exact, no number
		",Dina,Mensha,08/07/1985,SE5 0EZ,22 Camberwell Road\n" + // a typo
		",Carl,Reid,21/06/1975,SE1 5AA,40 Old Kent Road\n" + // the address he left
		",,Stone,06/05/1990,DA1 2QJ,3 Broadway\n" + // twins' household, no given name
		",Zed,Nobody,01/01/1931,E1 6AN,1 Nowhere Street\n" + // nobody
		"4010232226,,,,,\n" + // the old form: a number
		"12345,Sam,Taylor,30/09/1962,,\n" // a number that fails modulus 11: the details still count
	if err := os.WriteFile(filepath.Join(dir, "forms.csv"), []byte(forms), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "run", "--quiet", "--config", cfgPath)

	current := filepath.Join(cfg.Run.PublishDir, "current")
	inPortal := func() map[string]bool {
		in := map[string]bool{}
		for _, r := range readCSV(t, filepath.Join(current, "portal", "xref.csv")) {
			in[r["local_id"]] = true
		}
		return in
	}
	in := inPortal()
	for _, id := range []string{"ada", "ada2", "dina", "carl", "amy", "beth", "sam"} {
		if in[id] {
			t.Errorf("%s opted out (or may have) but is in portal/", id)
		}
	}
	if !in["eve"] || !in["filler1"] {
		t.Error("a person who did not opt out is missing from portal/")
	}
	var optout []map[string]string
	for _, r := range readCSV(t, filepath.Join(current, "exceptions", "review_queue.csv")) {
		if r["kind"] == "optout" {
			optout = append(optout, r)
		}
	}
	twins := map[string]bool{}
	var twinForm string
	for _, r := range optout {
		if r["left_source_id"] != "optouts" || !strings.HasPrefix(r["left_local_id"], "F") {
			t.Errorf("an optout item's left record is not a form: %v", r)
		}
		if r["right_local_id"] == "amy" || r["right_local_id"] == "beth" {
			twins[r["right_local_id"]], twinForm = true, r["left_local_id"]
		}
	}
	if !twins["amy"] || !twins["beth"] {
		t.Errorf("optout review items %v: want one for each twin", optout)
	}
	unmatched := readCSV(t, filepath.Join(current, "exceptions", "optout_unmatched.csv"))
	if len(unmatched) != 1 || unmatched[0]["line"] != "6" || unmatched[0]["source_id"] != "optouts" {
		t.Errorf("unmatched forms %v: want the form on line 6", unmatched)
	}
	invalid := readCSV(t, filepath.Join(current, "exceptions", "invalid_nhs_number.csv"))
	if len(invalid) != 1 || invalid[0]["source_id"] != "optouts" || invalid[0]["line"] != "8" {
		t.Errorf("invalid NHS numbers %v: want the form on line 8", invalid)
	}

	// The analyst says the form is not Beth's: she is shared again, Amy
	// is not.
	runCLI(t, "review", "decide", "--config", cfgPath, "--left", "optouts:"+twinForm, "--right", "gp:beth",
		"--analyst", "ann", "--reason", "Beth says she did not fill it in", "no-link")
	runCLI(t, "run", "--quiet", "--config", cfgPath)
	in = inPortal()
	if !in["beth"] || in["amy"] {
		t.Errorf("after the no_link: beth in portal %v (want true), amy %v (want false)", in["beth"], in["amy"])
	}
}
