package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/mpi"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/review"
	"github.com/selondon/carematch/store"
)

// The review command's flags and helpers, shared by its subcommands (a
// function each, below). A flag holds its value, so each command gets flags
// of its own.
func reviewConfigFlag() cli.Flag {
	return configFlag("configuration `FILE` (its state_dir holds the decisions)")
}

func reviewAnalystFlag() cli.Flag {
	return &cli.StringFlag{Name: "analyst", Usage: "your name, for the audit trail (default $USER)"}
}

func reviewReasonFlag() cli.Flag {
	return &cli.StringFlag{Name: "reason", Usage: "why, for the audit trail (required)"}
}

// decisionLog is the configuration's decision log.
func decisionLog(cmd *cli.Command) (*review.Log, *config.Config, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	return review.Open(cfg.Run.StateDir), cfg, nil
}

// analystName is --analyst, or $USER.
func analystName(cmd *cli.Command) string {
	if a := cmd.String("analyst"); a != "" {
		return a
	}
	return os.Getenv("USER")
}

func reviewCommand() *cli.Command {
	return &cli.Command{
		Name:  "review",
		Usage: "analysts' decisions: link, no-link or detach records; every later night obeys them",
		Commands: []*cli.Command{serveCommand(), reviewListCommand(), reviewShowCommand(), reviewDecideCommand(),
			reviewRevokeCommand(), reviewDecisionsCommand(), reviewExportCommand(), reviewImportCommand()},
	}
}

// exportDecisions writes the decisions in force as CSV to w and tells the
// analyst, on stderr, which lines of the log cannot be applied (the nightly
// run reports them too).
func exportDecisions(cmd *cli.Command, l *review.Log, w io.Writer) error {
	f, err := l.Export(w)
	if err != nil {
		return err
	}
	for _, b := range f.Unreadable {
		fmt.Fprintf(cmd.Root().ErrWriter, "warning: %s: line %d cannot be applied: %s\n", l.Path(), b.Line, b.Reason)
	}
	return nil
}

// openQueue loads the current publication's open review items.
func openQueue(cmd *cli.Command) ([]review.Item, string, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, "", err
	}
	return currentQueue(cfg)
}

// currentQueue is the open items of the configuration's current
// publication, leaving out those the decisions in force have settled, and
// the publication's folder.
func currentQueue(cfg *config.Config) ([]review.Item, string, error) {
	run := filepath.Join(cfg.Run.PublishDir, "current")
	in, _, err := review.Open(cfg.Run.StateDir).InForce()
	if err != nil {
		return nil, "", err
	}
	items, err := review.LoadQueue(filepath.Join(run, "exceptions", "review_queue.csv"), filepath.Join(run, "index", "xref.csv"), in)
	if err != nil {
		return nil, "", fmt.Errorf("review: no published run to review (%v)", err)
	}
	return items, run, nil
}

// reviewListCommand: the open items, most important first.
func reviewListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "the open items of the current publication's review queue, most important first",
		Flags: []cli.Flag{reviewConfigFlag(), &cli.BoolFlag{Name: "json", Usage: "print the items as JSON (no patient values, as the table)"}},
		Action: func(_ context.Context, cmd *cli.Command) error {
			items, _, err := openQueue(cmd)
			if err != nil {
				return err
			}
			w := cmd.Root().Writer
			if cmd.Bool("json") {
				type listed struct {
					ID      string  `json:"id"`
					Kind    string  `json:"kind"`
					Weight  float64 `json:"match_weight"`
					Records int     `json:"records"`
					Left    string  `json:"left"`
					Right   string  `json:"right"`
					Reason  string  `json:"reason,omitempty"`
				}
				out := make([]listed, len(items))
				for i, it := range items {
					out[i] = listed{it.ID, it.Kind, it.Weight, it.Records, it.Left.String(), it.Right.String(), it.Guard}
				}
				return printJSON(w, out)
			}
			fmt.Fprintf(w, "%-10s %-20s %8s %7s  %-40s %-40s %s\n", "item", "kind", "weight", "records", "left", "right", "guard")
			for _, it := range items {
				fmt.Fprintf(w, "%-10s %-20s %8.2f %7d  %-40s %-40s %s\n", it.ID, it.Kind, it.Weight, it.Records, it.Left, it.Right, it.Guard)
			}
			fmt.Fprintf(w, "%d open items\n", len(items))
			return nil
		},
	}
}

// reviewShowCommand: one item's evidence, with no patient value.
func reviewShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "one item's evidence, as explain shows it (values are in exceptions/review_queue.csv, for analysts)",
		ArgsUsage: "ITEM",
		Flags:     []cli.Flag{reviewConfigFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			items, run, err := openQueue(cmd)
			if err != nil {
				return err
			}
			it, err := review.FindItem(items, cmd.Args().First())
			if err != nil {
				return err
			}
			return explainPair(ctx, cmd, run, it.Left.String(), it.Right.String())
		},
	}
}

