package rules

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStandardiseName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Zoë", "ZOE"},
		{"O'Brien", "OBRIEN"},
		{"Smith-Jones", "SMITH-JONES"},
		{"Smith - Jones", "SMITH-JONES"},
		{"  mary   ann ", "MARY ANN"},
		{"José", "JOSE"},
		{"Łukasz", "LUKASZ"},
		{"Müller", "MULLER"},
		{"Straße", "STRASSE"},
		{"Siân", "SIAN"},
		{"St. John", "ST JOHN"},
		{"McDonald", "MCDONALD"},
		{"D'Souza (nee Patel)", "DSOUZA NEE PATEL"},
		{"Smith2", "SMITH"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := StandardiseName(tt.in); got != tt.want {
			t.Errorf("StandardiseName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStripTitles(t *testing.T) {
	tests := []struct{ in, name, title string }{
		{"MRS JANE", "JANE", "MRS"},
		{"DR MR JOHN PAUL", "JOHN PAUL", "DR"},
		{"JANE", "JANE", ""},
		{"MISS", "MISS", ""},
		{"MRS", "MRS", ""},
	}
	for _, tt := range tests {
		name, title := StripTitles(tt.in)
		if name != tt.name || title != tt.title {
			t.Errorf("StripTitles(%q) = %q, %q", tt.in, name, title)
		}
	}
}

func TestNameParts(t *testing.T) {
	if got := NameParts("SMITH-JONES"); !reflect.DeepEqual(got, []string{"SMITH", "JONES"}) {
		t.Errorf("got %v", got)
	}
}

func TestStandardiseAddress(t *testing.T) {
	got := StandardiseAddress("Flat 2, 14a", "Lee High-Road", "", "Lewisham")
	if want := "FLAT 2 14A LEE HIGH ROAD LEWISHAM"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func FuzzStandardiseName(f *testing.F) {
	for _, s := range []string{"Zoë O'Brien", "Smith - Jones", "MRS JANE", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := StandardiseName(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("white space not collapsed: %q", got)
		}
		if again := StandardiseName(got); again != got {
			t.Fatalf("not idempotent: %q then %q", got, again)
		}
	})
}

func TestNicknames(t *testing.T) {
	if !AreNicknames("ROBERT", "BOB") || !AreNicknames("BOB", "ROBERT") || !AreNicknames("ELIZABETH", "LIZ") {
		t.Error("known pairs missing")
	}
	if AreNicknames("ROBERT", "ELIZABETH") || AreNicknames("ROBERT", "ROBERT") {
		t.Error("false pair")
	}
	if len(Nicknames("WILLIAM")) == 0 {
		t.Error("no nicknames for WILLIAM")
	}
}

func TestAddressKey(t *testing.T) {
	k, n := AddressKey("FLAT 2 14A LEE HIGH ROAD LEE")
	if k != "14A 2 FLAT HIGH LEE ROAD" || n != "2" {
		t.Errorf("got %q %q", k, n)
	}
	if k, n := AddressKey(""); k != "" || n != "" {
		t.Errorf("empty: %q %q", k, n)
	}
}

func TestIsShortForm(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"OLUWASEUN", "SEUN", true},    // the end of the name
		{"FUNMI", "FUNMILAYO", true},   // the start
		{"KATARZYNA", "KASIA", true},   // listed
		{"MALGORZATA", "GOSIA", true},  // listed as Małgorzata, Gosia
		{"KWABENA", "KOBBY", true},     // listed
		{"ADEOLA", "DEOLA", true},      // listed: one letter shorter
		{"DAN", "DANA", false},         // one letter longer, not listed
		{"JO", "JOHN", false},          // too short to tell
		{"SEUN", "SEUN", false},        // the same name is not a short form
		{"EMEKA", "CHUKWUEMEKA", true}, // Igbo, by rule
		{"AMARA", "TAMARA", false},     // the end, but only one letter more
		{"MEHMET", "MEMO", true},       // Turkish, listed
		{"", "SEUN", false},
	} {
		if got := IsShortForm(tc.a, tc.b); got != tc.want {
			t.Errorf("IsShortForm(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if IsShortForm(tc.a, tc.b) != IsShortForm(tc.b, tc.a) {
			t.Errorf("IsShortForm(%s, %s) is not symmetric", tc.a, tc.b)
		}
	}
	if got := ShortForms("OLUWADAMILOLA"); len(got) != 3 || got[0] != "DAMI" {
		t.Errorf("ShortForms(OLUWADAMILOLA) = %v", got)
	}
}
