package rules

import (
	"sort"
	"strings"
	"unicode"
)

// foldTable maps accented Latin letters (upper case) to their plain letters.
// Lower-case input is upper-cased before the lookup.
var foldTable = map[rune]string{
	'À': "A", 'Á': "A", 'Â': "A", 'Ã': "A", 'Ä': "A", 'Å': "A", 'Ā': "A", 'Ă': "A", 'Ą': "A",
	'Æ': "AE", 'Ç': "C", 'Ć': "C", 'Č': "C", 'Ĉ': "C", 'Ċ': "C", 'Ď': "D", 'Đ': "D", 'Ð': "D",
	'È': "E", 'É': "E", 'Ê': "E", 'Ë': "E", 'Ē': "E", 'Ė': "E", 'Ę': "E", 'Ě': "E",
	'Ğ': "G", 'Ġ': "G", 'Ģ': "G", 'Ì': "I", 'Í': "I", 'Î': "I", 'Ï': "I", 'Ī': "I", 'Į': "I", 'İ': "I", 'I': "I",
	'Ķ': "K", 'Ĺ': "L", 'Ļ': "L", 'Ľ': "L", 'Ł': "L", 'Ñ': "N", 'Ń': "N", 'Ņ': "N", 'Ň': "N",
	'Ò': "O", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ö': "O", 'Ø': "O", 'Ō': "O", 'Ő': "O", 'Œ': "OE",
	'Ŕ': "R", 'Ř': "R", 'Ś': "S", 'Ş': "S", 'Š': "S", 'Ș': "S", 'ẞ': "SS", 'Ţ': "T", 'Ť': "T", 'Ț': "T", 'Þ': "TH",
	'Ù': "U", 'Ú': "U", 'Û': "U", 'Ü': "U", 'Ū': "U", 'Ů': "U", 'Ű': "U", 'Ų': "U",
	'Ý': "Y", 'Ÿ': "Y", 'Ź': "Z", 'Ż': "Z", 'Ž': "Z",
}

// upperFold upper-cases r and folds an accented Latin letter to plain
// letters; ß and ı have no upper case of their own and are handled here.
func upperFold(r rune) (string, bool) {
	switch r {
	case 'ß':
		return "SS", true
	case 'ı':
		return "I", true
	}
	u := unicode.ToUpper(r)
	if u < 0x80 {
		return "", false
	}
	if f, ok := foldTable[u]; ok {
		return f, true
	}
	return "", false
}

// StandardiseName upper-cases a name, folds accents (ZOË → ZOE), removes
// apostrophes and other punctuation without splitting the name (O'BRIEN →
// OBRIEN), and keeps a hyphen or space between the parts of a double-barrelled
// name (Smith - Jones → SMITH-JONES). Anything that is not a letter, hyphen or
// space is dropped. White space is collapsed.
func StandardiseName(s string) string { return standardise(s, false) }

func standardise(s string, keepDigits bool) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace, pendingHyphen := false, false
	for _, r := range s {
		var out string
		switch {
		case r >= 'a' && r <= 'z':
			out = string(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', keepDigits && r >= '0' && r <= '9':
			out = string(r)
		case r == '-' || r == '‐' || r == '–':
			pendingHyphen = true
			continue
		case r == ' ' || r == '\t' || r == '\u00a0' || r == '.' || r == ',' || r == '/' || r == '_':
			pendingSpace = true
			continue
		default:
			f, ok := upperFold(r)
			if !ok {
				if unicode.IsLetter(r) {
					out = string(unicode.ToUpper(r)) // non-Latin script kept as it is
				} else {
					continue // apostrophes, digits, brackets
				}
			} else {
				out = f
			}
		}
		if b.Len() > 0 {
			switch {
			case pendingHyphen:
				b.WriteByte('-')
			case pendingSpace:
				b.WriteByte(' ')
			}
		}
		pendingSpace, pendingHyphen = false, false
		b.WriteString(out)
	}
	return b.String()
}

// NameParts splits a standardised name into its parts: SMITH-JONES and
// SMITH JONES both give [SMITH JONES].
func NameParts(std string) []string {
	return strings.FieldsFunc(std, func(r rune) bool { return r == ' ' || r == '-' })
}

var titles = map[string]bool{
	"MR": true, "MRS": true, "MS": true, "MISS": true, "MX": true, "DR": true, "PROF": true,
	"PROFESSOR": true, "REV": true, "REVD": true, "SIR": true, "DAME": true, "LADY": true, "LORD": true,
	"MASTER": true, "FR": true, "SR": true, "CAPT": true, "RABBI": true,
}

// StripTitles removes titles that leaked into a standardised name field
// ("MRS JANE" → "JANE") and returns the first title found. A name that is
// nothing but a title is left alone: MISS is someone's surname somewhere.
func StripTitles(std string) (name, title string) {
	for {
		i := strings.IndexByte(std, ' ')
		if i < 0 || !titles[std[:i]] {
			return std, title
		}
		if title == "" {
			title = std[:i]
		}
		std = std[i+1:]
	}
}

// StandardiseAddress upper-cases, folds accents, drops punctuation and
// collapses white space in each address line, and joins the non-empty lines
// with a single space.
func StandardiseAddress(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		s := standardise(strings.ReplaceAll(l, "-", " "), true)
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// AddressKey is a standardised address as linkage compares it: its distinct
// words, sorted, in one string (so "FLAT 2 14 LEE HIGH ROAD" and "14 LEE HIGH
// ROAD FLAT 2" agree), and its first word with a digit in it, the house or
// flat number. Both are "" for an empty address.
func AddressKey(std string) (key, number string) {
	words := strings.Fields(std)
	if len(words) == 0 {
		return "", ""
	}
	for _, w := range words {
		if strings.ContainsAny(w, "0123456789") {
			number = w
			break
		}
	}
	sort.Strings(words)
	out := words[:0]
	for i, w := range words {
		if i == 0 || w != words[i-1] {
			out = append(out, w)
		}
	}
	return strings.Join(out, " "), number
}
