// Package mpi owns turning links into persons: clustering with constraints
// (two different valid NHS numbers never end up in one person; the weaker
// link is cut and reported), analysts' decisions as hard constraints,
// stable master IDs, the golden record, the checks on the persons it makes,
// and the review queue.
//
// One file per job:
//
//	index.go     BuildIndex: the order of the jobs below, and the index's counts
//	cluster.go   constrained clustering (pure Go)
//	coherent.go  persons that hang together: clustering in rounds, scoring
//	             the pairs within a person that blocking never compared
//	kept.go      an incremental night keeps last night's persons where
//	             nothing they are made from changed (component signatures)
//	decisions.go analysts' decisions: fingerprints, applying them, stale ones
//	ids.go       stable master IDs and their history, in SQL over tonight's
//	             clusters and last night's registry
//	golden.go    the golden record, field by field
//	review.go    the review queue
//	checks.go    QA exceptions: NHS-number conflicts, suspicious persons,
//	             within-source duplicates, several NHS numbers
//
// Tables read: prep, det_links, nhs_conflicts, scores (linkage), exceptions
// (extract), store.CleanRecords (linkage, on an incremental night), and
// last night's xref, master_ids, id_seq and history, and clustering,
// person_pairs, cut_links and chain_links. Tables written: clustering,
// person_pairs, cut_links, chain_links, decided_pairs, master_ids, id_seq,
// history, xref, review_pairs and rows of exceptions in the state file;
// clusters, kept_roots, person_ids and master_index in the stage catalog
// (store.Staged: the night needs them, no later night or command does).
//
// Clustering is greedy and exact: links are taken strongest first (verified
// NHS number and date of birth before any probabilistic link, then by match
// weight, ties by record id), and a link is accepted unless it would join
// two persons holding different valid NHS numbers, or — a probabilistic
// link — two records that score below the review band, or make a person of
// more than MaxClusterSize records (coherent.go; such a link becomes a
// review item of kind chain). Taking the strongest first is what makes "cut
// the weaker link" well defined, and the fixed order makes the result
// independent of thread count and row order. Pairs within a person that no
// blocking rule compared are scored with tonight's model (rows added to
// scores), so every pair of records in a person the model made has a score.
package mpi
