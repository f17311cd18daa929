package rules

import (
	"regexp"
	"strings"
)

// PostcodeKind classifies a normalised postcode.
type PostcodeKind string

// Kinds of postcode. Only KindStandard (and GIR 0AA) says where someone lives;
// a pseudo-postcode is never evidence that two people share an address.
const (
	PostcodeStandard PostcodeKind = "standard"
	PostcodePseudo   PostcodeKind = "pseudo" // NHS ZZ99 codes: no fixed abode, not known, countries
	PostcodeBFPO     PostcodeKind = "bfpo"   // British Forces Post Office
	PostcodeInvalid  PostcodeKind = "invalid"
)

// strictPostcode is the pattern from NHS-DATA.md, applied to the no-space form.
var strictPostcode = regexp.MustCompile(`^(GIR0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])[0-9][ABD-HJLNP-UW-Z]{2})$`)

var (
	pseudoPostcode = regexp.MustCompile(`^ZZ99[0-9][A-Z]Z$`)
	bfpoPostcode   = regexp.MustCompile(`^BFPO[0-9]{1,4}$`)
)

// Postcode is a normalised postcode and what kind it is.
type Postcode struct {
	Code string // "SE13 6XY", "ZZ99 3VZ", "BFPO 105"; "" when missing or invalid
	Kind PostcodeKind
}

// Pseudo-postcodes with a meaning of their own.
const (
	PostcodeNoFixedAbode = "ZZ99 3VZ"
	PostcodeNotKnown     = "ZZ99 3WZ"
)

// ParsePostcode trims, upper-cases and removes all white space, then puts one
// space before the last three characters, and validates the result. A missing
// value returns Kind "".
func ParsePostcode(s string) Postcode {
	compact := compactUpper(s)
	if compact == "" {
		return Postcode{}
	}
	switch {
	case bfpoPostcode.MatchString(compact):
		return Postcode{Code: "BFPO " + compact[4:], Kind: PostcodeBFPO}
	case pseudoPostcode.MatchString(compact):
		return Postcode{Code: spaced(compact), Kind: PostcodePseudo}
	case strictPostcode.MatchString(compact):
		return Postcode{Code: spaced(compact), Kind: PostcodeStandard}
	}
	return Postcode{Kind: PostcodeInvalid}
}

func compactUpper(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\u00a0' || r == '\r' || r == '\n':
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func spaced(compact string) string {
	return compact[:len(compact)-3] + " " + compact[len(compact)-3:]
}
