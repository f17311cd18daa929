package mpi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/store"
)

// Persons kept from last night (issue 12). Clustering makes each connected
// component's persons from what lies inside it alone: its records' NHS
// numbers, the links between them, the scored pairs within it (the clear
// non-matches it must respect, and the pairs it need not score again), the
// analysts' decisions about its records, and the model that scores the
// pairs no blocking rule compared. Components never share a link (recluster
// relies on the same fact). So a component whose every such input is last
// night's — the same records, each as it was (store.CleanRecords), the
// same links with the same weights, the same scored pairs, the same
// decisions — has last night's persons, and an incremental night keeps them
// instead of clustering it again: its records' persons, how each joined
// its person, the links refused inside it (cut_links, chain_links) and the
// pairs clustering scored inside its persons (person_pairs), all under
// tonight's rids; and each kept person keeps its master ID without the
// history rules' joins (ids.go).
//
// A component's inputs are summed up in a signature (componentSigs), kept
// for every record in the state table clustering (sig), with the
// component's size. Tonight's signature of a component of clean records is
// computed over last night's rids; where every record of the component
// carries last night's signature and size equal to it, the component is
// last night's. rid numbers records
// in (source_id, local_id) order, so the order of two records, which
// clustering's ties follow, is the same on both nights.

// componentSigs sums up, for each component (sig[rep], rep the component's
// representative in comp), everything clustering makes its persons from:
// its records (id, the valid NHS number, detached by an analyst or not),
// the links between them (method and weight), the scored pairs within it
// (weight) and the analysts' no_link pairs within it. id names a record:
// tonight's rid, or last night's for a record as it was then. The sum of a
// strong hash of each item is the same in any order, and an item twice
// counts twice.
func componentSigs(n int, comp []int32, id func(int32) uint64, nhs []string, edges []Edge, within []linkage.ScoredPair, con Constraints) []uint64 {
	sig := make([]uint64, n+1)
	for i := 1; i <= n; i++ {
		r := int32(i)
		var detached uint64
		if con.Detached[r] {
			detached = 1
		}
		sig[comp[r]] += item(1, id(r), stringHash(nhs[r]), detached)
	}
	for _, e := range edges {
		sig[comp[e.L]] += item(2, id(e.L), id(e.R), uint64(methodCode(e.Method))<<56^math.Float64bits(e.Weight))
	}
	for _, p := range within {
		sig[comp[p.L]] += item(3, id(p.L), id(p.R), math.Float64bits(p.Weight))
	}
	for _, p := range con.Apart {
		if comp[p[0]] == comp[p[1]] {
			a, b := id(p[0]), id(p[1])
			sig[comp[p[0]]] += item(4, min(a, b), max(a, b), 0)
		}
	}
	return sig
}

// methodCode numbers a link method: its place in methodNames.
func methodCode(m string) int32 {
	return int32(max(slices.Index(methodNames, m), 0))
}

// item hashes one input of a component (kind says which sort).
func item(kind, a, b, c uint64) uint64 {
	return mix(mix(mix(mix(kind)^a)^b) ^ c)
}

// mix is a 64-bit finaliser (splitmix64's): every bit of x moves every bit
// of the result.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// stringHash is FNV-1a, 64 bits.
func stringHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// sizes counts each component's records (size[rep]).
func sizes(n int, comp []int32) []int32 {
	size := make([]int32, n+1)
	for i := 1; i <= n; i++ {
		size[comp[i]]++
	}
	return size
}

// keptPersons is what an incremental night keeps of last night's
// clustering: the components it keeps (kept[rep]), and their records'
// persons, methods and weights, refused links and the pairs scored inside
// their persons, under tonight's rids.
type keptPersons struct {
	kept   []bool
	c      *Clusters            // Root, Method and Weight of the kept records; Cut and Chain inside them
	pairs  []linkage.ScoredPair // the pairs scored inside the kept persons, carried into scores
	record int
	// roots are the kept persons' roots, prevRoots last night's: each
	// keeps its master ID (ids.go).
	roots, prevRoots []int32
}

// has says whether rid's component is kept.
func (k *keptPersons) has(comp []int32, rid int32) bool { return k != nil && k.kept[comp[rid]] }

