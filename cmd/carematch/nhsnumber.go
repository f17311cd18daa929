package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/rules"
)

var rangeNames = map[rules.NHSRange]string{
	rules.RangeEngland:         "England, Wales and Isle of Man range",
	rules.RangeScotland:        "Scottish CHI range",
	rules.RangeNorthernIreland: "Northern Ireland H&C range",
	rules.RangeIreland:         "Republic of Ireland range",
	rules.RangeTest:            "test range (9xxxxxxxxx): never issued to a person",
	rules.RangeOther:           "outside the known ranges",
}

func nhsNumberCommand() *cli.Command {
	return &cli.Command{
		Name:      "nhs-number",
		Usage:     "check NHS numbers: one line per value (input, normalised number or -, verdict); exit 1 if any is invalid",
		ArgsUsage: "VALUE...",
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() == 0 {
				return usagef("nhs-number: give one or more values")
			}
			invalid := false
			w := cmd.Root().Writer
			for _, v := range cmd.Args().Slice() {
				n := rules.ParseNHSNumber(v)
				norm := n.Number
				if norm == "" {
					norm = "-"
				}
				if n.Valid() {
					fmt.Fprintf(w, "%s\t%s\tvalid\t%s\n", v, norm, rangeNames[n.Range])
				} else {
					invalid = true
					fmt.Fprintf(w, "%s\t%s\tinvalid: %s\n", v, norm, n.Reason)
				}
			}
			if invalid {
				return &exitError{1}
			}
			return nil
		},
	}
}
