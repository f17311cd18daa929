package mpi

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/selondon/carematch/linkage"
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
	// Incremental keeps last night's persons (PreviousDB's) where nothing
	// they are made from changed (kept.go); linkage must have left
	// store.CleanRecords. Otherwise every component is clustered.
	Incremental bool
	// Decisions are analysts' decisions in force, applied as hard
	// constraints.
	Decisions []Decision
	// Model is tonight's model: clustering scores with it the pairs of
	// records in one person that no blocking rule compared (coherent.go).
	// Without one, persons are checked against the scored pairs only.
	Model *linkage.Model
	// UnreadableDecisions are lines of the decision log that could not be
	// applied; they are reported with the stale decisions, and the rest apply.
	UnreadableDecisions []UnreadableDecision
}

// xrefSQL makes xref: each record's person and how it joined it, in the
// order of the files made from it (master_id, then rid: (source_id,
// local_id) as one integer), so that they are written without a sort.
var xrefSQL = `CREATE OR REPLACE TABLE xref AS
		SELECT c.rid, m.master_id, p.source_id, p.local_id, ` + methodNamesSQL + `[c.method] AS link_method, c.match_weight,
			CASE WHEN p.quarantined THEN 'quarantined: one of implausibly many records sharing a key; not linked, not published'
			     WHEN p.withheld THEN 'social care record without consent to share: not linked, not published' END AS withheld_reason
		FROM clusters c JOIN prep p ON p.rid = c.rid JOIN person_ids m ON m.root = c.root
		ORDER BY m.master_id, c.rid`

// methodNamesSQL is methodNames as an SQL list, which clusters.method
// indexes (from 1).
var methodNamesSQL = func() string {
	q := make([]string, len(methodNames)-1)
	for i, m := range methodNames[1:] {
		q[i] = store.QuoteString(m)
	}
	return "[" + strings.Join(q, ", ") + "]"
}()

// IndexStats counts what the index holds.
type IndexStats struct {
	Persons     int64            `json:"persons"`
	Records     int64            `json:"records"`
	Methods     map[string]int64 `json:"link_methods"`
	CutLinks    int              `json:"cut_links"`
	ChainLinks  int              `json:"chain_links"`
	Coherence   *Coherence       `json:"coherence"`
	Optouts     *OptoutStats     `json:"optouts"`
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
		opt.MaxClusterSize = DefaultMaxClusterSize
	}
	var (
		n          int
		nhs        []string
		edges      []Edge
		con        Constraints
		cut, chain int
		co         *Coherence
	)
	steps := []store.Step{
		{Name: "linked pairs", Go: func(ctx context.Context) (err error) {
			n, nhs, edges, err = linkedPairs(ctx, db, opt.LinkThreshold)
			return err
		}},
		{Name: "analysts' decisions", Go: func(ctx context.Context) (err error) {
			records, err := formDecisions(ctx, db, opt.Decisions)
			if err != nil {
				return err
			}
			if con, err = applyDecisions(ctx, db, records, &edges); err != nil {
				return err
			}
			return reportUnreadable(ctx, db, opt.UnreadableDecisions)
		}},
		{Name: "clusters", Go: func(ctx context.Context) error {
			cl, err := coherentClusters(ctx, db, n, nhs, edges, con, opt)
			if err != nil {
				return err
			}
			// Only the counts outlive the step: the records' persons are in
			// the tables it writes, and holding clustering's arrays and the
			// links through the steps after it kept a night's peak memory
			// hundreds of megabytes higher (nightly's heapReleaser).
			cut, chain, co = len(cl.c.Cut), len(cl.c.Chain), cl.co
			nhs, edges, con = nil, nil, Constraints{}
			return writeClusters(ctx, db, cl)
		}},
		{Name: "master IDs", Go: func(ctx context.Context) error { return assignMasterIDs(ctx, db, opt) }},
		{Name: "xref", SQL: xrefSQL},
	}
	var sources int
	if err := db.QueryRowContext(ctx, "SELECT count(DISTINCT source_id) FROM prep").Scan(&sources); err != nil {
		return nil, store.InStep("index", "sources", err)
	}
	steps = append(steps, goldenRecordSteps(runDate(opt.RunID), sources)...)
	steps = append(steps, reviewPairsSQL(opt.ReviewThreshold, opt.LinkThreshold, opt.MaxClusterSize)...)
	steps = append(steps, optoutSteps(opt.ReviewThreshold, opt.LinkThreshold)...)
	steps = append(steps, checksSQL(opt.MaxClusterSize)...)
	if err := db.RunSteps(ctx, "index", steps...); err != nil {
		return nil, err
	}
	st, err := indexStats(ctx, db, cut)
	if err != nil {
		return nil, store.InStep("index", "counts", err)
	}
	st.ChainLinks, st.Coherence = chain, co
	if st.Optouts, err = optoutStats(ctx, db); err != nil {
		return nil, store.InStep("index", "opt-out counts", err)
	}
	// Clustering's working tables are done with: xref and master_index say
	// everything later stages need, and clustering what the next night keeps.
	_, err = db.ExecContext(ctx, "DROP TABLE clusters; DROP TABLE person_ids")
	return st, store.InStep("index", "drop working tables", err)
}

