package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/selondon/carematch/fixtures"
	"github.com/selondon/carematch/reports"
)

// TestFailedNightLeavesOutValues runs the real command on a night that fails
// on a record's value — a blocking rule whose typo casts given names to
// numbers, which DuckDB refuses naming the first name it could not convert
// — and requires that neither the command's last line nor the failed
// night's manifest holds the name.
func TestFailedNightLeavesOutValues(t *testing.T) {
	dir := t.TempDir()
	if _, err := fixtures.Generate(fixtures.Options{Persons: 200, Seed: 3, Out: dir}); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "carematch.toml")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n[linkage]\nblocking_rules = [\"dob, postcode\", \"family_phonetic | typo given_name::INTEGER\"]\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var stdout, stderr bytes.Buffer
	if code := mainCodeCtx(context.Background(), []string{"carematch", "run", "--quiet", "--config", conf}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	last := stderr.String()
	manifests, _ := filepath.Glob(filepath.Join(dir, "var", "state", "runs", "*", "manifest.json"))
	manifests2, _ := filepath.Glob(filepath.Join(dir, "var", "state", "*", "*.json"))
	var failed string
	for _, p := range append(manifests, manifests2...) {
		if m, err := reports.ReadManifest(p); err == nil && m.Status == "failed" {
			failed = m.Error
		}
	}
	if failed == "" {
		t.Fatalf("no failed night's manifest kept (stderr: %s)", last)
	}
	// DuckDB names the value in quotes: only the mark left in its place may be.
	value := regexp.MustCompile(`string '[^…']|string "`)
	for where, msg := range map[string]string{"the command's last line": last, "the manifest": failed} {
		if !strings.Contains(msg, "Conversion Error") || !strings.Contains(msg, "'…'") {
			t.Errorf("%s does not say the conversion failed with its value left out: %s", where, msg)
		}
		if !strings.Contains(msg, "typo given_name::INTEGER") {
			t.Errorf("%s does not name the rule that failed: %s", where, msg)
		}
		if value.MatchString(msg) {
			t.Errorf("%s holds a record's value: %s", where, msg)
		}
	}
}
