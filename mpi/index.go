package mpi

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"strings"

	"github.com/selondon/carematch/store"
)

// IndexOptions tune building the index.
type IndexOptions struct {
	LinkThreshold   float64
	ReviewThreshold float64
	// MaxClusterSize flags persons with more records than this; default 12.
	MaxClusterSize int
	// RunID names this night in the history.
	RunID string
	// PreviousDB is the last committed night's database, whose index the
	// master IDs carry on from; "" on the first night.
	PreviousDB string
	// Decisions are analysts' decisions in force, applied as hard
	// constraints.
	Decisions []Decision
	// UnreadableDecisions are lines of the decision log that could not be
	// applied; they are reported with the stale decisions, and the rest apply.
	UnreadableDecisions []UnreadableDecision
}

// UnreadableDecision is a line of the decision log that could not be read.
type UnreadableDecision struct {
	File   string // the log's base name
	Line   int
	Reason string
}

// Decision is an analyst's decision as the index applies it.
type Decision struct {
	// Prints are the records' fingerprints when the decision was made
	// (FingerprintSQL); if a record has changed since, the decision is
	// suspended and the item re-opened.
	LeftPrint, RightPrint string
	ID                    string
	Kind                  string    // link | no_link | detach
	Left, Right           [2]string // source_id, local_id; Right empty for detach
	SupersededBy          string    // a later decision about the same records replaced it: reported, not applied
}

// FingerprintSQL is a record's standardised details in one hash, over a
// row of prep: the one definition used when a decision is made and when a
// later night checks whether the records it was about have changed.
const FingerprintSQL = `md5(concat_ws('|', coalesce(nhs_number, ''), coalesce(given_name, ''), coalesce(middle_names, ''),
	coalesce(family_name, ''), coalesce(dob::VARCHAR, ''), coalesce(sex, ''), coalesce(postcode, ''), coalesce(address_key, '')))`

// namedRecord is a record a decision names, as tonight's run knows it.
type namedRecord struct {
	rid   int32
	print string
}

