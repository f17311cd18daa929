// Package linkage owns deciding which records belong to the same person:
// the deterministic NHS-number stage, blocking, comparison vectors, the
// Fellegi–Sunter model (u from random pairs, m by EM seeded with the pairs a
// verified NHS number links, the prior from the pairs sharing a verified
// NHS number where there are enough of them and from EM where not — prior.go
// says why — term-frequency adjustments for names) and scoring. Clustering is
// mpi's.
//
// Where the work runs: everything over sets of pairs — preparing records,
// blocking, evaluating every comparison level, counting patterns, scoring —
// is SQL in DuckDB, whose vectorised jaro_winkler_similarity and joins beat
// a Go loop over rows fetched through cgo. EM runs in Go over the few
// thousand distinct comparison patterns, not over pairs, so it is exact and
// takes milliseconds.
//
// Beside: the training sample (u's random pairs, m's verified-number pairs)
// needs only prep and det_links, so on a night DuckDB works on one thread it
// is drawn on a handle of its own (store.DB.Side) while the night's
// connection blocks and compares, on the core that would otherwise idle
// (beside.go); other nights draw it when training starts.
//
// Determinism: every record gets rid = its rank by (source_id, local_id), so
// row order in the extracts and DuckDB's thread count change nothing; the
// random pairs that estimate u are drawn by a hash of the draw's number
// onto rids, not by a random generator; EM iterates a fixed sequence of sums.
//
// Stages, each a table in the run's database:
//
//	prep         records ready to compare (not deleted, not test records), with rid;
//	             social-care records without consent are in it, marked withheld,
//	             and no stage pairs them with anything; so are quarantined records
//	             (one of over 1,000 sharing a key: quarantine.go)
//	det_links    pairs sharing a valid NHS number whose date of birth and given name agree
//	nhs_conflicts pairs sharing a valid number whose demographics clearly disagree
//	pairs        candidate pairs from the blocking rules (rid_l < rid_r, first rule that found it)
//	gammas       the level of every comparison for every candidate pair
//	scores       every candidate pair: its levels (LevelColumn), match weight, guard
//	             (the reason) and guard_blocks (it keeps the pair from ever linking),
//	             and guard_scored (the guard before guards were lifted or records
//	             held as ambiguous: what the next night carries with the weight);
//	             clustering adds the pairs within a person that no rule compared
//	             (ScorePairs)
//	             (pairs and gammas are temporary, dropped once it is made: writing
//	             7 million rows to the database file that nobody reads cost 1 s)
//	guards_lifted namesake guards lifted, and why
//	pair_rules   every candidate pair and the rules that found it (bit i for rule
//	             i), and blocking_rules (which rule each bit is, whether it was
//	             dropped, and the most pairs it made: the count on a full night,
//	             a bound on an incremental one): what the next night carries
//	             pairs from (blocking_delta.go), with the records the load found
//	             unchanged by their fingerprints (record_changes)
//
// Reads: records (extract), and a previous night's model and tf_<column>
// when it holds them (held.go). Writes, beside the tables above: nicknames,
// short_forms (rules' name lists, for the given name's levels),
// tf_<column> (term frequencies), model (the night's model as JSON, for the
// nights that hold it), and exceptions of kind quarantined.
// One file per job; run.go gives their order (see docs/LAYOUT.md).
package linkage
