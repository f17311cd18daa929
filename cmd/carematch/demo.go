package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
			p, err := progressFor(cmd)
			if err != nil {
				return err
			}
			m, err := nightly(ctx, cfg, nightlyOptions{Progress: p})
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
			self, current := invokedAs(), filepath.Join(cfg.Run.PublishDir, "current")
			cfgPath := relative(cfg.File)
			fmt.Fprintf(w, "\nextracts and ground truth: %s\n", dir)
			fmt.Fprintf(w, "latest publication:        %s\n", relative(current))
			fmt.Fprintf(w, "the analysts' report:      %s\n", relative(filepath.Join(current, "report.html")))
			fmt.Fprintf(w, "exception reports:         %s\n", relative(filepath.Join(current, "exceptions")))
			fmt.Fprintf(w, "review the queue:          %s review serve --config %s\n", self, cfgPath)
			fmt.Fprintf(w, "run the next night:        %s run --config %s\n", self, cfgPath)
			return nil
		},
	}
}

// invokedAs is how the user called this program, for commands printed for
// them to run: ./bin/carematch after make, carematch when on the PATH.
func invokedAs() string {
	self := os.Args[0]
	if filepath.Base(self) != self && !filepath.IsAbs(self) && !strings.HasPrefix(self, ".") {
		self = "./" + self
	}
	if strings.HasSuffix(filepath.Base(self), ".test") { // a test binary: say what a user would type
		return "carematch"
	}
	return self
}

// relative is path relative to the working folder when it is under it.
func relative(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
