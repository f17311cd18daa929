package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selondon/carematch/publish"
	"github.com/selondon/carematch/store"
)

// incoherentPairs counts, in a night's state, the pairs of records of one
// published person that no verified NHS number and no analyst joins and
// that have no score (unscored) or score below the review band (below).
// A coherent index has none of either.
func incoherentPairs(t *testing.T, stateDir string, reviewThreshold float64) (unscored, below int64) {
	t.Helper()
	db, err := store.OpenReadOnly(publish.PreviousState(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := fmt.Sprintf(`WITH m AS (SELECT x.rid, x.master_id, p.nhs_number, p.nhs_disputed FROM xref x JOIN prep p USING (rid)
			WHERE x.withheld_reason IS NULL
			  AND x.master_id NOT IN (SELECT master_id FROM xref WHERE link_method = 'analyst')),
		pairs AS (SELECT a.rid AS l, b.rid AS r FROM m a JOIN m b ON a.master_id = b.master_id AND a.rid < b.rid
			WHERE NOT (a.nhs_number IS NOT NULL AND a.nhs_number = b.nhs_number AND NOT a.nhs_disputed AND NOT b.nhs_disputed))
		SELECT count(*) FILTER (s.weight IS NULL), count(*) FILTER (s.weight < %g)
		FROM pairs LEFT JOIN scores s ON s.rid_l = pairs.l AND s.rid_r = pairs.r`, reviewThreshold)
	if err := db.QueryRowContext(context.Background(), q).Scan(&unscored, &below); err != nil {
		t.Fatal(err)
	}
	return unscored, below
}

// Strangers joined by individually plausible links, no NHS numbers: Anna
// Nowak born 1970 at Elm Road, a record of her with no address, a record
// of an Anna Nowak with no date of birth at Oak Road, and an Anna Nowak
// born 1988 at Oak Road. Each neighbour links (the middle link is the
// weakest, on names and sex alone), but the two ends and the 1970 record
// against the 1988 one score far below the review band. Before persons had
// to hang together all four were published as one person, and no check
// said so (the ends were never compared). Now the middle link is refused,
// the two pairs are two persons, and the refused link is a review item of
// kind chain that names the pair it would have joined.
func TestChainIsRefusedAndQueued(t *testing.T) {
	dir, cfg, cfgPath := gpScoredByFixtureModel(t, "", "local_id", "given_name", "family_name", "date_of_birth", "sex", "address", "postcode")
	var b strings.Builder
	b.WriteString("id,given,family,dob,sex,address,postcode\n")
	for _, r := range []string{
		"a,Anna,Nowak,1970-03-04,F,5 Elm Road,SE1 1AA",
		"b,Anna,Nowak,1970-03-04,F,,",
		"c,Anna,Nowak,,F,12 Oak Road,SE4 2BB",
		"d,Anna,Nowak,1988-11-21,F,12 Oak Road,SE4 2BB",
	} {
		b.WriteString(r + "\n")
	}
	// Other people, so that Anna and Nowak are rare names, as in a region.
	writeWithFillers(t, filepath.Join(dir, "gp.csv"), &b, 3000, "")
	runCLI(t, "run", "--quiet", "--config", cfgPath)

	current := filepath.Join(cfg.Run.PublishDir, "current")
	person := personOfLocalID(t, current)
	if person["a"] != person["b"] || person["c"] != person["d"] || person["b"] == person["c"] {
		t.Errorf("persons a %s, b %s, c %s, d %s: want a and b one person, c and d another", person["a"], person["b"], person["c"], person["d"])
	}
	var chain []map[string]string
	for _, r := range readCSV(t, filepath.Join(current, "exceptions", "review_queue.csv")) {
		if r["kind"] == "chain" {
			chain = append(chain, r)
		}
	}
	if len(chain) != 1 || chain[0]["left_local_id"] != "b" || chain[0]["right_local_id"] != "c" ||
		!strings.Contains(chain[0]["guard"], "gp:a and gp:d") {
		t.Errorf("chain review items %v, want one for the link b–c naming gp:a and gp:d", chain)
	}
	// explain says the model would link b and c but clustering refused.
	if out := runCLI(t, "explain", "--run", current, "--left", "gp:b", "--right", "gp:c"); !strings.Contains(out, "decision: not linked: clustering refused the link, it would put gp:a and gp:d") {
		t.Errorf("explain b–c:\n%s", out)
	}
	// The persons hang together: every pair of records in a person is
	// scored, and none below the review band.
	if unscored, below := incoherentPairs(t, cfg.Run.StateDir, -4); unscored != 0 || below != 0 {
		t.Errorf("%d pairs in one person unscored, %d below the review band", unscored, below)
	}
	var m struct {
		Counts map[string]int64 `json:"counts"`
	}
	data, err := os.ReadFile(filepath.Join(current, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Counts["chain_links"] != 1 || m.Counts["pairs_scored_in_persons"] == 0 {
		t.Errorf("manifest counts %v: want one chain link and the pairs scored within persons", m.Counts)
	}
}
