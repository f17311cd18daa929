// Package mpi owns turning links into persons: clustering with constraints
// (two different valid NHS numbers never end up in one person; the weaker
// link is cut and reported), the checks on the clusters it makes (over-large,
// chained), and the index tables — xref (one row per record) and
// master_index (one row per person) — that publication reads.
//
// Clustering is greedy and exact: links are taken strongest first (verified
// NHS number and date of birth before any probabilistic link, then by match
// weight, ties by record id), and a link is accepted unless it would join
// two persons holding different valid NHS numbers. Taking the strongest
// first is what makes "cut the weaker link" well defined, and the fixed
// order makes the result independent of thread count and row order.
package mpi
