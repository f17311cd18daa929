package rules

import "strings"

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

// The patterns are NHS-DATA.md's, applied to the no-space form:
//
//	standard  ^(GIR0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])[0-9][ABD-HJLNP-UW-Z]{2})$
//	pseudo    ^ZZ99[0-9][A-Z]Z$
//	BFPO      ^BFPO[0-9]{1,4}$
//
// matched by hand below: as regular expressions they were a quarter of the
// address rules' time at load (1.1 of 4.9 CPU-s at two million records).
// The tests check the hand matchers against these expressions on every
// outward and inward shape and under the fuzzer.

// oneOf reports whether byte c is in set, given as its letters or digits.
func oneOf(c byte, set string) bool { return strings.IndexByte(set, c) >= 0 }

const (
	pcDigit                  = "0123456789"
	pcLetter                 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	pcArea                   = "ABCDEFGHIJKLMNOPRSTUWYZ" // [A-PR-UWYZ]
	pcDistrictLetter         = "ABCDEFGHKLMNOPQRSTUVWXY" // [A-HK-Y]
	pcDistrictEnd            = "ABCDEFGHJKPSTUW"         // [A-HJKPSTUW]
	pcDistrictEndAfterLetter = "ABEHMNPRVWXY"            // [ABEHMNPRVWXY]
	pcInward                 = "ABDEFGHJLNPQRSTUWXYZ"    // [ABD-HJLNP-UW-Z]
)

// isStandard matches the standard pattern: GIR 0AA, or an outward code of
// one of its shapes, a digit, and two letters of the inward set.
func isStandard(s string) bool {
	if s == "GIR0AA" {
		return true
	}
	n := len(s)
	if n < 5 || n > 7 || !oneOf(s[n-3], pcDigit) || !oneOf(s[n-2], pcInward) || !oneOf(s[n-1], pcInward) {
		return false
	}
	out := s[:n-3]
	if !oneOf(out[0], pcArea) {
		return false
	}
	switch len(out) {
	case 2: // A9
		return oneOf(out[1], pcDigit)
	case 3: // A99, AA9, A9A
		return oneOf(out[1], pcDigit) && oneOf(out[2], pcDigit) ||
			oneOf(out[1], pcDistrictLetter) && oneOf(out[2], pcDigit) ||
			oneOf(out[1], pcDigit) && oneOf(out[2], pcDistrictEnd)
	case 4: // AA99, AA9A
		return oneOf(out[1], pcDistrictLetter) && oneOf(out[2], pcDigit) && (oneOf(out[3], pcDigit) || oneOf(out[3], pcDistrictEndAfterLetter))
	}
	return false
}

func isPseudo(s string) bool {
	return len(s) == 7 && s[:4] == "ZZ99" && oneOf(s[4], pcDigit) && oneOf(s[5], pcLetter) && s[6] == 'Z'
}

func isBFPO(s string) bool {
	if len(s) < 5 || len(s) > 8 || s[:4] != "BFPO" {
		return false
	}
	for i := 4; i < len(s); i++ {
		if !oneOf(s[i], pcDigit) {
			return false
		}
	}
	return true
}

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
	case isBFPO(compact):
		return Postcode{Code: "BFPO " + compact[4:], Kind: PostcodeBFPO}
	case isPseudo(compact):
		return Postcode{Code: spaced(compact), Kind: PostcodePseudo}
	case isStandard(compact):
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
