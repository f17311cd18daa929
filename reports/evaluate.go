package reports

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/selondon/carematch/store"
)

// Evaluation is a published run measured against labelled truth.
type Evaluation struct {
	Records          int                     `json:"records"`           // records in both the run and the truth
	Withheld         int                     `json:"withheld"`          // withheld records, left out of the measures
	TruthPersons     int                     `json:"truth_persons"`     // persons among them
	PredictedPersons int                     `json:"predicted_persons"` // persons the run made of them
	ExactPersons     int                     `json:"exact_persons"`     // truth persons reproduced exactly
	TruthPairs       int64                   `json:"truth_pairs"`
	PredictedPairs   int64                   `json:"predicted_pairs"`
	TruePairs        int64                   `json:"true_pairs"`
	Precision        float64                 `json:"precision"`
	Recall           float64                 `json:"recall"`
	F1               float64                 `json:"f1"`
	ByMethod         map[string]*MethodScore `json:"by_method"`
	FalseMerges      map[string]int64        `json:"false_merges_by_kind"`     // pairs
	MissedLinks      map[string]int64        `json:"missed_links_by_kind"`     // pairs
	HardNegatives    map[string][2]int       `json:"hard_negatives,omitempty"` // kind → [pairs, merged]
}

// MethodScore is precision among the pairs a link method produced.
type MethodScore struct {
	PredictedPairs int64   `json:"predicted_pairs"`
	TruePairs      int64   `json:"true_pairs"`
	Precision      float64 `json:"precision"`
}

type xrefRow struct {
	master, method string
}

