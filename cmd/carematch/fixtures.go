package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/fixtures"
)

// minPersons keeps every one of the ten extracts non-empty: the smallest
// (a council's social care clients) holds about one person in seventy.
const minPersons = 500

func fixturesCommand() *cli.Command {
	return &cli.Command{
		Name:  "fixtures",
		Usage: "write synthetic extracts for the ten organisations, truth.csv, optouts.csv and carematch.toml",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "persons", Value: 20_000, Usage: "how many people live in the synthetic population"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "the same seed gives the same files, byte for byte"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (created if needed)"},
			&cli.IntFlag{Name: "night", Value: 1, Usage: "`N`: the extracts of the Nth night of the same population, each night from the one before by about 2% of records gone, corrected or new"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.String("out") == "" {
				return usagef("fixtures: --out DIR is required")
			}
			if n := cmd.Int("night"); n < 1 {
				return usagef("fixtures: --night is 1 or more")
			}
			sum, err := writeFixtures(cmd, cmd.String("out"), cmd.Int("persons"), cmd.Uint64("seed"), cmd.Int("night"))
			if err != nil {
				return err
			}
			printFixtures(cmd, cmd.String("out"), sum)
			return nil
		},
	}
}

func writeFixtures(cmd *cli.Command, out string, persons int, seed uint64, night int) (*fixtures.Summary, error) {
	if persons < minPersons {
		return nil, usagef("%s: --persons must be at least %d so that every extract has rows", cmd.Name, minPersons)
	}
	p, err := progressFor(cmd)
	if err != nil {
		return nil, err
	}
	p.logf("fixtures: %d persons, seed %d, into %s", persons, seed, out)
	return fixtures.Generate(fixtures.Options{Persons: persons, Seed: seed, Out: out, Night: night,
		Progress: func(n int) { p.logf("fixtures: %d persons", n) }})
}

func printFixtures(cmd *cli.Command, out string, sum *fixtures.Summary) {
	w := cmd.Root().Writer
	total := 0
	ids := make([]string, 0, len(sum.Records))
	for id, n := range sum.Records {
		ids = append(ids, id)
		total += n
	}
	sort.Strings(ids)
	fmt.Fprintf(w, "%d persons, %d records in %d extracts, %d opt-outs\n", sum.Persons, total, len(ids), sum.OptOuts)
	for _, id := range ids {
		fmt.Fprintf(w, "  %-22s %d\n", id, sum.Records[id])
	}
	fmt.Fprintf(w, "config: %s\n", filepath.Join(out, "carematch.toml"))
}
