package rules

import "strings"

// Sex is the internal sex code, in FHIR's administrative-gender vocabulary.
// Only male and female are evidence for matching; other and unknown are not.
type Sex string

// Sex codes.
const (
	SexMale    Sex = "male"
	SexFemale  Sex = "female"
	SexOther   Sex = "other"
	SexUnknown Sex = "unknown"
)

// ParseSex understands the codes extracts use without a map: M/F/U, Person
// Stated Gender Code 1/2/9/X, the older 0/1/2/9, Male/Female/Unknown/
// Indeterminate/Other and FHIR's own words. A source's code map (from the
// configuration) is consulted first and may override any of them. ok is false
// for a code nobody recognises; an empty value is SexUnknown with ok=true.
func ParseSex(s string, codeMap map[string]string) (Sex, bool) {
	s = strings.TrimSpace(s)
	if v, found := lookupFold(codeMap, s); found {
		return ParseSex(v, nil)
	}
	switch strings.ToUpper(s) {
	case "M", "1", "MALE", "MAN":
		return SexMale, true
	case "F", "2", "FEMALE", "WOMAN":
		return SexFemale, true
	case "9", "I", "INDETERMINATE", "OTHER", "O":
		return SexOther, true
	case "", "U", "0", "X", "UNKNOWN", "NOT KNOWN", "NOT SPECIFIED":
		return SexUnknown, true
	}
	return SexUnknown, false
}

// ParseYesNo understands Y/N, Yes/No, true/false, T/F and 1/0 in any case,
// after a source's code map. known is false for an empty value; ok is false
// for a value that is none of these.
func ParseYesNo(s string, codeMap map[string]string) (value, known, ok bool) {
	s = strings.TrimSpace(s)
	if v, found := lookupFold(codeMap, s); found {
		return ParseYesNo(v, nil)
	}
	switch strings.ToUpper(s) {
	case "":
		return false, false, true
	case "Y", "YES", "TRUE", "T", "1":
		return true, true, true
	case "N", "NO", "FALSE", "F", "0":
		return false, true, true
	}
	return false, false, false
}

func lookupFold(m map[string]string, k string) (string, bool) {
	if len(m) == 0 {
		return "", false
	}
	if v, ok := m[k]; ok {
		return v, true
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return "", false
}