// Evaluate measures the run in runDir against truthPath (source_id,
// local_id, person_id). If negativesPath names a file (kind, person_a,
// person_b), merges of those hard-negative pairs are counted. If the run's
// database is still in the state directory, missed links and false merges
// are classified by what the run knew about each pair.
func Evaluate(ctx context.Context, runDir, truthPath, negativesPath string) (*Evaluation, error) {
	ev := &Evaluation{ByMethod: map[string]*MethodScore{}, FalseMerges: map[string]int64{}, MissedLinks: map[string]int64{}}
	xref := map[store.RecordKey]xrefRow{}
	if err := readCSVFile(filepath.Join(runDir, "index", "xref.csv"), func(h map[string]int, r []string) error {
		// A withheld record (social care without consent) is kept out of
		// linking on purpose: not the linker's to link.
		if r[h["withheld_reason"]] != "" {
			ev.Withheld++
			return nil
		}
		xref[store.RecordKey{Source: r[h["source_id"]], Local: r[h["local_id"]]}] = xrefRow{r[h["master_id"]], r[h["link_method"]]}
		return nil
	}, "master_id", "source_id", "local_id", "link_method", "withheld_reason"); err != nil {
		return nil, err
	}
	truth := map[store.RecordKey]string{}
	if err := readCSVFile(truthPath, func(h map[string]int, r []string) error {
		truth[store.RecordKey{Source: r[h["source_id"]], Local: r[h["local_id"]]}] = r[h["person_id"]]
		return nil
	}, "source_id", "local_id", "person_id"); err != nil {
		return nil, err
	}
	// Only records in both count: a rejected or deleted record is not the
	// linker's to link.
	var keys []store.RecordKey
	for k := range xref {
		if _, ok := truth[k]; ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, store.RecordKey.Compare)
	ev.Records = len(keys)
	byPred := map[string][]store.RecordKey{}
	byTruth := map[string][]store.RecordKey{}
	for _, k := range keys {
		byPred[xref[k].master] = append(byPred[xref[k].master], k)
		byTruth[truth[k]] = append(byTruth[truth[k]], k)
	}
	ev.PredictedPersons, ev.TruthPersons = len(byPred), len(byTruth)
	pairs := func(n int) int64 { return int64(n) * int64(n-1) / 2 }
	var falseMerges, missed [][2]store.RecordKey
	for _, members := range byPred {
		ev.PredictedPairs += pairs(len(members))
		for i := 0; i < len(members); i++ {
			for j := i + 1; j < len(members); j++ {
				a, b := members[i], members[j]
				method := pairMethod(xref[a].method, xref[b].method)
				ms := ev.ByMethod[method]
				if ms == nil {
					ms = &MethodScore{}
					ev.ByMethod[method] = ms
				}
				ms.PredictedPairs++
				if truth[a] == truth[b] {
					ev.TruePairs++
					ms.TruePairs++
				} else {
					falseMerges = append(falseMerges, [2]store.RecordKey{a, b})
				}
			}
		}
	}
	for _, members := range byTruth {
		ev.TruthPairs += pairs(len(members))
		exact := true
		for i := 0; i < len(members); i++ {
			for j := i + 1; j < len(members); j++ {
				if xref[members[i]].master != xref[members[j]].master {
					missed = append(missed, [2]store.RecordKey{members[i], members[j]})
					exact = false
				}
			}
		}
		if exact && len(byPred[xref[members[0]].master]) == len(members) {
			ev.ExactPersons++
		}
	}
	ev.Precision = ratio(ev.TruePairs, ev.PredictedPairs)
	ev.Recall = ratio(ev.TruePairs, ev.TruthPairs)
	if ev.Precision+ev.Recall > 0 {
		ev.F1 = 2 * ev.Precision * ev.Recall / (ev.Precision + ev.Recall)
	}
	for _, ms := range ev.ByMethod {
		ms.Precision = ratio(ms.TruePairs, ms.PredictedPairs)
	}
	if negativesPath != "" {
		if err := hardNegatives(ev, negativesPath, byTruth, xref); err != nil {
			return nil, err
		}
	}
	if err := classify(ctx, ev, runDir, falseMerges, missed, xref); err != nil {
		return nil, err
	}
	return ev, nil
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// pairMethod is how a pair of records came to be in one person: by the
// weaker of the two records' methods.
func pairMethod(a, b string) string {
	for _, m := range []string{"analyst", "probabilistic"} {
		if a == m || b == m {
			return m
		}
	}
	return a
}

func hardNegatives(ev *Evaluation, path string, byTruth map[string][]store.RecordKey, xref map[store.RecordKey]xrefRow) error {
	ev.HardNegatives = map[string][2]int{}
	return readCSVFile(path, func(h map[string]int, r []string) error {
		kind, a, b := r[h["kind"]], r[h["person_a"]], r[h["person_b"]]
		masters := map[string]bool{}
		for _, k := range byTruth[a] {
			masters[xref[k].master] = true
		}
		merged := false
		for _, k := range byTruth[b] {
			merged = merged || masters[xref[k].master]
		}
		v := ev.HardNegatives[kind]
		if len(byTruth[a]) > 0 && len(byTruth[b]) > 0 {
			v[0]++
			if merged {
				v[1]++
			}
		}
		ev.HardNegatives[kind] = v
		return nil
	}, "kind", "person_a", "person_b")
}

// classify sorts wrong pairs into kinds using the run's database, when the
// state directory still has it.
func classify(ctx context.Context, ev *Evaluation, runDir string, falseMerges, missed [][2]store.RecordKey, xref map[store.RecordKey]xrefRow) error {
	m, err := ReadManifest(filepath.Join(runDir, "manifest.json"))
	if err != nil || m.StateDB == "" {
		return classifyWithout(ev, falseMerges, missed, xref)
	}
	if _, err := os.Stat(m.StateDB); err != nil {
		return classifyWithout(ev, falseMerges, missed, xref)
	}
	db, err := store.OpenReadOnly(m.StateDB)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE memory.main.wrong (kind VARCHAR, sl VARCHAR, ll VARCHAR, sr VARCHAR, lr VARCHAR)`); err != nil {
		return err
	}
	app, err := db.NewAppenderIn(ctx, "memory", "wrong")
	if err != nil {
		return err
	}
	for kind, pairs := range map[string][][2]store.RecordKey{"merge": falseMerges, "missed": missed} {
		for _, p := range pairs {
			if err := app.Append(kind, p[0].Source, p[0].Local, p[1].Source, p[1].Local); err != nil {
				app.Close()
				return err
			}
		}
	}
	if err := app.Close(); err != nil {
		return err
	}
	review, link := 0.0, 0.0
	if m.Linkage != nil {
		review, link = m.Linkage.ReviewThreshold, m.Linkage.LinkThreshold
	}
	q := fmt.Sprintf(`
		WITH w AS (
			SELECT w.kind, least(a.rid, b.rid) AS rid_l, greatest(a.rid, b.rid) AS rid_r, a.nhs_number AS na, b.nhs_number AS nb
			FROM memory.main.wrong w JOIN prep a ON a.source_id = w.sl AND a.local_id = w.ll JOIN prep b ON b.source_id = w.sr AND b.local_id = w.lr)
		SELECT w.kind, CASE
			WHEN w.kind = 'merge' AND d.rid_l IS NOT NULL THEN 'linked directly on NHS number and date of birth'
			WHEN w.kind = 'merge' AND s.weight >= %[2]g THEN 'linked directly by match weight'
			WHEN w.kind = 'merge' THEN 'joined through other records'
			WHEN w.na IS NOT NULL AND w.nb IS NOT NULL AND w.na <> w.nb THEN 'different valid NHS numbers'
			WHEN k.rid_l IS NOT NULL THEN 'NHS number conflict'
			WHEN s.weight IS NULL AND d.rid_l IS NULL THEN 'never compared (no blocking rule paired them)'
			WHEN s.weight >= %[2]g THEN 'link cut or lost in clustering'
			WHEN s.weight >= %[1]g THEN 'in the review band'
			ELSE 'scored below the review band' END AS why, count(*)
		FROM w LEFT JOIN scores s USING (rid_l, rid_r) LEFT JOIN det_links d USING (rid_l, rid_r) LEFT JOIN nhs_conflicts k USING (rid_l, rid_r)
		GROUP BY ALL`, review, link)
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, why string
		var n int64
		if err := rows.Scan(&kind, &why, &n); err != nil {
			return err
		}
		if kind == "merge" {
			ev.FalseMerges[why] += n
		} else {
			ev.MissedLinks[why] += n
		}
	}
	return rows.Err()
}

func classifyWithout(ev *Evaluation, falseMerges, missed [][2]store.RecordKey, xref map[store.RecordKey]xrefRow) error {
	for _, p := range falseMerges {
		ev.FalseMerges["by "+pairMethod(xref[p[0]].method, xref[p[1]].method)]++
	}
	for range missed {
		ev.MissedLinks["not linked (run database not available to say why)"]++
	}
	return nil
}

// readCSVFile calls f for every row, with the header's column positions;
// every name in need must be a column.
func readCSVFile(path string, f func(map[string]int, []string) error, need ...string) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	r := csv.NewReader(file)
	r.ReuseRecord = true
	hdr, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: no header: %w", path, err)
	}
	pos := map[string]int{}
	for i, h := range hdr {
		pos[trimBOM(h)] = i
	}
	for _, n := range need {
		if _, ok := pos[n]; !ok {
			return fmt.Errorf("%s: line 1: no column %q", path, n)
		}
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := f(pos, rec); err != nil {
			return fmt.Errorf("%s: line %s: %w", path, strconv.Itoa(line), err)
		}
	}
}

func trimBOM(s string) string {
	if len(s) >= 3 && s[:3] == "\xef\xbb\xbf" {
		return s[3:]
	}
	return s
}

// Print writes the evaluation for a person to read.
func (ev *Evaluation) Print(w io.Writer) {
	fmt.Fprintf(w, "records %d (and %d withheld, not measured), persons: truth %d, predicted %d, exactly reproduced %d (%.2f%%)\n",
		ev.Records, ev.Withheld, ev.TruthPersons, ev.PredictedPersons, ev.ExactPersons, 100*float64(ev.ExactPersons)/float64(max(ev.TruthPersons, 1)))
	fmt.Fprintf(w, "pairwise: precision %.5f  recall %.5f  F1 %.5f  (true %d, predicted %d, truth %d)\n",
		ev.Precision, ev.Recall, ev.F1, ev.TruePairs, ev.PredictedPairs, ev.TruthPairs)
	for _, m := range sortedKeys(ev.ByMethod) {
		s := ev.ByMethod[m]
		fmt.Fprintf(w, "  by %-14s precision %.5f (%d of %d pairs)\n", m+":", s.Precision, s.TruePairs, s.PredictedPairs)
	}
	fmt.Fprintf(w, "false merges (pairs): %d\n", ev.PredictedPairs-ev.TruePairs)
	for _, k := range sortedKeys(ev.FalseMerges) {
		fmt.Fprintf(w, "  %-48s %d\n", k, ev.FalseMerges[k])
	}
	fmt.Fprintf(w, "missed links (pairs): %d\n", ev.TruthPairs-ev.TruePairs)
	for _, k := range sortedKeys(ev.MissedLinks) {
		fmt.Fprintf(w, "  %-48s %d\n", k, ev.MissedLinks[k])
	}
	if len(ev.HardNegatives) > 0 {
		fmt.Fprintln(w, "hard negatives (persons who must stay apart):")
		for _, k := range sortedKeys(ev.HardNegatives) {
			v := ev.HardNegatives[k]
			fmt.Fprintf(w, "  %-24s %d pairs, %d merged\n", k, v[0], v[1])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
