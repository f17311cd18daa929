package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/review"
)

// review decide and review revoke: recording and withdrawing decisions.
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
			fingerprint(ctx, cfg, &d)
			if d, err = l.Decide(d); err != nil {
				return usagef("%v", err)
			}
			fmt.Fprintf(cmd.Root().Writer, "%s %s recorded; the next nightly run applies it\n", d.ID, d.Kind)
			return nil
		},
	}
}

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
