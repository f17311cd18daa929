package store

// ExceptionKind is a kind of exception: a row of the exceptions table, and
// one CSV of a run's exceptions/ folder. Each kind is spelt here once; every
// stage that reports one uses its constant (in SQL, through SQL).
type ExceptionKind string

// The kinds, by the stage that finds them.
const (
	// Loading (extract).
	ExcRejectedRow  ExceptionKind = "rejected_rows"
	ExcInvalidNHS   ExceptionKind = "invalid_nhs_number"
	ExcInvalidDOB   ExceptionKind = "invalid_date_of_birth"
	ExcInvalidPost  ExceptionKind = "invalid_postcode"
	ExcInvalidValue ExceptionKind = "invalid_value"
	ExcRowDrop      ExceptionKind = "source_row_drop"
	// Linkage.
	ExcQuarantined ExceptionKind = "quarantined"
	// The index (mpi).
	ExcNHSConflict    ExceptionKind = "nhs_number_conflict"
	ExcSuspicious     ExceptionKind = "suspicious_cluster"
	ExcDuplicate      ExceptionKind = "within_source_duplicate"
	ExcSeveralNumbers ExceptionKind = "several_nhs_numbers"
	ExcStaleDecision  ExceptionKind = "stale_decision"
	ExcOptoutUnmatch  ExceptionKind = "optout_unmatched" // an opt-out form that matches no person
)

// ExceptionKinds are the kinds a run always writes, each to <kind>.csv even
// when empty, so an analyst's folder has the same files every night.
var ExceptionKinds = []ExceptionKind{
	ExcRejectedRow, ExcInvalidNHS, ExcInvalidDOB, ExcInvalidPost, ExcInvalidValue,
	ExcNHSConflict, ExcSuspicious, ExcDuplicate, ExcSeveralNumbers, ExcRowDrop, ExcStaleDecision, ExcQuarantined,
	ExcOptoutUnmatch,
}

// SQL is the kind as an SQL string literal.
func (k ExceptionKind) SQL() string { return QuoteString(string(k)) }