// reviewDecideCommand records a decision, about an item or two records.
func reviewDecideCommand() *cli.Command {
	return &cli.Command{
		Name:      "decide",
		Usage:     "record a decision: link|no-link (two records) or detach (one record)",
		ArgsUsage: "[ITEM] link|no-link|detach",
		Flags: []cli.Flag{reviewConfigFlag(), reviewAnalystFlag(), reviewReasonFlag(),
			&cli.StringFlag{Name: "left", Usage: "`SOURCE:LOCAL_ID`"},
			&cli.StringFlag{Name: "right", Usage: "`SOURCE:LOCAL_ID` (not for detach)"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			kinds := map[string]string{"link": review.Link, "no-link": review.NoLink, "no_link": review.NoLink, "detach": review.Detach}
			args := cmd.Args().Slice()
			kind, ok := "", false
			if len(args) > 0 {
				kind, ok = kinds[args[len(args)-1]]
			}
			if !ok || len(args) > 2 {
				return usagef("review decide: say [ITEM] link, no-link or detach")
			}
			if len(args) == 2 {
				// An item of the queue names both records.
				items, _, err := openQueue(cmd)
				if err != nil {
					return err
				}
				it, err := review.FindItem(items, args[0])
				if err != nil {
					return err
				}
				cmd.Set("left", it.Left.String())
				cmd.Set("right", it.Right.String())
			}
			left, err := review.ParseRecord(cmd.String("left"))
			if err != nil {
				return usagef("review decide: --left: %v", err)
			}
			d := review.Decision{Kind: kind, Left: left, Analyst: analystName(cmd), Reason: cmd.String("reason")}
			if kind != review.Detach {
				right, err := review.ParseRecord(cmd.String("right"))
				if err != nil {
					return usagef("review decide: --right: %v", err)
				}
				d.Right = &right
			}
			l, cfg, err := decisionLog(cmd)
			if err != nil {
				return err
			}
			if err := stampDecision(ctx, cfg, &d); err != nil {
				return err
			}
			if d, err = l.Decide(d); err != nil {
				return usagef("%v", err)
			}
			fmt.Fprintf(cmd.Root().Writer, "%s %s recorded; the next nightly run applies it\n", d.ID, d.Kind)
			return nil
		},
	}
}

// reviewRevokeCommand withdraws a decision.
func reviewRevokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "withdraw a decision",
		ArgsUsage: "DECISION_ID",
		Flags:     []cli.Flag{reviewConfigFlag(), reviewAnalystFlag(), reviewReasonFlag()},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return usagef("review revoke: give one decision ID")
			}
			l, _, err := decisionLog(cmd)
			if err != nil {
				return err
			}
			if err := l.Revoke(cmd.Args().First(), analystName(cmd), cmd.String("reason")); err != nil {
				return err
			}
			fmt.Fprintf(cmd.Root().Writer, "%s revoked\n", cmd.Args().First())
			return nil
		},
	}
}

// reviewDecisionsCommand lists the decisions in force, as CSV.
func reviewDecisionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "decisions",
		Usage: "list the decisions in force",
		Flags: []cli.Flag{reviewConfigFlag()},
		Action: func(_ context.Context, cmd *cli.Command) error {
			l, _, err := decisionLog(cmd)
			if err != nil {
				return err
			}
			return exportDecisions(cmd, l, cmd.Root().Writer)
		},
	}
}

// reviewExportCommand writes the decisions in force as CSV, to keep.
func reviewExportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the decisions in force as CSV (to keep under version control)",
		Flags: []cli.Flag{reviewConfigFlag(), &cli.StringFlag{Name: "out", Usage: "`FILE` (default stdout)"}},
		Action: func(_ context.Context, cmd *cli.Command) error {
			l, _, err := decisionLog(cmd)
			if err != nil {
				return err
			}
			if cmd.String("out") == "" {
				return exportDecisions(cmd, l, cmd.Root().Writer)
			}
			f, err := os.OpenFile(cmd.String("out"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
			if err != nil {
				return err
			}
			if err := exportDecisions(cmd, l, f); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
}

// reviewImportCommand records the decisions of an exported CSV.
func reviewImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "record the decisions of an exported CSV",
		ArgsUsage: "FILE",
		Flags:     []cli.Flag{reviewConfigFlag(), reviewAnalystFlag()},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return usagef("review import: give one CSV file")
			}
			l, _, err := decisionLog(cmd)
			if err != nil {
				return err
			}
			f, err := os.Open(cmd.Args().First())
			if err != nil {
				return err
			}
			defer f.Close()
			n, already, err := l.Import(f, analystName(cmd))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.Root().Writer, "%d decisions imported, %d already in force\n", n, already)
			return nil
		},
	}
}

// stampDecision checks that a decision's records are in the current
// publication (a record of its database, or an opt-out form its queue
// names) — a usage error otherwise — and stamps the decision with their
// fingerprints, so a later night can tell whether they changed. Without a
// publication (or its database) the decision is kept unchecked and
// unstamped.
func stampDecision(ctx context.Context, cfg *config.Config, d *review.Decision) error {
	m, err := reports.ReadManifest(filepath.Join(cfg.Run.PublishDir, "current", "manifest.json"))
	if err != nil || m.StateDB == "" {
		return nil // nothing published yet: the records cannot be checked
	}
	db, err := store.OpenReadOnly(m.StateDB)
	if err != nil {
		return nil
	}
	defer db.Close()
	recs := []store.RecordKey{d.Left}
	if d.Right != nil {
		recs = append(recs, *d.Right)
	}
	fps, err := mpi.Fingerprints(ctx, db, recs)
	if err != nil {
		return nil
	}
	var forms map[store.RecordKey]bool
	for _, r := range recs {
		if _, ok := fps[r]; ok {
			continue
		}
		if forms == nil { // an opt-out form is no record: the queue names it
			forms = map[store.RecordKey]bool{}
			if items, _, err := currentQueue(cfg); err == nil {
				for _, it := range items {
					forms[it.Left], forms[it.Right] = true, true
				}
			}
		}
		if !forms[r] {
			return usagef("review decide: %s is not a record of the current publication (%s): write SOURCE:LOCAL_ID as index/xref.csv has it", r, m.RunID)
		}
	}
	d.LeftPrint = fps[recs[0]]
	if d.Right != nil {
		d.RightPrint = fps[recs[1]]
	}
	return nil
}
