// Package cp1252 converts between Windows-1252 and UTF-8, the one legacy
// encoding extracts still arrive in. It is shared by the loader (decoding) and
// the fixtures generator (encoding) so both agree on every byte.
package cp1252

import "unicode/utf8"

// high maps bytes 0x80–0x9F to Unicode; the five bytes the code page leaves
// undefined map to the C1 controls, as WHATWG's decoder does. Every other byte
// is its Latin-1 code point.
var high = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8D, 'Ž', 0x8F,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9D, 'ž', 'Ÿ',
}

// Decode converts Windows-1252 bytes to UTF-8. Pure ASCII is returned as it
// is, without copying.
func Decode(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < 0x80 {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, i, len(b)+len(b)/4)
	copy(out, b[:i])
	for _, c := range b[i:] {
		switch {
		case c < 0x80:
			out = append(out, c)
		case c < 0xA0:
			out = utf8.AppendRune(out, high[c-0x80])
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return out
}

// Encode converts UTF-8 to Windows-1252; a character the code page lacks
// becomes '?', as Windows writes it.
func Encode(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 0x80 || (r >= 0xA0 && r <= 0xFF):
			out = append(out, byte(r))
		default:
			b := byte('?')
			for i, m := range high {
				if m == r && r >= 0x100 {
					b = byte(0x80 + i)
				}
			}
			out = append(out, b)
		}
	}
	return out
}
