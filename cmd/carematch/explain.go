package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/mpi"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/store"
)

func explainCommand() *cli.Command {
	return &cli.Command{
		Name:  "explain",
		Usage: "why two records are or are not linked: each comparison's level and weight, the total and the decision",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "a published run `DIR` (or <publish_dir>/current)"},
			configFlag("or the configuration `FILE`, for its current publication, as review takes it"),
			&cli.StringFlag{Name: "left", Usage: "a record as `SOURCE:LOCAL_ID`"},
			&cli.StringFlag{Name: "right", Usage: "a record as `SOURCE:LOCAL_ID`"},
			&cli.BoolFlag{Name: "json", Usage: "print the explanation as JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			run, l, r := cmd.String("run"), cmd.String("left"), cmd.String("right")
			if run == "" && cmd.String("config") != "" {
				cfg, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				run = filepath.Join(cfg.Run.PublishDir, "current")
			}
			if run == "" || l == "" || r == "" {
				return usagef("explain: --run DIR (or --config FILE), --left SOURCE:ID and --right SOURCE:ID are required")
			}
			return explainPair(ctx, cmd, run, l, r)
		},
	}
}

// explainPair prints why the model scores two records as it does, for a
// published run.
func explainPair(ctx context.Context, cmd *cli.Command, run, l, r string) error {
	left, err1 := store.ParseRecordKey(l)
	right, err2 := store.ParseRecordKey(r)
	if err1 != nil || err2 != nil {
		return usagef("explain: records are written SOURCE:LOCAL_ID, e.g. gp_lewisham:1234")
	}
	if dir, err := filepath.EvalSymlinks(run); err == nil {
		run = dir
	}
	m, err := reports.ReadManifest(filepath.Join(run, "manifest.json"))
	if err != nil {
		return fmt.Errorf("explain: %s is not a published run: %w", run, err)
	}
	model, err := linkage.LoadModel(filepath.Join(run, "model.json"))
	if err != nil {
		return err
	}
	if !fileExists(m.StateDB) {
		return fmt.Errorf("explain: run %s's database %s is gone (retention keeps the newest runs)", m.RunID, m.StateDB)
	}
	db, err := store.OpenReadOnly(m.StateDB)
	if err != nil {
		return err
	}
	defer db.Close()
	e, err := linkage.Explain(ctx, db, model, left, right)
	if err != nil {
		return err
	}
	refused, err := mpi.RefusedLink(ctx, db, left, right)
	if err != nil {
		return err
	}
	if refused != "" {
		e.Decision = "not linked: clustering refused the link, " + refused + " (a review item)"
	}
	if cmd.Bool("json") {
		return printJSON(cmd.Root().Writer, e)
	}
	e.Print(cmd.Root().Writer)
	return nil
}

// printJSON writes v as indented JSON: the --json of the commands that print
// a result.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
