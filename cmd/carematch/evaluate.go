package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/reports"
)

func evaluateCommand() *cli.Command {
	return &cli.Command{
		Name:  "evaluate",
		Usage: "pairwise precision, recall and F1 of a published run against labelled truth (source_id,local_id,person_id)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "truth", Usage: "truth `FILE`"},
			&cli.StringFlag{Name: "run", Usage: "a published run `DIR` (or <publish_dir>/current)"},
			&cli.StringFlag{Name: "negatives", Usage: "hard-negative pairs `FILE` (kind,person_a,person_b); default negatives.csv beside the truth, if any"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.String("truth") == "" || cmd.String("run") == "" {
				return usagef("evaluate: --truth FILE and --run DIR are required")
			}
			ev, err := evaluate(ctx, cmd.String("run"), cmd.String("truth"), cmd.String("negatives"))
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				enc := json.NewEncoder(cmd.Root().Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(ev)
			}
			ev.Print(cmd.Root().Writer)
			return nil
		},
	}
}

func evaluate(ctx context.Context, run, truth, negatives string) (*reports.Evaluation, error) {
	if negatives == "" {
		if p := filepath.Join(filepath.Dir(truth), "negatives.csv"); fileExists(p) {
			negatives = p
		}
	}
	if dir, err := filepath.EvalSymlinks(run); err == nil {
		run = dir
	}
	return reports.Evaluate(ctx, run, truth, negatives)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
