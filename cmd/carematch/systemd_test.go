package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The example units in docs/systemd are valid (systemd-analyze verify, where
// the machine has it), and the command they and the crontab run is one the
// command line accepts.
func TestNightlySchedulingExamples(t *testing.T) {
	src := filepath.Join("..", "..", "docs", "systemd")
	for _, f := range []string{"carematch.service", "crontab"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		var args []string
		for _, line := range strings.Split(string(data), "\n") {
			if _, cmdline, ok := strings.Cut(line, "/usr/local/bin/carematch "); ok && !strings.HasPrefix(strings.TrimSpace(line), "#") {
				cmdline, _, _ = strings.Cut(cmdline, " >>")
				args = strings.Fields(cmdline)
			}
		}
		if len(args) == 0 {
			t.Fatalf("%s runs no carematch command", f)
		}
		var out, errb bytes.Buffer
		if code := mainCode(append(append([]string{"carematch"}, args...), "--help"), &out, &errb); code != 0 || !strings.Contains(out.String(), "nightly job") {
			t.Errorf("%s: carematch %v: exit %d: %s", f, args, code, errb.String())
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze on this machine")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"carematch.service", "carematch.timer"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		// The binary must exist for verify: this test's stands in for it.
		text := strings.ReplaceAll(string(data), "/usr/local/bin/carematch", self)
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "carematch.service"), filepath.Join(dir, "carematch.timer"))
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
