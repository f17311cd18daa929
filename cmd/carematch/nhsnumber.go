package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/rules"
)

var rangeNames = map[rules.NHSRange]string{
	rules.RangeEngland:         "England, Wales and Isle of Man range",
	rules.RangeScotland:        "Scottish CHI range",
	rules.RangeNorthernIreland: "Northern Ireland H&C range",
	rules.RangeIreland:         "Republic of Ireland range",
	rules.RangeTest:            "test range (9xxxxxxxxx): never issued to a person; a night reports it as invalid_nhs_number and keeps the record out of the index",
	rules.RangeOther:           "outside the known ranges",
}

func nhsNumberCommand() *cli.Command {
	return &cli.Command{
		Name:      "nhs-number",
		Usage:     "check NHS numbers: one line per value (input, normalised number or -, verdict); exit 1 if any is invalid",
		ArgsUsage: "VALUE... (or - to read one value a line from standard input)",
		Action: func(_ context.Context, cmd *cli.Command) error {
			values := cmd.Args().Slice()
			if len(values) == 1 && values[0] == "-" {
				values = values[:0]
				sc := bufio.NewScanner(cmd.Root().Reader)
				for sc.Scan() {
					if v := strings.TrimRight(sc.Text(), "\r"); strings.TrimSpace(v) != "" {
						values = append(values, v)
					}
				}
				if err := sc.Err(); err != nil {
					return fmt.Errorf("nhs-number: standard input: %w", err)
				}
			}
			if len(values) == 0 {
				return usagef("nhs-number: give one or more values, or - to read them from standard input")
			}
			invalid := false
			w := cmd.Root().Writer
			for _, v := range values {
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
