package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/publish"
	"github.com/selondon/carematch/store"
)

// A night says how it linked and why; the model fitted on the first night
// is held by the nights after it (the same m and u, no training) until
// --retrain; a night links from the last night's pairs unless asked not to
// or the configuration, carematch or the model changed.
func TestModeAndHeldModel(t *testing.T) {
	dir := t.TempDir()
	fixtureNight(t, dir, 1_500, 11, 1)
	path := filepath.Join(dir, "carematch.toml")
	appendConfig := func(text string) func() {
		return func() {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, append(b, text...), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	load := func() *config.Config {
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	// onLastState changes last night's state database with one statement.
	onLastState := func(q string, args ...any) func() {
		return func() {
			db, err := store.Open(publish.PreviousState(filepath.Join(dir, "var", "state")), 1)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	model := func(runID string) *linkage.Model {
		m, err := linkage.LoadModel(filepath.Join(dir, "var", "publish", runID, "model.json"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	steps := []struct {
		name      string
		opt       nightlyOptions
		edit      func()
		reason    string // part of the manifest's mode_reason
		modelFrom string
		why       string // part of the linkage's model_reason
		noGuards  bool
		// incremental: the night links from last night's pairs.
		incremental bool
	}{
		{name: "first night", reason: "first night", modelFrom: "fitted"},
		{name: "second night", incremental: true, modelFrom: "held"},
		// Last night's bound of a rule's pairs at its cap: tonight's might
		// pass it, and only full blocking can say whether to drop the rule.
		{name: "a rule might pass its pair cap", edit: func() {
			limit := load().Linkage.MaxPairsPerRule
			if limit == 0 {
				limit = linkage.DefaultMaxPairsPerRule
			}
			onLastState("UPDATE blocking_rules SET pairs_at_most = ? WHERE rule = 0", limit+1)()
		}, reason: "might be tonight", modelFrom: "held"},
		// Which records are unchanged is said by the fingerprints the load
		// keeps: a state without them (written before they were kept) is a
		// full night's to start from.
		{name: "no record fingerprints kept", edit: onLastState("DROP TABLE record_prints"), reason: "no record fingerprints", modelFrom: "held"},
		{name: "full", opt: nightlyOptions{Full: true}, reason: "--full", modelFrom: "held"},
		{name: "retrain", opt: nightlyOptions{Retrain: true}, reason: "--retrain", modelFrom: "fitted"},
		{name: "configuration changed", edit: appendConfig("\n# a comment changes the file\n"), reason: "configuration changed", modelFrom: "held"},
		// Guards are configuration: a held model takes tonight's.
		{name: "guards off", edit: appendConfig("\n[linkage]\nguards = false\n"), reason: "configuration changed", modelFrom: "held", noGuards: true},
		// A model held from before the prior came from the NHS numbers
		// (its JSON without prior_from) is fitted again, once.
		{name: "a model from before prior_from", edit: onLastState(`UPDATE model SET json = regexp_replace(json, '"prior_from":"[a-z_]+",', '')`),
			reason: "model is not the one held", modelFrom: "fitted", why: "fitted before carematch took it from the NHS numbers", noGuards: true},
		{name: "no model kept", edit: onLastState("DROP TABLE model"), reason: "model is not the one held", modelFrom: "fitted", why: "kept no model", noGuards: true},
	}
	var prevFitted *linkage.Model
	for _, st := range steps {
		if st.edit != nil {
			st.edit()
		}
		m, err := nightly(context.Background(), load(), st.opt)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		switch {
		case st.incremental && (m.Mode != modeIncremental || m.ModeReason != ""):
			t.Errorf("%s: mode %q (%q), want incremental", st.name, m.Mode, m.ModeReason)
		case !st.incremental && (m.Mode != modeFull || !strings.Contains(m.ModeReason, st.reason)):
			t.Errorf("%s: mode %q (%q), want full because of %q", st.name, m.Mode, m.ModeReason, st.reason)
		}
		if m.Linkage.ModelFrom != st.modelFrom || !strings.Contains(m.Linkage.ModelReason, st.why) {
			t.Errorf("%s: model %s (%q), want %s (%q)", st.name, m.Linkage.ModelFrom, m.Linkage.ModelReason, st.modelFrom, st.why)
		}
		_, trained := m.TimingsMS["link_train"]
		if trained != (st.modelFrom == "fitted") {
			t.Errorf("%s: trained %v with a model %s", st.name, trained, st.modelFrom)
		}
		got := model(m.RunID)
		if (len(got.Guards) == 0) != st.noGuards {
			t.Errorf("%s: %d guards in the model", st.name, len(got.Guards))
		}
		if st.modelFrom == "held" && got.Training.HeldFrom == "" {
			t.Errorf("%s: a held model that does not say where from", st.name)
		}
		switch {
		case st.modelFrom == "held":
			if !reflect.DeepEqual(got.M, prevFitted.M) || !reflect.DeepEqual(got.U, prevFitted.U) || got.Lambda != prevFitted.Lambda {
				t.Errorf("%s: the held model is not the last one fitted", st.name)
			}
		default:
			prevFitted = got
		}
	}
}
