package rules

import "testing"

func TestPhonetic(t *testing.T) {
	same := [][2]string{
		{"BROWN", "BRAUN"}, {"MACDONALD", "MCDONALD"}, {"CATHERINE", "KATHERINE"}, {"JON", "JOHN"},
		{"STEPHEN", "STEVEN"}, {"PHILIP", "FILIP"}, {"SMITH-JONES", "SMITH"},
	}
	for _, p := range same {
		if a, b := Phonetic(p[0]), Phonetic(p[1]); a != b {
			t.Errorf("Phonetic(%s) = %s, Phonetic(%s) = %s; want the same", p[0], a, p[1], b)
		}
	}
	differ := [][2]string{{"SMITH", "JONES"}, {"MARY", "MARK"}, {"ANN", "ALAN"}}
	for _, p := range differ {
		if a, b := Phonetic(p[0]), Phonetic(p[1]); a == b {
			t.Errorf("Phonetic(%s) = Phonetic(%s) = %s", p[0], p[1], a)
		}
	}
	if Phonetic("") != "" || Phonetic("-") != "" {
		t.Error("empty name has a key")
	}
}

func FuzzPhonetic(f *testing.F) {
	f.Add("MACDONALD")
	f.Add("SCHMIDT-JONES")
	f.Fuzz(func(t *testing.T, s string) {
		k := Phonetic(StandardiseName(s))
		if len(k) > 6 {
			t.Fatalf("key %q longer than 6", k)
		}
	})
}
