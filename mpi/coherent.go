package mpi

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/store"
)

// Coherence counts what keeping persons coherent took.
type Coherence struct {
	// Rounds of clustering: one, and one more each time pairs no blocking
	// rule compared were found inside a person and scored.
	Rounds int `json:"rounds"`
	// PairsScored are those pairs, over all rounds.
	PairsScored int64 `json:"pairs_scored"`
	// NonMatches are the pairs below the review band that clustering had to
	// respect: both records reachable from each other by links.
	NonMatches int `json:"non_matches"`
}

// coherentClusters clusters the records so that every person hangs
// together: no two of its records score below the review band unless a
// verified NHS number or an analyst's link joins them, and no probabilistic
// link makes a person of more than opt.MaxClusterSize records.
//
// Blocking compares only the pairs some rule puts together, so two records
// a chain of links would join may never have been compared. Clustering
// therefore runs in rounds: each round's persons are searched for pairs of
// records not yet scored (in persons that a probabilistic link made; an
// NHS-number or analyst's person needs no proof), those pairs are scored
// with tonight's model (linkage.ScorePairs, into scores), the clear
// non-matches among them join the constraints, and clustering runs again.
// It stops when a round's persons hold no unscored pair, so every pair of
// records in a published person made by the model has a score. Each round
// only adds constraints, and scored pairs are never scored again, so the
// rounds end; on the fixtures it takes two or three.
//
// It also returns the chained persons: those still holding a pair that
// scores below the review band (joined by an NHS-number or an analyst's
// link), each with its weakest pair's weight. Every such pair is one of the
// non-matches, so they are found here rather than by joining every scored
// pair to the persons in SQL (8.5 s at ten million records).
func coherentClusters(ctx context.Context, db *store.DB, n int, nhs []string, edges []Edge, con Constraints, opt IndexOptions) (*Clusters, *Coherence, map[int32]float64, error) {
	comp := components(n, edges)
	below, err := nonMatches(ctx, db, opt.ReviewThreshold, comp)
	if err != nil {
		return nil, nil, nil, err
	}
	con.NonMatch = make([][2]int32, len(below))
	for i, p := range below {
		con.NonMatch[i] = [2]int32{p.L, p.R}
	}
	con.MaxSize = opt.MaxClusterSize
	co := &Coherence{Rounds: 1}
	c := Cluster(n, nhs, edges, con)
	var prev []int32
	for opt.Model != nil {
		k, err := unscoredPairs(ctx, db, c, prev)
		if err != nil {
			return nil, nil, nil, err
		}
		if k == 0 {
			break
		}
		scored, err := linkage.ScorePairs(ctx, db, opt.Model, store.Staged("unscored_pairs"))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("score pairs within persons: %w", err)
		}
		co.PairsScored += int64(len(scored))
		// Only the components holding a new non-match can come out
		// otherwise: they are clustered again, the rest kept.
		affected := map[int32]bool{}
		for _, p := range scored {
			if p.Weight < opt.ReviewThreshold {
				below = append(below, p)
				con.NonMatch = append(con.NonMatch, [2]int32{p.L, p.R})
				affected[comp[p.L]] = true
			}
		}
		if len(affected) == 0 {
			break
		}
		co.Rounds++
		prev = c.Root
		c = recluster(c, n, nhs, edges, con, comp, affected)
	}
	co.NonMatches = len(con.NonMatch)
	return c, co, weakestInside(c, below), nil
}

// weakestInside is, for each person (by root) holding one of the pairs
// below, the lowest weight of those pairs.
func weakestInside(c *Clusters, below []linkage.ScoredPair) map[int32]float64 {
	weakest := map[int32]float64{}
	for _, p := range below {
		if r := c.Root[p.L]; r == c.Root[p.R] {
			if w, ok := weakest[r]; !ok || p.Weight < w {
				weakest[r] = p.Weight
			}
		}
	}
	return weakest
}

