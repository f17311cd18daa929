// Package review owns the analysts' decisions: a decision that two records
// are the same person (link), are not (no_link), or that one record does not
// belong with its person (detach), with who made it, when and why.
//
// Decisions live in <state_dir>/decisions.jsonl, an append-only log that is
// also the audit trail: every decide, revoke and import is a line, nothing
// is rewritten. The decisions in force are a fold over the log: the latest
// line about a pair (or record) wins, a revoke withdraws one. A nightly run
// reads the log and applies the decisions as hard constraints (mpi). The file
// is locked (flock) while it is written, so the command line and a review
// page can both write to it.
//
// Files: decision.go (a decision, its record keys and its limits), log.go
// (reading — no line can stop a night — folding and appending), export.go
// (CSV out and in), queue.go (a publication's open review items, read from
// exceptions/review_queue.csv and index/xref.csv). The review page is the
// subpackage web. It reads and writes no database table.
package review
