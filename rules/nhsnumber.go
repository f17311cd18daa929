package rules

import "strings"

// NHSNumberReason says why a value is not a usable NHS number. The zero value
// means the number is valid.
type NHSNumberReason string

// Reasons an NHS number is rejected. They name the rule, never the value.
const (
	NHSMissing          NHSNumberReason = "missing"
	NHSSpreadsheet      NHSNumberReason = "spreadsheet notation: the digits are lost"
	NHSNotDigits        NHSNumberReason = "format: characters other than digits, spaces and dashes"
	NHSWrongLength      NHSNumberReason = "format: not 10 digits"
	NHSRepeatedDigits   NHSNumberReason = "repeated digits: never issued"
	NHSCheckDigitTen    NHSNumberReason = "check digit: modulus 11 gives 10, so no number has these first nine digits"
	NHSCheckDigit       NHSNumberReason = "check digit: does not match modulus 11"
	NHSNeverIssuedRange NHSNumberReason = "range: 5xxxxxxxxx numbers are never issued"
)

// NHSRange is the issuing range a valid NHS number falls in.
type NHSRange string

// Issuing ranges of valid numbers.
const (
	RangeEngland         NHSRange = "england_wales_iom"
	RangeScotland        NHSRange = "scotland_chi"
	RangeNorthernIreland NHSRange = "northern_ireland"
	RangeIreland         NHSRange = "republic_of_ireland"
	RangeTest            NHSRange = "test"
	RangeOther           NHSRange = "other"
)

// NHSNumber is the verdict on one NHS number value.
type NHSNumber struct {
	Number string          // the 10 digits when the format is right, else ""
	Reason NHSNumberReason // "" when valid
	Range  NHSRange        // set when valid
}

// Valid reports whether the number passed every check.
func (n NHSNumber) Valid() bool { return n.Reason == "" }

// Test reports whether a valid number is in the 9xxxxxxxxx test range, which
// is never issued to a person: in a production extract it is an exception.
func (n NHSNumber) Test() bool { return n.Valid() && n.Range == RangeTest }

// ParseNHSNumber normalises and validates an NHS number as NHS-DATA.md
// describes: spaces and dashes are removed, the rest must be exactly ten
// digits, not all the same, with a modulus-11 check digit, outside the
// never-issued 5xxxxxxxxx range. Digits lost to a spreadsheet's scientific
// notation are never guessed.
func ParseNHSNumber(s string) NHSNumber {
	s = strings.TrimSpace(s)
	if s == "" {
		return NHSNumber{Reason: NHSMissing}
	}
	if looksScientific(s) {
		return NHSNumber{Reason: NHSSpreadsheet}
	}
	var digits [10]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n < len(digits) {
				digits[n] = c
			}
			n++
		case c == ' ' || c == '-' || c == '\t':
		default:
			return NHSNumber{Reason: NHSNotDigits}
		}
	}
	if n != 10 {
		return NHSNumber{Reason: NHSWrongLength}
	}
	num := string(digits[:])
	v := NHSNumber{Number: num}
	if strings.Count(num, num[:1]) == 10 {
		v.Reason = NHSRepeatedDigits
		return v
	}
	check := NHSCheckDigitOf(num[:9])
	switch {
	case check == 10:
		v.Reason = NHSCheckDigitTen
		return v
	case byte('0'+check) != num[9]:
		v.Reason = NHSCheckDigit
		return v
	}
	v.Range = nhsRangeOf(num)
	if num[0] == '5' {
		v.Reason = NHSNeverIssuedRange
		v.Range = ""
	}
	return v
}

// NHSCheckDigitOf returns the modulus-11 check digit for the first nine digits
// of an NHS number: 0–9, or 10 when no valid number starts with them. It
// panics if first9 is not nine ASCII digits.
func NHSCheckDigitOf(first9 string) int {
	if len(first9) != 9 {
		panic("rules: NHSCheckDigitOf needs nine digits")
	}
	sum := 0
	for i := 0; i < 9; i++ {
		d := int(first9[i] - '0')
		if d < 0 || d > 9 {
			panic("rules: NHSCheckDigitOf needs nine digits")
		}
		sum += d * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		return 0
	}
	return check
}

func nhsRangeOf(num string) NHSRange {
	switch {
	case num >= "4000000000" && num <= "4999999999", num >= "6000000000" && num <= "7999999999":
		return RangeEngland
	case num >= "0100000000" && num <= "3112999999":
		return RangeScotland
	case num >= "3200000000" && num <= "3999999999":
		return RangeNorthernIreland
	case num >= "8000000000" && num <= "8599999999":
		return RangeIreland
	case num[0] == '9':
		return RangeTest
	}
	return RangeOther
}

// looksScientific recognises what a spreadsheet makes of a long number:
// 9.43477E+09, 9E9, 4.01023e+009.
func looksScientific(s string) bool {
	e := strings.IndexAny(s, "eE")
	if e <= 0 || e == len(s)-1 {
		return false
	}
	mant, exp := s[:e], s[e+1:]
	if exp[0] == '+' || exp[0] == '-' {
		exp = exp[1:]
	}
	if exp == "" || !allDigits(exp) {
		return false
	}
	dot := false
	for i := 0; i < len(mant); i++ {
		switch c := mant[i]; {
		case c == '.' && !dot:
			dot = true
		case c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return mant != "."
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NHSNumberStatus normalises an NHS Number Status Indicator Code to its two
// digits ("01".."08"). It returns ok=false for a value that is not one of the
// eight codes; "" for an empty value.
func NHSNumberStatus(s string) (code string, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	if len(s) == 1 && s[0] >= '1' && s[0] <= '8' {
		return "0" + s, true
	}
	if len(s) == 2 && s[0] == '0' && s[1] >= '1' && s[1] <= '8' {
		return s, true
	}
	return "", false
}

// NHSStatusVerified is the one status code that means the number was traced
// and verified against the national spine.
const NHSStatusVerified = "01"