// recluster clusters the affected components again (under con, which has
// grown) and keeps the rest of c. Components never share a link, so this is
// what clustering everything again would give, in a fraction of the time
// (at two million records a full clustering is 1–2.5 s a round). The lists
// of refused links keep clustering's order, strongest first.
func recluster(c *Clusters, n int, nhs []string, edges []Edge, con Constraints, comp []int32, affected map[int32]bool) *Clusters {
	in := func(rid int32) bool { return affected[comp[rid]] }
	var sub []Edge
	for _, e := range edges {
		if in(e.L) {
			sub = append(sub, e)
		}
	}
	d := Cluster(n, nhs, sub, con)
	for i := 1; i <= n; i++ {
		if !in(int32(i)) {
			d.Root[i], d.Method[i], d.Weight[i] = c.Root[i], c.Method[i], c.Weight[i]
		}
	}
	keep := func(old, now []Edge) []Edge {
		out := now
		for _, e := range old {
			if !in(e.L) {
				out = append(out, e)
			}
		}
		strongestFirst(out)
		return out
	}
	d.Cut, d.Held = keep(c.Cut, d.Cut), keep(c.Held, d.Held)
	chain := d.Chain
	for _, e := range c.Chain {
		if !in(e.L) {
			chain = append(chain, e)
		}
	}
	slices.SortFunc(chain, func(a, b Refused) int { return edgeOrder(a.Edge, b.Edge) })
	d.Chain = chain
	return d
}

// components are the connected components of the records under every
// link, constraints aside (component[rid] is a representative): no person
// clustering makes reaches beyond one.
func components(n int, edges []Edge) []int32 {
	parent := make([]int32, n+1)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, e := range edges {
		if a, b := find(e.L), find(e.R); a != b {
			parent[max(a, b)] = min(a, b)
		}
	}
	for i := range parent {
		parent[i] = find(int32(i))
	}
	return parent
}

// nonMatches reads the scored pairs below the review band whose records
// are in one component: the only ones a person could come to hold. Most
// candidate pairs score below the band and few of them are in one
// component, so the few are sorted here, in Go, rather than all of them by
// DuckDB (24 million pairs at ten million records).
func nonMatches(ctx context.Context, db *store.DB, reviewThreshold float64, comp []int32) ([]linkage.ScoredPair, error) {
	var out []linkage.ScoredPair
	err := db.QueryPairs(ctx, fmt.Sprintf("SELECT rid_l, rid_r, weight FROM scores WHERE weight < %g", reviewThreshold), func(l, r int32, w float64) {
		if comp[l] == comp[r] {
			out = append(out, linkage.ScoredPair{L: l, R: r, Weight: w})
		}
	})
	slices.SortFunc(out, func(a, b linkage.ScoredPair) int { return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(a.R, b.R)) })
	return out, err
}

// unscoredPairs writes unscored_pairs: the pairs of records of one person
// that scores does not hold, in the persons a probabilistic link made (at
// most opt.MaxClusterSize records each). A person that the previous round
// (its roots prev, nil in the first) made the same has had its pairs
// scored already and is skipped. It returns how many pairs.
func unscoredPairs(ctx context.Context, db *store.DB, c *Clusters, prev []int32) (int64, error) {
	n := len(c.Root) - 1
	probabilistic, changed := make([]bool, n+1), make([]bool, n+1)
	size := make([]int32, n+1)
	for i := 1; i <= n; i++ {
		size[c.Root[i]]++
		if c.Method[i] == MethodProbabilistic {
			probabilistic[c.Root[i]] = true
		}
		if prev == nil || prev[i] != c.Root[i] {
			changed[c.Root[i]] = true
		}
	}
	var rids, roots []int32
	for i := 1; i <= n; i++ {
		if r := c.Root[i]; probabilistic[r] && changed[r] && size[r] > 2 {
			rids, roots = append(rids, int32(i)), append(roots, r)
		}
	}
	if err := db.CreateTableFrom(ctx, store.Staged("person_members"), store.Int32Column("rid", rids), store.Int32Column("root", roots)); err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE `+store.Staged("unscored_pairs")+` AS
		SELECT a.rid AS rid_l, b.rid AS rid_r FROM person_members a JOIN person_members b ON a.root = b.root AND a.rid < b.rid
		ANTI JOIN scores s ON s.rid_l = a.rid AND s.rid_r = b.rid
		ORDER BY 1, 2`); err != nil {
		return 0, err
	}
	var k int64
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM unscored_pairs").Scan(&k)
	return k, err
}
