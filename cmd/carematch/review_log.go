package main

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"
)

// review decisions, export and import: the decisions in force as CSV.
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
			if err := l.Export(cmd.Root().Writer); err != nil {
				return err
			}
			return warnUnreadable(cmd, l)
		},
	}
}

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
				return l.Export(cmd.Root().Writer)
			}
			f, err := os.OpenFile(cmd.String("out"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
			if err != nil {
				return err
			}
			if err := l.Export(f); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
}

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
			n, err := l.Import(f, analystName(cmd))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.Root().Writer, "%d decisions imported\n", n)
			return nil
		},
	}
}
