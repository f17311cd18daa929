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
	// RecordsKept are the records whose persons an incremental night
	// kept from the last night because nothing they are made from changed
	// (kept.go).
	RecordsKept int `json:"records_kept,omitempty"`
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
func coherentClusters(ctx context.Context, db *store.DB, n int, nhs []string, edges []Edge, con Constraints, opt IndexOptions) (*clustering, error) {
	comp := components(n, edges)
	within, err := pairsWithin(ctx, db, comp)
	if err != nil {
		return nil, err
	}
	out := &clustering{co: &Coherence{Rounds: 1}, comp: comp, size: sizes(n, comp),
		sig: componentSigs(n, comp, func(r int32) uint64 { return uint64(r) }, nhs, edges, within, con)}
	// The pairs scored inside persons, kept or scored tonight, as rows of
	// scores: what the next night carries with the persons it keeps.
	if _, err := db.ExecContext(ctx, "CREATE OR REPLACE TABLE person_pairs AS FROM scores LIMIT 0"); err != nil {
		return nil, err
	}
	var kept *keptPersons
	if opt.Incremental && opt.PreviousDB != "" {
		if kept, err = keepLastNight(ctx, db, opt.PreviousDB, n, comp, out.size, nhs, edges, within, con); err != nil {
			return nil, fmt.Errorf("persons kept from last night: %w", err)
		}
	}
	var below []linkage.ScoredPair
	for _, p := range within {
		if p.Weight < opt.ReviewThreshold {
			below = append(below, p)
			if !kept.has(comp, p.L) {
				con.NonMatch = append(con.NonMatch, [2]int32{p.L, p.R})
			}
		}
	}
	con.MaxSize = opt.MaxClusterSize
	co := out.co
	scoredSet := &scoredPairs{within: within, more: map[[2]int32]bool{}}
	// The kept components' records are clustered without their links (as
	// persons of one), then given last night's persons; the first round
	// looks for unscored pairs in the other persons only.
	var prev []int32
	sub := edges
	if kept != nil {
		sub = nil
		for _, e := range edges {
			if !kept.kept[comp[e.L]] {
				sub = append(sub, e)
			}
		}
		co.RecordsKept = kept.record
		for _, p := range kept.pairs {
			if p.Weight < opt.ReviewThreshold {
				below = append(below, p)
			}
		}
		scoredSet.add(kept.pairs)
		out.keptRoots, out.keptPrevRoots = kept.roots, kept.prevRoots
	}
	c := Cluster(n, nhs, sub, con)
	if kept != nil {
		kept.overlay(c, comp)
		prev = make([]int32, n+1)
		for i := 1; i <= n; i++ {
			prev[i] = -1
			if kept.kept[comp[i]] {
				prev[i] = c.Root[i]
			}
		}
	}
	for opt.Model != nil {
		k, err := unscoredPairs(ctx, db, c, prev, scoredSet)
		if err != nil {
			return nil, err
		}
		if k == 0 {
			break
		}
		scored, err := linkage.ScorePairs(ctx, db, opt.Model, store.Staged("unscored_pairs"), "person_pairs")
		if err != nil {
			return nil, fmt.Errorf("score pairs within persons: %w", err)
		}
		co.PairsScored += int64(len(scored))
		scoredSet.add(scored)
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
	out.c, out.weakest = c, weakestInside(c, below)
	return out, nil
}

// clustering is what coherentClusters makes: the persons, what keeping
// them coherent took, the weakest pair inside each chained person, each
// record's component (comp, its size and signature, for the next night:
// kept.go) and the persons kept.
type clustering struct {
	c       *Clusters
	co      *Coherence
	weakest map[int32]float64
	comp    []int32
	size    []int32
	sig     []uint64
	// keptRoots are the roots of the persons kept from last night, and
	// keptPrevRoots last night's (kept.go).
	keptRoots, keptPrevRoots []int32
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

// pairsWithin reads the scored pairs whose records are in one component:
// the only ones a person could come to hold, among them the non-matches
// (below the review band) clustering must respect. Most candidate pairs
// are between components, so the few are sorted here, in Go, rather than
// all of them by DuckDB (24 million pairs at ten million records).
func pairsWithin(ctx context.Context, db *store.DB, comp []int32) ([]linkage.ScoredPair, error) {
	var out []linkage.ScoredPair
	err := db.QueryPairs(ctx, "SELECT rid_l, rid_r, weight FROM scores", func(l, r int32, w float64) {
		if comp[l] == comp[r] {
			out = append(out, linkage.ScoredPair{L: l, R: r, Weight: w})
		}
	})
	sortInParts(out, func(a, b linkage.ScoredPair) int { return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(a.R, b.R)) })
	return out, err
}

// unscoredPairs writes unscored_pairs: the pairs of records of one person
// that scores does not hold (scored), in the persons a probabilistic link
// made (at most opt.MaxClusterSize records each). A person that the
// previous round (its roots prev, nil in the first) made the same has had
// its pairs scored already and is skipped. It returns how many pairs.
//
// The pairs are found in Go, against the pairs clustering read: anti-joining
// every person's pairs to scores in DuckDB read all of scores each round
// (0.4–0.5 s a round at two million records).
func unscoredPairs(ctx context.Context, db *store.DB, c *Clusters, prev []int32, scored *scoredPairs) (int64, error) {
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
	members := map[int32][]int32{}
	for i := 1; i <= n; i++ {
		if r := c.Root[i]; probabilistic[r] && changed[r] && size[r] > 2 {
			members[r] = append(members[r], int32(i)) // in rid order
		}
	}
	var pairs [][2]int32
	for _, m := range members {
		for x, a := range m {
			for _, b := range m[x+1:] {
				if !scored.has(a, b) {
					pairs = append(pairs, [2]int32{a, b})
				}
			}
		}
	}
	slices.SortFunc(pairs, func(p, q [2]int32) int { return cmp.Or(cmp.Compare(p[0], q[0]), cmp.Compare(p[1], q[1])) })
	l, r := make([]int32, len(pairs)), make([]int32, len(pairs))
	for i, p := range pairs {
		l[i], r[i] = p[0], p[1]
	}
	return int64(len(pairs)), db.CreateTableFrom(ctx, store.Staged("unscored_pairs"), store.Int32Column("rid_l", l), store.Int32Column("rid_r", r))
}

// scoredPairs are the pairs of records in one component that scores holds:
// those read before clustering (within, sorted by record), and those added
// since (by the rounds, or kept from last night).
type scoredPairs struct {
	within []linkage.ScoredPair
	more   map[[2]int32]bool
}

func (s *scoredPairs) add(ps []linkage.ScoredPair) {
	for _, p := range ps {
		s.more[[2]int32{p.L, p.R}] = true
	}
}

func (s *scoredPairs) has(l, r int32) bool {
	_, ok := slices.BinarySearchFunc(s.within, [2]int32{l, r}, func(p linkage.ScoredPair, t [2]int32) int {
		return cmp.Or(cmp.Compare(p.L, t[0]), cmp.Compare(p.R, t[1]))
	})
	return ok || s.more[[2]int32{l, r}]
}