// lookupRecords finds named records in prep — their rid and fingerprint —
// with one join per thousand names, not a scan of every record.
func lookupRecords(ctx context.Context, db *store.DB, keys [][2]string) (map[[2]string]namedRecord, error) {
	out := map[[2]string]namedRecord{}
	for start := 0; start < len(keys); start += 1000 {
		chunk := keys[start:min(start+1000, len(keys))]
		vals := make([]string, len(chunk))
		args := make([]any, 0, 2*len(chunk))
		for i, k := range chunk {
			vals[i] = "(?, ?)"
			args = append(args, k[0], k[1])
		}
		q := "SELECT p.source_id, p.local_id, p.rid, " + FingerprintSQL + " FROM prep p JOIN (VALUES " +
			strings.Join(vals, ", ") + ") v(s, l) ON p.source_id = v.s AND p.local_id = v.l"
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k [2]string
			var r namedRecord
			if err := rows.Scan(&k[0], &k[1], &r.rid, &r.print); err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Fingerprints reads the fingerprints of records in a run's database; a
// record that is not there has none.
func Fingerprints(ctx context.Context, db *store.DB, recs [][2]string) (map[[2]string]string, error) {
	found, err := lookupRecords(ctx, db, recs)
	if err != nil {
		return nil, err
	}
	out := make(map[[2]string]string, len(found))
	for k, r := range found {
		out[k] = r.print
	}
	return out, nil
}

// applyDecisions turns decisions into analyst edges and constraints, and
// records those that no longer apply (a record is gone) as stale_decision
// exceptions and decided_persons for the review queue.
func applyDecisions(ctx context.Context, db *store.DB, ds []Decision, edges *[]Edge) (Constraints, error) {
	con := Constraints{Detached: map[int32]bool{}}
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE decided_pairs (rid_l INTEGER, rid_r INTEGER)`); err != nil {
		return con, err
	}
	if len(ds) == 0 {
		return con, nil
	}
	var keys [][2]string
	for _, d := range ds {
		keys = append(keys, d.Left)
		if d.Kind != "detach" {
			keys = append(keys, d.Right)
		}
	}
	found, err := lookupRecords(ctx, db, keys)
	if err != nil {
		return con, err
	}
	changed := map[string]string{}
	var decided [][2]int32
	var stale []Decision
	for _, d := range ds {
		if d.SupersededBy != "" {
			stale = append(stale, d)
			continue
		}
		ra, okA := found[d.Left]
		rb, okB := found[d.Right]
		a, b := ra.rid, rb.rid
		if !okA || (d.Kind != "detach" && !okB) {
			stale = append(stale, d)
			continue
		}
		var moved []string
		if d.LeftPrint != "" && d.LeftPrint != ra.print {
			moved = append(moved, d.Left[0]+":"+d.Left[1])
		}
		if d.RightPrint != "" && okB && d.RightPrint != rb.print {
			moved = append(moved, d.Right[0]+":"+d.Right[1])
		}
		if len(moved) > 0 {
			changed[d.ID] = strings.Join(moved, " and ")
			stale = append(stale, d)
			continue
		}
		switch d.Kind {
		case "link":
			*edges = append(*edges, Edge{min(a, b), max(a, b), MethodAnalyst, math.Inf(1)})
			decided = append(decided, [2]int32{min(a, b), max(a, b)})
		case "no_link":
			con.Apart = append(con.Apart, [2]int32{a, b})
			decided = append(decided, [2]int32{min(a, b), max(a, b)})
		case "detach":
			con.Detached[a] = true
		}
	}
	if err := db.AppendEach(ctx, "decided_pairs", len(decided), func(i int) []driver.Value {
		return []driver.Value{decided[i][0], decided[i][1]}
	}); err != nil {
		return con, err
	}
	return con, db.AppendEach(ctx, "exceptions", len(stale), func(i int) []driver.Value {
		d := stale[i]
		why := "a record it names is not in tonight's extracts"
		switch {
		case d.SupersededBy != "":
			why = "decision " + d.SupersededBy + " about the same records replaced it"
		case changed[d.ID] != "":
			why = "the details of " + changed[d.ID] + " have changed since: suspended, and the item re-opened for review"
		}
		return []driver.Value{"stale_decision", d.Left[0], d.Left[1], nil, nil,
			"analyst decision " + d.ID + " (" + d.Kind + ") no longer applies: " + why, d.ID, nil}
	})
}

// IndexStats counts what the index holds.
type IndexStats struct {
	Persons     int64            `json:"persons"`
	Records     int64            `json:"records"`
	Methods     map[string]int64 `json:"link_methods"`
	CutLinks    int              `json:"cut_links"`
	Large       int64            `json:"large_clusters"`
	Chained     int64            `json:"chained_clusters"`
	ReviewPairs int64            `json:"review_pairs"`
}

// BuildIndex clusters the linked records of prep (det_links, and scores at
// or above the link threshold) and writes the tables xref (rid, master_id,
// link_method, match_weight), master_index and review_pairs, and the
// exceptions of this stage.
func BuildIndex(ctx context.Context, db *store.DB, opt IndexOptions) (*IndexStats, error) {
	if opt.MaxClusterSize == 0 {
		opt.MaxClusterSize = 12
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(rid), 0) FROM prep").Scan(&n); err != nil {
		return nil, err
	}
	nhs := make([]string, n+1)
	if err := scan(ctx, db, "SELECT rid, nhs_number FROM prep WHERE nhs_number IS NOT NULL AND NOT nhs_disputed", func(rs *sql.Rows) error {
		var rid int32
		var num string
		if err := rs.Scan(&rid, &num); err != nil {
			return err
		}
		nhs[rid] = num
		return nil
	}); err != nil {
		return nil, err
	}
	var edges []Edge
	add := func(method string) func(rs *sql.Rows) error {
		return func(rs *sql.Rows) error {
			var e Edge
			if err := rs.Scan(&e.L, &e.R, &e.Weight); err != nil {
				return err
			}
			e.Method = method
			edges = append(edges, e)
			return nil
		}
	}
	if err := scan(ctx, db, "SELECT rid_l, rid_r, 'Infinity'::DOUBLE FROM det_links", add(MethodNHSNumber)); err != nil {
		return nil, err
	}
	if err := scan(ctx, db, fmt.Sprintf("SELECT rid_l, rid_r, weight FROM scores WHERE weight >= %g AND guard IS NULL", opt.LinkThreshold), add(MethodProbabilistic)); err != nil {
		return nil, err
	}
	con, err := applyDecisions(ctx, db, opt.Decisions, &edges)
	if err != nil {
		return nil, err
	}
	if err := db.AppendEach(ctx, "exceptions", len(opt.UnreadableDecisions), func(i int) []driver.Value {
		u := opt.UnreadableDecisions[i]
		return []driver.Value{"stale_decision", "decisions", nil, int64(u.Line), nil,
			"this line of the analysts' decision log cannot be applied (" + u.Reason + "); the other decisions apply", nil, u.File}
	}); err != nil {
		return nil, err
	}
	c := Cluster(n, nhs, edges, con)

	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE clusters (rid INTEGER, root INTEGER, link_method VARCHAR, match_weight DOUBLE)`); err != nil {
		return nil, err
	}
	if err := db.AppendEach(ctx, "clusters", n, func(i int) []driver.Value {
		rid := i + 1
		var w driver.Value
		if !math.IsNaN(c.Weight[rid]) {
			w = c.Weight[rid]
		}
		return []driver.Value{int32(rid), c.Root[rid], c.Method[rid], w}
	}); err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE cut_links (rid_l INTEGER, rid_r INTEGER, weight DOUBLE)`); err != nil {
		return nil, err
	}
	if err := db.AppendEach(ctx, "cut_links", len(c.Cut), func(i int) []driver.Value {
		return []driver.Value{c.Cut[i].L, c.Cut[i].R, c.Cut[i].Weight}
	}); err != nil {
		return nil, err
	}

	if err := assignMasterIDs(ctx, db, c, opt); err != nil {
		return nil, err
	}
	stmts := []string{
		`CREATE OR REPLACE TABLE xref AS
		SELECT c.rid, m.master_id, p.source_id, p.local_id, c.link_method, c.match_weight,
			CASE WHEN p.quarantined THEN 'quarantined: one of implausibly many records sharing a key; not linked, not published'
			     WHEN p.withheld THEN 'social care record without consent to share: not linked, not published' END AS withheld_reason
		FROM clusters c JOIN prep p ON p.rid = c.rid JOIN person_ids m ON m.root = c.root`,
		// The review queue: one item per two persons the model could not
		// decide between — a pair in the review band, or one a guard kept from
		// linking — unless the two persons hold different valid NHS numbers
		// (two people; nothing to decide). The item shows the pair of records
		// with the strongest evidence.
		`CREATE OR REPLACE TEMP TABLE person_nhs AS SELECT c.root, max(p.nhs_number) FILTER (NOT p.nhs_disputed) AS nhs FROM clusters c JOIN prep p USING (rid) GROUP BY c.root`,
		fmt.Sprintf(`CREATE OR REPLACE TABLE review_pairs AS
		SELECT 'review' AS kind, * EXCLUDE (root_l, root_r, k) FROM (
			SELECT s.*, least(a.root, b.root) AS root_l, greatest(a.root, b.root) AS root_r,
				row_number() OVER (PARTITION BY least(a.root, b.root), greatest(a.root, b.root) ORDER BY s.weight DESC, s.rid_l, s.rid_r) AS k
			FROM scores s JOIN clusters a ON a.rid = s.rid_l JOIN clusters b ON b.rid = s.rid_r
			JOIN person_nhs na ON na.root = a.root JOIN person_nhs nb ON nb.root = b.root
			WHERE a.root <> b.root AND (na.nhs IS NULL OR nb.nhs IS NULL OR na.nhs = nb.nhs)
			  AND NOT EXISTS (SELECT 1 FROM decided_pairs d JOIN clusters da ON da.rid = d.rid_l JOIN clusters db ON db.rid = d.rid_r
			                  WHERE least(da.root, db.root) = least(a.root, b.root) AND greatest(da.root, db.root) = greatest(a.root, b.root))
			  AND ((s.guard IS NULL AND s.weight >= %g AND s.weight < %g) OR (s.guard NOT LIKE 'block: %%' AND s.weight >= %g)))
		WHERE k = 1
		UNION ALL BY NAME
		-- NHS number conflicts still in two persons and not yet decided: an
		-- analyst says whether the number or the demographics are wrong.
		SELECT 'nhs_number_conflict' AS kind, k.rid_l, k.rid_r, s.* EXCLUDE (rid_l, rid_r)
		FROM nhs_conflicts k LEFT JOIN scores s USING (rid_l, rid_r)
		JOIN clusters a ON a.rid = k.rid_l JOIN clusters b ON b.rid = k.rid_r
		WHERE a.root <> b.root
		  AND NOT EXISTS (SELECT 1 FROM decided_pairs d WHERE d.rid_l = k.rid_l AND d.rid_r = k.rid_r)`,
			opt.ReviewThreshold, opt.LinkThreshold, opt.LinkThreshold),
		// Persons with a pair the model scores below the review band: joined by a chain.
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE chained AS
		SELECT a.root, min(s.weight) AS weakest FROM scores s JOIN clusters a ON a.rid = s.rid_l JOIN clusters b ON b.rid = s.rid_r
		WHERE a.root = b.root AND s.weight < %g GROUP BY a.root`, opt.ReviewThreshold),
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE large AS
		SELECT root, count(*) AS n FROM clusters GROUP BY root HAVING count(*) > %d`, opt.MaxClusterSize),
		// Exceptions of this stage.
		`INSERT INTO exceptions
		SELECT 'nhs_number_conflict', p.source_id, p.local_id, rec.line, 'nhs_number',
			'shares a valid NHS number with ' || o.source_id || ':' || o.local_id || ' but ' || k.reason || ': not linked on the number',
			p.nhs_number, rec.file
		FROM (SELECT rid_l AS me, rid_r AS other, * FROM nhs_conflicts UNION ALL SELECT rid_r, rid_l, * FROM nhs_conflicts) k
		JOIN prep p ON p.rid = k.me JOIN prep o ON o.rid = k.other
		JOIN records rec ON rec.source_id = p.source_id AND rec.local_id = p.local_id`,
		`INSERT INTO exceptions
		SELECT 'nhs_number_conflict', p.source_id, p.local_id, rec.line, 'nhs_number',
			'link to ' || o.source_id || ':' || o.local_id || ' (weight ' || round(k.weight, 1) || ') cut: it would put two different valid NHS numbers in one person',
			p.nhs_number, rec.file
		FROM (SELECT rid_l AS me, rid_r AS other, * FROM cut_links UNION ALL SELECT rid_r, rid_l, * FROM cut_links) k
		JOIN prep p ON p.rid = k.me JOIN prep o ON o.rid = k.other
		JOIN records rec ON rec.source_id = p.source_id AND rec.local_id = p.local_id`,
		`INSERT INTO exceptions
		SELECT 'suspicious_cluster', p.source_id, p.local_id, rec.line, NULL,
			CASE WHEN l.root IS NOT NULL THEN 'over-large person: ' || l.n || ' records' ELSE '' END ||
			CASE WHEN l.root IS NOT NULL AND ch.root IS NOT NULL THEN '; ' ELSE '' END ||
			CASE WHEN ch.root IS NOT NULL THEN 'chained person: two of its records score ' || round(ch.weakest, 1) || ', below the review band' ELSE '' END,
			x.master_id, rec.file
		FROM clusters c JOIN prep p ON p.rid = c.rid JOIN xref x ON x.rid = c.rid
		JOIN records rec ON rec.source_id = p.source_id AND rec.local_id = p.local_id
		LEFT JOIN large l ON l.root = c.root LEFT JOIN chained ch ON ch.root = c.root
		WHERE l.root IS NOT NULL OR ch.root IS NOT NULL`,
		// Records of one person in one extract: within-source duplicates.
		`INSERT INTO exceptions
		SELECT 'within_source_duplicate', p.source_id, p.local_id, rec.line, NULL,
			'same person (' || d.master_id || ') as ' || d.others || ' in the same extract', d.master_id, rec.file
		FROM (SELECT x.rid, x.master_id, string_agg(o.local_id, ', ' ORDER BY o.local_id) AS others
		      FROM xref x JOIN prep p USING (rid)
		      JOIN xref xo ON xo.master_id = x.master_id AND xo.rid <> x.rid JOIN prep o ON o.rid = xo.rid AND o.source_id = p.source_id
		      GROUP BY x.rid, x.master_id) d
		JOIN prep p ON p.rid = d.rid JOIN records rec ON rec.source_id = p.source_id AND rec.local_id = p.local_id`,
		// Persons holding several valid NHS numbers: clustering never makes
		// one, so this stays empty unless something is wrong; it is checked.
		`INSERT INTO exceptions
		SELECT 'several_nhs_numbers', p.source_id, p.local_id, rec.line, 'nhs_number',
			'person ' || x.master_id || ' holds ' || k.n || ' different valid NHS numbers', p.nhs_number, rec.file
		FROM xref x JOIN prep p USING (rid) JOIN records rec ON rec.source_id = p.source_id AND rec.local_id = p.local_id
		JOIN (SELECT x2.master_id, count(DISTINCT p2.nhs_number) AS n FROM xref x2 JOIN prep p2 USING (rid)
		      GROUP BY 1 HAVING count(DISTINCT p2.nhs_number) > 1) k ON k.master_id = x.master_id`,
		// Last: the golden record reads this stage's exceptions.
		goldenRecordSQL(runDate(opt.RunID)),
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}
	st := &IndexStats{Methods: map[string]int64{}, CutLinks: len(c.Cut)}
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(DISTINCT master_id) FROM xref), (SELECT count(*) FROM xref),
		(SELECT count(*) FROM large), (SELECT count(*) FROM chained), (SELECT count(*) FROM review_pairs)`).
		Scan(&st.Persons, &st.Records, &st.Large, &st.Chained, &st.ReviewPairs); err != nil {
		return nil, err
	}
	if err := scan(ctx, db, "SELECT link_method, count(*) FROM xref GROUP BY 1", func(rs *sql.Rows) error {
		var m string
		var k int64
		if err := rs.Scan(&m, &k); err != nil {
			return err
		}
		st.Methods[m] = k
		return nil
	}); err != nil {
		return nil, err
	}
	return st, nil
}

