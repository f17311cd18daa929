package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/review"
)

// review list and review show: the open queue, and one item's evidence.
func reviewListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "the open items of the current publication's review queue, most important first",
		Flags: []cli.Flag{reviewConfigFlag()},
		Action: func(_ context.Context, cmd *cli.Command) error {
			items, _, err := openQueue(cmd)
			if err != nil {
				return err
			}
			w := cmd.Root().Writer
			fmt.Fprintf(w, "%-10s %-20s %8s %7s  %-40s %-40s %s\n", "item", "kind", "weight", "records", "left", "right", "guard")
			for _, it := range items {
				fmt.Fprintf(w, "%-10s %-20s %8.2f %7d  %-40s %-40s %s\n", it.ID, it.Kind, it.Weight, it.Records, it.Left, it.Right, it.Guard)
			}
			fmt.Fprintf(w, "%d open items\n", len(items))
			return nil
		},
	}
}

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
