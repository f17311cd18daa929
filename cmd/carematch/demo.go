package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/config"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "write synthetic extracts for the ten organisations and a config, run the nightly job on them, and say where everything is",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "persons", Value: 5_000, Usage: "size of the synthetic population"},
			&cli.Uint64Flag{Name: "seed", Value: 1},
			&cli.StringFlag{Name: "dir", Value: "demo", Usage: "folder for the extracts, state and publication"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			dir := cmd.String("dir")
			sum, err := writeFixtures(cmd, dir, cmd.Int("persons"), cmd.Uint64("seed"), 1)
			if err != nil {
				return err
			}
			printFixtures(cmd, dir, sum)
			cfg, err := config.Load(filepath.Join(dir, "carematch.toml"))
			if err != nil {
				return err
			}
			m, err := nightly(ctx, cfg, nightlyOptions{Progress: newProgress(cmd.Root().ErrWriter, false)})
			if err != nil {
				return err
			}
			w := cmd.Root().Writer
			fmt.Fprintln(w)
			printRunSummary(w, cfg, m)
			ev, err := evaluate(ctx, filepath.Join(cfg.Run.PublishDir, "current"), filepath.Join(dir, "truth.csv"), "")
			if err != nil {
				return err
			}
			fmt.Fprintln(w, "\naccuracy against the generator's ground truth:")
			ev.Print(w)
			fmt.Fprintf(w, "\nextracts and ground truth: %s\n", dir)
			fmt.Fprintf(w, "latest publication:        %s\n", filepath.Join(cfg.Run.PublishDir, "current"))
			fmt.Fprintf(w, "exception reports:         %s\n", filepath.Join(cfg.Run.PublishDir, "current", "exceptions"))
			fmt.Fprintf(w, "run it again yourself:     carematch run --config %s\n", cfg.File)
			return nil
		},
	}
}