func scan(ctx context.Context, db *store.DB, q string, f func(*sql.Rows) error) error {
	rs, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := f(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// assignMasterIDs gives each person its master ID (see ids.go), carrying on
// from the previous night, and writes person_ids (root, master_id), the
// registry master_ids, the cumulative history and id_seq.
func assignMasterIDs(ctx context.Context, db *store.DB, c *Clusters, opt IndexOptions) error {
	previous := map[string]string{}
	registry := map[string]IDRecord{}
	next := int64(1)
	prevHistory := false
	if opt.PreviousDB != "" {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("ATTACH %s AS prev (READ_ONLY)", store.QuoteString(opt.PreviousDB))); err != nil {
			return fmt.Errorf("previous night's index: %w", err)
		}
		defer db.ExecContext(ctx, "DETACH prev")
		var tables int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = 'prev' AND table_name IN ('xref', 'master_ids', 'id_seq', 'history')`).Scan(&tables); err != nil {
			return err
		}
		if tables == 4 {
			prevHistory = true
			if err := scan(ctx, db, "SELECT source_id, local_id, master_id FROM prev.xref", func(rs *sql.Rows) error {
				var s, l, m string
				if err := rs.Scan(&s, &l, &m); err != nil {
					return err
				}
				previous[s+"\x00"+l] = m
				return nil
			}); err != nil {
				return err
			}
			if err := scan(ctx, db, "SELECT master_id, created_run, status FROM prev.master_ids", func(rs *sql.Rows) error {
				var r IDRecord
				if err := rs.Scan(&r.ID, &r.CreatedRun, &r.Status); err != nil {
					return err
				}
				registry[r.ID] = r
				return nil
			}); err != nil {
				return err
			}
			if err := db.QueryRowContext(ctx, "SELECT next FROM prev.id_seq").Scan(&next); err != nil {
				return err
			}
		}
	}
	keys := map[int32]string{}
	if err := scan(ctx, db, "SELECT rid, source_id, local_id FROM prep", func(rs *sql.Rows) error {
		var rid int32
		var s, l string
		if err := rs.Scan(&rid, &s, &l); err != nil {
			return err
		}
		keys[rid] = s + "\x00" + l
		return nil
	}); err != nil {
		return err
	}
	members := map[int32][]string{}
	for rid := 1; rid < len(c.Root); rid++ {
		members[c.Root[rid]] = append(members[c.Root[rid]], keys[int32(rid)])
	}
	ids, events, next := AssignIDs(members, previous, registry, next)

	UpdateRegistry(registry, ids, events, opt.RunID)
	stmts := []string{
		`CREATE OR REPLACE TABLE person_ids (root INTEGER, master_id VARCHAR)`,
		`CREATE OR REPLACE TABLE master_ids (master_id VARCHAR, created_run VARCHAR, status VARCHAR)`,
		`CREATE OR REPLACE TABLE history (run_id VARCHAR, master_id VARCHAR, event VARCHAR, other_id VARCHAR, reason VARCHAR)`,
		fmt.Sprintf(`CREATE OR REPLACE TABLE id_seq AS SELECT %d::BIGINT AS next`, next),
	}
	if prevHistory {
		stmts = append(stmts, `INSERT INTO history SELECT * FROM prev.history`)
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("master IDs: %w", err)
		}
	}
	roots := make([]int32, 0, len(ids))
	for r := range ids {
		roots = append(roots, r)
	}
	if err := db.AppendEach(ctx, "person_ids", len(roots), func(i int) []driver.Value {
		return []driver.Value{roots[i], ids[roots[i]]}
	}); err != nil {
		return err
	}
	regs := make([]IDRecord, 0, len(registry))
	for _, r := range registry {
		regs = append(regs, r)
	}
	if err := db.AppendEach(ctx, "master_ids", len(regs), func(i int) []driver.Value {
		return []driver.Value{regs[i].ID, regs[i].CreatedRun, regs[i].Status}
	}); err != nil {
		return err
	}
	return db.AppendEach(ctx, "history", len(events), func(i int) []driver.Value {
		e := events[i]
		var other driver.Value
		if e.OtherID != "" {
			other = e.OtherID
		}
		return []driver.Value{opt.RunID, e.MasterID, e.Event, other, e.Reason}
	})
}

// runDate is the calendar date of a run ID (20261124T021500Z → 2026-11-24).
func runDate(runID string) string {
	if len(runID) < 8 {
		return "1970-01-01"
	}
	return runID[:4] + "-" + runID[4:6] + "-" + runID[6:8]
}
