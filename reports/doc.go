// Package reports owns what carematch writes for people rather than
// programs: the exception files analysts work from (one CSV per kind plus
// summary.csv), the run manifest the data team reads at 2 a.m., and (with
// the later stages) report.html and evaluation against ground truth.
//
// Exception files may hold patients' values — they are for authorised
// analysts — and are written with mode 0640. Nothing in this package prints a
// value to the console.
package reports
