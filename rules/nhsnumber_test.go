package rules

import (
	"strings"
	"testing"
)

func TestParseNHSNumber(t *testing.T) {
	tests := []struct {
		in     string
		number string
		reason NHSNumberReason
		rng    NHSRange
	}{
		{"9434765919", "9434765919", "", RangeTest},
		{"943 476 5919", "9434765919", "", RangeTest},
		{"943-476-5919", "9434765919", "", RangeTest},
		{" 9434765919 ", "9434765919", "", RangeTest},
		{"4010232137", "4010232137", "", RangeEngland},
		{"9449305552", "9449305552", "", RangeTest},
		{"9876543210", "9876543210", "", RangeTest},
		{"4000000632", "4000000632", "", RangeEngland},
		{"1234567890", "1234567890", NHSCheckDigitTen, ""},
		{"9434765910", "9434765910", NHSCheckDigit, ""},
		{"9111111111", "9111111111", NHSCheckDigit, ""},
		{"1000000000", "1000000000", NHSCheckDigit, ""},
		{"0000000000", "0000000000", NHSRepeatedDigits, ""},
		{"4444444444", "4444444444", NHSRepeatedDigits, ""},
		{"9.43477E+09", "", NHSSpreadsheet, ""},
		{"4.01023e+009", "", NHSSpreadsheet, ""},
		{"9E9", "", NHSSpreadsheet, ""},
		{"943476591", "", NHSWrongLength, ""},
		{"94347659190", "", NHSWrongLength, ""},
		{"943476591X", "", NHSNotDigits, ""},
		{"E943476591", "", NHSNotDigits, ""},
		{"", "", NHSMissing, ""},
		{"   ", "", NHSMissing, ""},
		{"5000000005", "5000000005", NHSNeverIssuedRange, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := ParseNHSNumber(tt.in)
			if got.Number != tt.number || got.Reason != tt.reason || got.Range != tt.rng {
				t.Errorf("ParseNHSNumber(%q) = %+v, want number %q reason %q range %q", tt.in, got, tt.number, tt.reason, tt.rng)
			}
		})
	}
}

// Every repeated-digit number passes the bare modulus-11 check, which is why
// it needs its own rule.
func TestRepeatedDigitsPassModulus11(t *testing.T) {
	for d := byte('0'); d <= '9'; d++ {
		num := strings.Repeat(string(d), 10)
		if c := NHSCheckDigitOf(num[:9]); c == 10 || byte('0'+c) != num[9] {
			continue
		}
		if got := ParseNHSNumber(num); got.Reason != NHSRepeatedDigits {
			t.Errorf("%s: reason %q, want repeated digits", num, got.Reason)
		}
	}
}

// A single mistyped digit or an adjacent transposition is always caught by
// modulus 11; the fixtures generator relies on this to know what it injected.
func TestSingleDigitErrorsAreDetected(t *testing.T) {
	base := "4010232137"
	for i := 0; i < 10; i++ {
		for d := byte('0'); d <= '9'; d++ {
			if base[i] == d {
				continue
			}
			m := base[:i] + string(d) + base[i+1:]
			if ParseNHSNumber(m).Valid() {
				t.Errorf("substitution %s passes", m)
			}
		}
	}
	for i := 0; i < 9; i++ {
		if base[i] == base[i+1] {
			continue
		}
		m := base[:i] + string(base[i+1]) + string(base[i]) + base[i+2:]
		if ParseNHSNumber(m).Valid() {
			t.Errorf("transposition %s passes", m)
		}
	}
}

func TestNHSNumberStatus(t *testing.T) {
	tests := []struct {
		in   string
		code string
		ok   bool
	}{
		{"01", "01", true}, {"1", "01", true}, {" 08 ", "08", true}, {"", "", true},
		{"09", "", false}, {"00", "", false}, {"verified", "", false}, {"001", "", false},
	}
	for _, tt := range tests {
		code, ok := NHSNumberStatus(tt.in)
		if code != tt.code || ok != tt.ok {
			t.Errorf("NHSNumberStatus(%q) = %q, %v; want %q, %v", tt.in, code, ok, tt.code, tt.ok)
		}
	}
}

func FuzzParseNHSNumber(f *testing.F) {
	for _, s := range []string{"9434765919", "943 476 5919", "9.43477E+09", "", "0000000000", "12345678901", "4-0-1-0-2-3-2-1-3-7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := ParseNHSNumber(s)
		if v.Valid() {
			if len(v.Number) != 10 || !allDigits(v.Number) {
				t.Fatalf("valid but number %q is not ten digits", v.Number)
			}
			if c := NHSCheckDigitOf(v.Number[:9]); byte('0'+c) != v.Number[9] {
				t.Fatalf("valid but check digit wrong: %q", v.Number)
			}
			if v.Range == "" {
				t.Fatal("valid without a range")
			}
			// Normalisation is idempotent.
			if again := ParseNHSNumber(v.Number); again != v {
				t.Fatalf("not idempotent: %+v then %+v", v, again)
			}
		} else if v.Range != "" {
			t.Fatalf("invalid with a range: %+v", v)
		}
	})
}
