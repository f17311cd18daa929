package store

// ReviewKind is the kind of an item of the review queue (review_pairs.kind,
// the kind column of exceptions/review_queue.csv): the index makes them,
// the review package and the review page read them.
type ReviewKind string

// The kinds, in the order an analyst's list takes them.
const (
	// ReviewBand: a pair in the review band, or one a guard kept from
	// linking.
	ReviewBand ReviewKind = "review"
	// ReviewChain: a link clustering refused to keep a person coherent (the
	// person it would make holds a clear non-match, or too many records).
	ReviewChain ReviewKind = "chain"
	// ReviewOptout: an opt-out form (the left record) that may be this
	// person, who is withheld until an analyst decides.
	ReviewOptout ReviewKind = "optout"
	// ReviewNHSConflict: records sharing a valid NHS number that the NHS
	// stage would not link.
	ReviewNHSConflict = ReviewKind(ExcNHSConflict)
)

// ReviewKinds are the kinds in the analysts' order.
var ReviewKinds = []ReviewKind{ReviewBand, ReviewChain, ReviewOptout, ReviewNHSConflict}

// SQL is the kind as an SQL string literal.
func (k ReviewKind) SQL() string { return QuoteString(string(k)) }
