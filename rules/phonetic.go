package rules

import "strings"

// Phonetic returns the NYSIIS key (New York State Identification and
// Intelligence System, Taft 1970) of a standardised name, truncated to six
// characters: names that sound alike share a key (SMITH, SMYTH → SNAT;
// MACDONALD, MCDONALD → MCDANA). It is used for blocking, not scoring. For a
// double-barrelled name the key is of its first part.
func Phonetic(std string) string {
	if parts := NameParts(std); len(parts) > 0 {
		std = parts[0]
	}
	var b []byte
	for i := 0; i < len(std); i++ {
		if c := std[i]; c >= 'A' && c <= 'Z' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return ""
	}
	s := string(b)
	for _, r := range [][2]string{{"MAC", "MCC"}, {"KN", "NN"}, {"K", "C"}, {"PH", "FF"}, {"PF", "FF"}, {"SCH", "SSS"}} {
		if strings.HasPrefix(s, r[0]) {
			s = r[1] + s[len(r[0]):]
			break
		}
	}
	for _, r := range [][2]string{{"EE", "Y"}, {"IE", "Y"}, {"DT", "D"}, {"RT", "D"}, {"RD", "D"}, {"NT", "D"}, {"ND", "D"}} {
		if strings.HasSuffix(s, r[0]) {
			s = s[:len(s)-len(r[0])] + r[1]
			break
		}
	}
	name := []byte(s)
	key := []byte{name[0]}
	isVowel := func(c byte) bool { return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U' }
	for i := 1; i < len(name); i++ {
		c := name[i]
		var add []byte
		switch {
		case c == 'E' && i+1 < len(name) && name[i+1] == 'V':
			add = []byte("AF")
			i++
		case isVowel(c):
			add = []byte("A")
		case c == 'Q':
			add = []byte("G")
		case c == 'Z':
			add = []byte("S")
		case c == 'M':
			add = []byte("N")
		case c == 'K' && i+1 < len(name) && name[i+1] == 'N':
			add = []byte("N")
		case c == 'K':
			add = []byte("C")
		case c == 'S' && i+2 < len(name) && name[i+1] == 'C' && name[i+2] == 'H':
			add = []byte("SSS")
			i += 2
		case c == 'P' && i+1 < len(name) && name[i+1] == 'H':
			add = []byte("FF")
			i++
		case c == 'H' && (!isVowel(name[i-1]) || i+1 == len(name) || !isVowel(name[i+1])):
			add = []byte{key[len(key)-1]}
		case c == 'W' && isVowel(name[i-1]):
			add = []byte{key[len(key)-1]}
		default:
			add = []byte{c}
		}
		for _, a := range add {
			if key[len(key)-1] != a {
				key = append(key, a)
			}
		}
	}
	if n := len(key); n > 1 && key[n-1] == 'S' {
		key = key[:n-1]
	}
	if n := len(key); n > 2 && key[n-2] == 'A' && key[n-1] == 'Y' {
		key = append(key[:n-2], 'Y')
	}
	if n := len(key); n > 1 && key[n-1] == 'A' {
		key = key[:n-1]
	}
	if len(key) > 6 {
		key = key[:6]
	}
	return string(key)
}
