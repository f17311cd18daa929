package rules

import "testing"

func BenchmarkParseNHSNumber(b *testing.B) {
	for b.Loop() {
		ParseNHSNumber("943 476 5919")
	}
}

func BenchmarkParsePostcode(b *testing.B) {
	for b.Loop() {
		ParsePostcode("se136xy")
	}
}

func BenchmarkParseDateOfBirth(b *testing.B) {
	df := MustDateFormat("%d/%m/%Y")
	for b.Loop() {
		ParseDateOfBirth(df, "04/03/1975", today)
	}
}

func BenchmarkStandardiseName(b *testing.B) {
	for b.Loop() {
		StandardiseName("Zoë O'Brien-Smith")
	}
}
