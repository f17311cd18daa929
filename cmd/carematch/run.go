package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/mpi"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/review"
	"github.com/selondon/carematch/store"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "the nightly job: load every source, validate, publish the run with its exception reports",
		Flags: []cli.Flag{
			configFlag("configuration `FILE` (TOML)"),
			&cli.BoolFlag{Name: "full", Usage: "recompute every pair, with the model held from the last night"},
			&cli.BoolFlag{Name: "retrain", Usage: "fit a new model tonight (and recompute every pair)"},
			&cli.BoolFlag{Name: "json", Usage: "print the run's result (its manifest) as JSON on stdout instead of the summary"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			p, err := progressFor(cmd)
			if err != nil {
				return err
			}
			m, err := nightly(ctx, cfg, nightlyOptions{Progress: p, Full: cmd.Bool("full"), Retrain: cmd.Bool("retrain")})
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(cmd.Root().Writer, m)
			}
			printRunSummary(cmd.Root().Writer, cfg, m)
			return nil
		},
	}
}

func printRunSummary(w io.Writer, cfg *config.Config, m *reports.Manifest) {
	fmt.Fprintf(w, "run %s %s\n", m.RunID, m.Status)
	fmt.Fprintf(w, "published %s\n", filepath.Join(cfg.Run.PublishDir, m.RunID))
	fmt.Fprintf(w, "rows read %d, loaded %d, rejected %d\n", m.Counts["rows_read"], m.Counts["rows_loaded"], m.Counts["rows_rejected"])
	rps := 0.0
	if ms := m.TimingsMS["load"]; ms > 0 {
		rps = float64(m.Counts["rows_read"]) / (float64(ms) / 1000)
	}
	fmt.Fprintf(w, "took %.1fs (load %.1fs, %.0f rows/s), cpu %.1fs, peak memory %d MiB\n", m.Resources.WallSeconds,
		float64(m.TimingsMS["load"])/1000, rps, m.Resources.CPUSeconds, m.Resources.PeakRSSBytes>>20)
	switch {
	case m.Mode == modeIncremental:
		fmt.Fprintf(w, "incremental night: %d of %d candidate pairs compared, the rest carried from the last night\n", m.Counts["pairs_compared"], m.Counts["candidate_pairs"])
	case m.Mode != "":
		fmt.Fprintf(w, "%s night: %s\n", m.Mode, m.ModeReason)
	}
	if m.Linkage != nil {
		var methods []string
		for _, k := range slices.Sorted(maps.Keys(m.LinkMethods)) {
			methods = append(methods, fmt.Sprintf("%s %d", k, m.LinkMethods[k]))
		}
		fmt.Fprintf(w, "persons %d from %d records (by link method: %s)\n", m.Counts["persons"], m.Counts["indexed_records"], strings.Join(methods, ", "))
		fmt.Fprintf(w, "candidate pairs %d (%.1f a record)\n", m.Linkage.CandidatePairs, m.Linkage.PairsPerRecord)
	}
	printStages(w, m.TimingsMS)
	fmt.Fprintln(w, "exceptions:")
	kinds := []string{}
	for _, k := range store.ExceptionKinds {
		kinds = append(kinds, string(k))
	}
	for _, k := range append(kinds, "review_queue") {
		fmt.Fprintf(w, "  %-24s %d\n", k, m.Exceptions[k])
	}
}

// printStages prints the time of each stage and of the steps within it:
// where a night's time went. Linkage's steps are in the order they run,
// the other stages' slowest first.
func printStages(w io.Writer, ms map[string]int64) {
	fmt.Fprintln(w, "stages (s):")
	for _, st := range []string{"load", "link", "index", "portal", "report", "publish"} {
		if t, ok := ms[st]; ok {
			fmt.Fprintf(w, "  %-24s %7.1f\n", st, float64(t)/1000)
		}
		var steps []string
		if st == "link" {
			steps = []string{"prepare", "deterministic", "blocking", "compare", "train", "reuse_model", "score", "lift_guards", "ambiguous"}
		} else {
			for k := range ms {
				if step, ok := strings.CutPrefix(k, st+"_"); ok {
					steps = append(steps, step)
				}
			}
			slices.SortFunc(steps, func(a, b string) int {
				return cmp.Or(cmp.Compare(ms[st+"_"+b], ms[st+"_"+a]), cmp.Compare(a, b))
			})
		}
		for _, step := range steps {
			if t, ok := ms[st+"_"+step]; ok {
				fmt.Fprintf(w, "    %-22s %7.1f\n", step, float64(t)/1000)
			}
		}
	}
}

// indexDecisions reads the analysts' decisions for the index: those in
// force, those a later decision replaced, and lines that cannot be applied
// (both to be reported).
func indexDecisions(cfg *config.Config) ([]mpi.Decision, []mpi.UnreadableDecision, error) {
	log := review.Open(cfg.Run.StateDir)
	f, err := log.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("analysts' decisions: %w", err)
	}
	in, superseded := f.InForce, f.Superseded
	var bad []mpi.UnreadableDecision
	for _, b := range f.Unreadable {
		bad = append(bad, mpi.UnreadableDecision{File: filepath.Base(log.Path()), Line: b.Line, Reason: b.Reason})
	}
	conv := func(d review.Decision, by string) mpi.Decision {
		md := mpi.Decision{ID: d.ID, Kind: d.Kind, Left: d.Left, SupersededBy: by, LeftPrint: d.LeftPrint, RightPrint: d.RightPrint}
		if d.Right != nil {
			md.Right = *d.Right
		}
		return md
	}
	var out []mpi.Decision
	for _, d := range in {
		out = append(out, conv(d, ""))
	}
	for _, s := range superseded {
		out = append(out, conv(s.Decision, s.By))
	}
	return out, bad, nil
}
