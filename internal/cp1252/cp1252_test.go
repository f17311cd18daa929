package cp1252

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestRoundTrip(t *testing.T) {
	for _, s := range []string{"Zoë O’Brien", "Renée – €5", "plain", "Chloé Œuvre Š"} {
		if got := string(Decode(Encode(s))); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
	if got := Encode("Łukasz"); !bytes.Equal(got, []byte("?ukasz")) {
		t.Errorf("Encode(Łukasz) = %q", got)
	}
	if got := Decode([]byte{'Z', 'o', 0xEB}); string(got) != "Zoë" {
		t.Errorf("Decode = %q", got)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("Zo\xeb \x80 \x81"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := Decode(b)
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8 from %q", b)
		}
		if utf8.RuneCount(out) != len(b) {
			t.Fatalf("%d bytes became %d characters", len(b), utf8.RuneCount(out))
		}
	})
}