// indexStats counts what the index holds.
func indexStats(ctx context.Context, db *store.DB, cut int) (*IndexStats, error) {
	st := &IndexStats{Methods: map[string]int64{}, CutLinks: cut}
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

// linkedPairs reads the links clustering starts from: the NHS stage's, and
// every scored pair at or above the link threshold that no guard holds back;
// with each record's valid, undisputed NHS number (indexed by rid, n the
// highest rid). They are read as Arrow batches: at two million records
// database/sql's value-at-a-time reading was most of this step.
func linkedPairs(ctx context.Context, db *store.DB, linkThreshold float64) (n int, nhs []string, edges []Edge, err error) {
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(rid), 0) FROM prep").Scan(&n); err != nil {
		return 0, nil, nil, err
	}
	nhs = make([]string, n+1)
	if err := db.QueryBatches(ctx, "SELECT rid, nhs_number FROM prep WHERE nhs_number IS NOT NULL AND NOT nhs_disputed", func(b store.Batch) error {
		rids, err := b.Int32s(0)
		if err != nil {
			return err
		}
		nums, err := b.Strings(1)
		if err != nil {
			return err
		}
		for i := range b.Len() {
			nhs[rids[i]] = strings.Clone(nums.Value(i)) // the batch is freed after this call
		}
		return nil
	}); err != nil {
		return 0, nil, nil, err
	}
	add := func(method string) func(l, r int32, w float64) {
		return func(l, r int32, w float64) { edges = append(edges, Edge{L: l, R: r, Method: method, Weight: w}) }
	}
	scored := fmt.Sprintf("FROM scores WHERE weight >= %g AND guard IS NULL", linkThreshold)
	var count int
	if err := db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM det_links) + (SELECT count(*) "+scored+")").Scan(&count); err != nil {
		return 0, nil, nil, err
	}
	edges = make([]Edge, 0, count) // millions of edges: grown by appending, the copies doubled the peak
	if err := db.QueryPairs(ctx, "SELECT rid_l, rid_r, 'Infinity'::DOUBLE FROM det_links", add(MethodNHSNumber)); err != nil {
		return 0, nil, nil, err
	}
	if err := db.QueryPairs(ctx, "SELECT rid_l, rid_r, weight "+scored, add(MethodProbabilistic)); err != nil {
		return 0, nil, nil, err
	}
	return n, nhs, edges, nil
}

// writeClusters writes clusters (rid, root, method: how the record joined
// its person, by its number in methodNames, match_weight: the link's, and
// the record's component's size and signature: what the next night keeps
// persons by, kept.go; a person lies within its component, so the size also
// bounds the person's, and the index's checks and golden record leave out
// by it the records that cannot be in what they look for) and a copy of it
// in the state file, clustering;
// kept_roots (root, prev_root: the persons kept from last night, for the
// master IDs), chained (root, weakest: the persons holding a pair
// below the review band, weakest the lowest weight of one), cut_links (the
// links clustering refused for two NHS numbers) and chain_links (those it
// refused to keep a person coherent, and why).
func writeClusters(ctx context.Context, db *store.DB, cl *clustering) error {
	c, weakest := cl.c, cl.weakest
	n := len(c.Root) - 1
	rids, method, size, sig := make([]int32, n), make([]int32, n), make([]int32, n), make([]int64, n)
	for i := range rids {
		rids[i], method[i] = int32(i+1), methodCode(c.Method[i+1])
		size[i], sig[i] = cl.size[cl.comp[i+1]], int64(cl.sig[cl.comp[i+1]])
	}
	if err := db.CreateTableFrom(ctx, store.Staged("clusters"), store.Int32Column("rid", rids), store.Int32Column("root", c.Root[1:]),
		store.Int32Column("method", method), store.Float64Column("match_weight", c.Weight[1:]),
		store.Int32Column("size", size), store.Int64Column("sig", sig)); err != nil {
		return err
	}
	// Tonight's steps read clusters from memory; the next night reads the
	// copy in the state file (from Arrow straight into the file took 0.9–1.0
	// s at two million records, through memory and a copy 0.8 s).
	if _, err := db.ExecContext(ctx, "CREATE OR REPLACE TABLE clustering AS SELECT * FROM "+store.Staged("clusters")); err != nil {
		return err
	}
	if err := db.CreateTableFrom(ctx, store.Staged("kept_roots"), store.Int32Column("root", cl.keptRoots), store.Int32Column("prev_root", cl.keptPrevRoots)); err != nil {
		return err
	}
	roots := slices.Sorted(maps.Keys(weakest))
	weights := make([]float64, len(roots))
	for i, r := range roots {
		weights[i] = weakest[r]
	}
	if err := db.CreateTableFrom(ctx, store.Staged("chained"), store.Int32Column("root", roots), store.Float64Column("weakest", weights)); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE cut_links (rid_l INTEGER, rid_r INTEGER, weight DOUBLE)`); err != nil {
		return err
	}
	if err := db.AppendEach(ctx, "cut_links", len(c.Cut), func(i int) []driver.Value {
		return []driver.Value{c.Cut[i].L, c.Cut[i].R, c.Cut[i].Weight}
	}); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE chain_links (rid_l INTEGER, rid_r INTEGER, weight DOUBLE, against_l INTEGER, against_r INTEGER, size INTEGER)`); err != nil {
		return err
	}
	return db.AppendEach(ctx, "chain_links", len(c.Chain), func(i int) []driver.Value {
		e := c.Chain[i]
		var al, ar, size any
		if e.Against[0] != 0 {
			al, ar = e.Against[0], e.Against[1]
		} else {
			size = int32(e.Size)
		}
		return []driver.Value{e.L, e.R, e.Weight, al, ar, size}
	})
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
