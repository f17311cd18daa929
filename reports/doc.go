// Package reports owns what carematch writes for people rather than
// programs: the exception files analysts work from (one CSV per kind plus
// summary.csv, and the review queue with its evidence), index/ (the
// complete index, for analysts), the run manifest the data team reads at
// 2 a.m., report.html, and evaluation against ground truth. (portal/ is the
// portal package's alone.)
//
// Tables read: exceptions, source_files and records (extract); prep and the
// model (linkage); xref, master_index, history and review_pairs (mpi). It
// writes no table: only files.
//
// Exception files may hold patients' values — they are for authorised
// analysts — and are written with mode 0640. Nothing in this package prints a
// value to the console.
package reports
