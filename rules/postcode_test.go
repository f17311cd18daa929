package rules

import (
	"regexp"
	"testing"
)

func TestParsePostcode(t *testing.T) {
	tests := []struct {
		in   string
		code string
		kind PostcodeKind
	}{
		{"SE136XY", "SE13 6XY", PostcodeStandard},
		{"DA1  2QJ", "DA1 2QJ", PostcodeStandard},
		{"se13 6xy", "SE13 6XY", PostcodeStandard},
		{" SE 13 6 XY ", "SE13 6XY", PostcodeStandard},
		{"SE10 9AA", "SE10 9AA", PostcodeStandard},
		{"W1A 1AA", "W1A 1AA", PostcodeStandard},
		{"EC1A 1BB", "EC1A 1BB", PostcodeStandard},
		{"M1 1AE", "M1 1AE", PostcodeStandard},
		{"GIR 0AA", "GIR 0AA", PostcodeStandard},
		{"ZZ99 3VZ", "ZZ99 3VZ", PostcodePseudo},
		{"zz993wz", "ZZ99 3WZ", PostcodePseudo},
		{"ZZ99 3CZ", "ZZ99 3CZ", PostcodePseudo},
		{"BFPO 105", "BFPO 105", PostcodeBFPO},
		{"BFPO105", "BFPO 105", PostcodeBFPO},
		{"", "", ""},
		{"   ", "", ""},
		{"QE13 6XY", "", PostcodeInvalid}, // Q never first
		{"SI13 6XY", "", PostcodeInvalid}, // I never second
		{"SE13 6XC", "", PostcodeInvalid}, // C never in the inward letters
		{"SE1X XY", "", PostcodeInvalid},
		{"SE136X", "", PostcodeInvalid},
		{"12345", "", PostcodeInvalid},
		{"SE13 6XYZ", "", PostcodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := ParsePostcode(tt.in)
			if got.Code != tt.code || got.Kind != tt.kind {
				t.Errorf("ParsePostcode(%q) = %+v, want %q %q", tt.in, got, tt.code, tt.kind)
			}
		})
	}
}

func FuzzParsePostcode(f *testing.F) {
	for _, s := range []string{"SE13 6XY", "ZZ99 3VZ", "BFPO 1", "gir0aa", "DA1  2QJ", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAgainstPatterns(t, compactUpper(s))
		p := ParsePostcode(s)
		switch p.Kind {
		case "", PostcodeInvalid:
			if p.Code != "" {
				t.Fatalf("%+v: invalid with a code", p)
			}
		default:
			if again := ParsePostcode(p.Code); again != p {
				t.Fatalf("not idempotent: %+v then %+v", p, again)
			}
		}
	})
}

// The patterns of NHS-DATA.md, on the no-space form: the hand matchers are
// checked against them.
var (
	standardPattern = regexp.MustCompile(`^(GIR0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])[0-9][ABD-HJLNP-UW-Z]{2})$`)
	pseudoPattern   = regexp.MustCompile(`^ZZ99[0-9][A-Z]Z$`)
	bfpoPattern     = regexp.MustCompile(`^BFPO[0-9]{1,4}$`)
)

func checkAgainstPatterns(t *testing.T, s string) {
	t.Helper()
	check(t, s, "isStandard", isStandard, standardPattern)
	check(t, s, "isPseudo", isPseudo, pseudoPattern)
	check(t, s, "isBFPO", isBFPO, bfpoPattern)
}

func check(t *testing.T, s, name string, match func(string) bool, pattern *regexp.Regexp) {
	t.Helper()
	if got, want := match(s), pattern.MatchString(s); got != want {
		t.Fatalf("%q: %s %v, the pattern %v", s, name, got, want)
	}
}

// Every outward code of up to four characters (letters, digits, and a
// character of neither) before a valid inward code, every inward code
// after outward codes of each shape, and every tail after ZZ99 and BFPO,
// agree with the patterns.
func TestPostcodeMatchersAgreeWithThePatterns(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
	var each func(prefix string, n int, f func(string))
	each = func(prefix string, n int, f func(string)) {
		f(prefix)
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			each(prefix+alphabet[i:i+1], n-1, f)
		}
	}
	each("", 4, func(out string) {
		check(t, out+"1AB", "isStandard", isStandard, standardPattern)
		check(t, "ZZ99"+out, "isPseudo", isPseudo, pseudoPattern)
		check(t, "BFPO"+out, "isBFPO", isBFPO, bfpoPattern)
	})
	each("", 3, func(in string) {
		for _, out := range []string{"A1", "A12", "AB1", "A1B", "AB12", "AB1C", "GIR", "QA1"} {
			check(t, out+in, "isStandard", isStandard, standardPattern)
		}
	})
}
