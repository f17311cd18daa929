package rules

import "testing"

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
