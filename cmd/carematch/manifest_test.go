package main

import "testing"

// Step names become the manifest's timing keys: lower case, words joined
// by one underscore.
func TestStepKey(t *testing.T) {
	for in, want := range map[string]string{
		"golden record":            "golden_record",
		"analysts' decisions":      "analysts_decisions",
		"within-source duplicates": "within_source_duplicates",
		"NHS-number conflicts":     "nhs_number_conflicts",
		"persons' numbers":         "persons_numbers",
		"xref files":               "xref_files",
	} {
		if got := stepKey(in); got != want {
			t.Errorf("stepKey(%q) = %q, want %q", in, got, want)
		}
	}
}