// keepLastNight finds the components whose inputs are last night's (the
// previous state database prevDB, its clustering) and carries their persons
// into tonight's: see the top of this file. It inserts the pairs last
// night's clustering scored inside them into scores and person_pairs
// (which must be empty). Without last night's clustering as this version
// keeps it (a state from before) it keeps nothing.
//
// Last night's tables are read whole, by rid, and matched to tonight's
// records in Go through store.CleanRecords: at two million records 0.3–0.4
// s, where joining them in DuckDB and reading the result took 0.7 s.
func keepLastNight(ctx context.Context, db *store.DB, prevDB string, n int, comp, size []int32, nhs []string, edges []Edge, within []linkage.ScoredPair, con Constraints) (*keptPersons, error) {
	detach, err := db.AttachReadOnly(ctx, prevDB, "prevk")
	if err != nil {
		return nil, err
	}
	defer detach()
	ok, err := db.HasTables(ctx, "prevk", "clustering", "person_pairs", "cut_links", "chain_links")
	if err != nil || !ok {
		return nil, err
	}
	var cols int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_columns() WHERE database_name = 'prevk' AND table_name = 'clustering'
		AND column_name IN ('rid', 'root', 'size', 'sig', 'method', 'match_weight')`).Scan(&cols); err != nil || cols != 6 {
		return nil, err
	}
	last, err := readLastClusters(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("last night's persons: %w", err)
	}
	// Tonight's rid of each of last night's clean records, and back.
	prevRid, now := make([]int32, n+1), make([]int32, len(last.root))
	if err := db.QueryBatches(ctx, "SELECT prev_rid, rid FROM "+store.CleanRecords, func(b store.Batch) error {
		prids, errP := b.Int32s(0)
		rids, errR := b.Int32s(1)
		if err := errors.Join(errP, errR); err != nil {
			return err
		}
		for i, r := range rids {
			if int(prids[i]) >= len(now) {
				return fmt.Errorf("clean record %d is not in last night's clustering", prids[i])
			}
			prevRid[r], now[prids[i]] = prids[i], r
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("clean records: %w", err)
	}
	sig := componentSigs(n, comp, func(r int32) uint64 { return uint64(prevRid[r]) }, nhs, edges, within, con)
	k := &keptPersons{kept: make([]bool, n+1), c: &Clusters{Root: make([]int32, n+1), Method: make([]string, n+1), Weight: make([]float64, n+1)}}
	for i := 1; i <= n; i++ {
		k.kept[comp[i]] = true
	}
	// A component is kept when each of its records is clean, and was last
	// night in a component of its size with tonight's signature, whose
	// person's root is one of tonight's records of the component.
	for i := 1; i <= n; i++ {
		c, p := comp[i], prevRid[i]
		if p == 0 || last.sig[p] != sig[c] || last.size[p] != size[c] || now[last.root[p]] == 0 || comp[now[last.root[p]]] != c {
			k.kept[c] = false
		}
	}
	for i := 1; i <= n; i++ {
		if p := prevRid[i]; k.kept[comp[i]] {
			k.record++
			k.c.Root[i], k.c.Method[i], k.c.Weight[i] = now[last.root[p]], methodNames[last.method[p]], last.weight[p]
			if k.c.Root[i] == int32(i) {
				k.roots, k.prevRoots = append(k.roots, int32(i)), append(k.prevRoots, p)
			}
		}
	}
	// Tonight's rid of one of last night's records in a kept component, or 0.
	keptNow := func(prev int32) int32 {
		if prev <= 0 || int(prev) >= len(now) || now[prev] == 0 || !k.kept[comp[now[prev]]] {
			return 0
		}
		return now[prev]
	}
	if err := k.carryRefused(ctx, db, keptNow); err != nil {
		return nil, err
	}
	return k, k.carryPersonPairs(ctx, db, keptNow)
}

// lastClusters is last night's clustering table (tonight's clusters), by last night's rid.
type lastClusters struct {
	root, size, method []int32
	sig                []uint64
	weight             []float64
}

func readLastClusters(ctx context.Context, db *store.DB) (*lastClusters, error) {
	var prevN int
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(rid), 0) FROM prevk.clustering").Scan(&prevN); err != nil {
		return nil, err
	}
	l := &lastClusters{root: make([]int32, prevN+1), size: make([]int32, prevN+1), method: make([]int32, prevN+1),
		sig: make([]uint64, prevN+1), weight: make([]float64, prevN+1)}
	err := db.QueryBatches(ctx, "SELECT rid, root, size, sig, method, match_weight FROM prevk.clustering", func(b store.Batch) error {
		var cols [5][]int32
		for i, j := range []int{0, 1, 2, 4} {
			var err error
			if cols[i], err = b.Int32s(j); err != nil {
				return err
			}
		}
		sigs, err := b.Int64s(3)
		if err != nil {
			return err
		}
		weights, err := b.Float64sOrNaN(5)
		if err != nil {
			return err
		}
		for i, r := range cols[0] {
			if m := cols[3][i]; m < 1 || int(m) >= len(methodNames) {
				return fmt.Errorf("record %d: link method %d", r, m)
			}
			l.root[r], l.size[r], l.method[r], l.sig[r], l.weight[r] = cols[1][i], cols[2][i], cols[3][i], uint64(sigs[i]), weights[i]
		}
		return nil
	})
	return l, err
}

// carryRefused reads the links last night's clustering refused inside the
// kept components (cut_links, chain_links), under tonight's rids.
func (k *keptPersons) carryRefused(ctx context.Context, db *store.DB, keptNow func(int32) int32) error {
	if err := db.QueryPairs(ctx, "SELECT rid_l, rid_r, weight FROM prevk.cut_links", func(l, r int32, w float64) {
		if l, r = keptNow(l), keptNow(r); l != 0 && r != 0 {
			m := MethodProbabilistic
			if math.IsInf(w, 1) {
				m = MethodNHSNumber
			}
			k.c.Cut = append(k.c.Cut, Edge{L: l, R: r, Method: m, Weight: w})
		}
	}); err != nil {
		return fmt.Errorf("links cut last night: %w", err)
	}
	rows, err := db.QueryContext(ctx, "SELECT rid_l, rid_r, weight, coalesce(against_l, 0), coalesce(against_r, 0), coalesce(size, 0) FROM prevk.chain_links")
	if err != nil {
		return fmt.Errorf("links refused last night: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e := Refused{Edge: Edge{Method: MethodProbabilistic}}
		if err := rows.Scan(&e.L, &e.R, &e.Weight, &e.Against[0], &e.Against[1], &e.Size); err != nil {
			return err
		}
		if e.L, e.R = keptNow(e.L), keptNow(e.R); e.L != 0 && e.R != 0 {
			e.Against[0], e.Against[1] = keptNow(e.Against[0]), keptNow(e.Against[1])
			k.c.Chain = append(k.c.Chain, e)
		}
	}
	return rows.Err()
}

// carryPersonPairs inserts into person_pairs and scores the pairs last
// night's clustering scored inside the kept persons (person_pairs holds
// their rows of scores), which no one scores tonight: a full night's
// clustering would score them again, with the same model, to the same row.
func (k *keptPersons) carryPersonPairs(ctx context.Context, db *store.DB, keptNow func(int32) int32) error {
	var prevL, prevR, ls, rs []int32
	if err := db.QueryPairs(ctx, "SELECT rid_l, rid_r, weight FROM prevk.person_pairs", func(l, r int32, w float64) {
		if a, b := keptNow(l), keptNow(r); a != 0 && b != 0 {
			prevL, prevR, ls, rs = append(prevL, l), append(prevR, r), append(ls, a), append(rs, b)
			k.pairs = append(k.pairs, linkage.ScoredPair{L: a, R: b, Weight: w})
		}
	}); err != nil {
		return fmt.Errorf("pairs scored inside last night's persons: %w", err)
	}
	if err := db.CreateTableFrom(ctx, store.Staged("kept_person_pairs"), store.Int32Column("prev_l", prevL), store.Int32Column("prev_r", prevR),
		store.Int32Column("rid_l", ls), store.Int32Column("rid_r", rs)); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, `INSERT INTO person_pairs BY NAME
		SELECT p.* REPLACE (k.rid_l AS rid_l, k.rid_r AS rid_r)
		FROM prevk.person_pairs p JOIN kept_person_pairs k ON k.prev_l = p.rid_l AND k.prev_r = p.rid_r;
		INSERT INTO scores BY NAME SELECT * FROM person_pairs;
		DROP TABLE kept_person_pairs`)
	return err
}

// methodNames are the link methods by their number in clusters.method
// (methodCode).
var methodNames = []string{"", MethodAnalyst, MethodNHSNumber, MethodProbabilistic, MethodSingleton}

// overlay puts the kept components' persons into c, clustered without them,
// and their refused links among c's, in clustering's order.
func (k *keptPersons) overlay(c *Clusters, comp []int32) {
	for i := 1; i < len(c.Root); i++ {
		if k.kept[comp[i]] {
			c.Root[i], c.Method[i], c.Weight[i] = k.c.Root[i], k.c.Method[i], k.c.Weight[i]
		}
	}
	c.Cut = append(c.Cut, k.c.Cut...)
	strongestFirst(c.Cut)
	c.Chain = append(c.Chain, k.c.Chain...)
	slices.SortFunc(c.Chain, func(a, b Refused) int { return edgeOrder(a.Edge, b.Edge) })
}
