package rules

import "testing"

func TestParseSex(t *testing.T) {
	tests := []struct {
		in   string
		m    map[string]string
		want Sex
		ok   bool
	}{
		{"M", nil, SexMale, true}, {"f", nil, SexFemale, true}, {"U", nil, SexUnknown, true},
		{"1", nil, SexMale, true}, {"2", nil, SexFemale, true}, {"9", nil, SexOther, true},
		{"0", nil, SexUnknown, true}, {"X", nil, SexUnknown, true}, {"Male", nil, SexMale, true},
		{"FEMALE", nil, SexFemale, true}, {"Indeterminate", nil, SexOther, true}, {"", nil, SexUnknown, true},
		{"Q", nil, SexUnknown, false},
		{"3", map[string]string{"3": "female"}, SexFemale, true},
		{"1", map[string]string{"1": "female", "2": "male"}, SexFemale, true},
	}
	for _, tt := range tests {
		got, ok := ParseSex(tt.in, tt.m)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseSex(%q, %v) = %q, %v; want %q, %v", tt.in, tt.m, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseYesNo(t *testing.T) {
	tests := []struct {
		in               string
		value, known, ok bool
	}{
		{"Y", true, true, true}, {"yes", true, true, true}, {"TRUE", true, true, true}, {"1", true, true, true},
		{"N", false, true, true}, {"No", false, true, true}, {"false", false, true, true}, {"0", false, true, true},
		{"", false, false, true}, {"maybe", false, false, false},
	}
	for _, tt := range tests {
		v, k, ok := ParseYesNo(tt.in, nil)
		if v != tt.value || k != tt.known || ok != tt.ok {
			t.Errorf("ParseYesNo(%q) = %v %v %v", tt.in, v, k, ok)
		}
	}
}
