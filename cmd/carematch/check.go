package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/extract"
	"github.com/selondon/carematch/store"
)

// checkRows is how many rows of each file check reads: enough to catch a
// wrong date format or a column mapped to the wrong field, quick on any
// extract.
const checkRows = 1000

// checkShare is the share of the rows checked a field must fail on for
// check to call it a problem with the configuration rather than with a few
// rows: a date format that does not fit, a column mapped to the wrong field.
const checkShare = 0.5

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check the configuration and every extract's header and first rows, without running the night",
		Description: "Reads the configuration as run does, then each source's files (and the opt-out forms): that they exist\n" +
			"and can be read, that every configured column is in the header, and the first 1,000 rows through the same\n" +
			"rules as a night. A field that fails on half the rows checked (a date format that does not fit) is a problem.\n" +
			"Exit 0: ready; 1: a source has a problem; 2: the configuration is wrong. Nothing is written but a scratch\n" +
			"database in a temporary folder, removed after; no patient's value is printed.",
		Flags: []cli.Flag{configFlag("configuration `FILE` (TOML)")},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			problems, err := checkSources(ctx, cmd.Root().Writer, cfg)
			if err != nil {
				return err
			}
			if problems > 0 {
				fmt.Fprintf(cmd.Root().ErrWriter, "carematch: check: %d of %d sources have problems (above)\n", problems, len(cfg.Sources)+btoi(cfg.Optouts != nil))
				return &exitError{code: 1}
			}
			fmt.Fprintf(cmd.Root().Writer, "ready: the configuration and %d sources check out\n", len(cfg.Sources)+btoi(cfg.Optouts != nil))
			return nil
		},
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkSources reads each source's first rows into a scratch database and
// prints one line per source; it returns how many have problems.
func checkSources(ctx context.Context, w io.Writer, cfg *config.Config) (int, error) {
	tmp, err := os.MkdirTemp("", "carematch-check-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	db, err := store.Open(filepath.Join(tmp, "check.duckdb"), 0)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if err := db.CreateSchema(ctx, cfg.ExtraFields()); err != nil {
		return 0, err
	}
	opt := extract.Options{Today: time.Now(), FirstRows: checkRows}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	problems := 0
	report := func(id, file string, read int64, fatal error) error {
		if fatal != nil {
			problems++
			var se *extract.SourceError
			msg := fatal.Error()
			if errors.As(fatal, &se) {
				msg = se.Problem() // the line names the source and file
			}
			fmt.Fprintf(tw, "%s\t%s\tPROBLEM: %s\n", id, file, msg)
			return nil
		}
		findings, err := fieldFindings(ctx, db, id, read)
		if err != nil {
			return err
		}
		if len(findings) == 0 {
			fmt.Fprintf(tw, "%s\t%s\tok: %d rows checked\n", id, file, read)
			return nil
		}
		bad := false
		for _, f := range findings {
			bad = bad || f.problem
		}
		verdict := "ok"
		if bad {
			verdict, problems = "PROBLEM", problems+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s: %d rows checked\n", id, file, verdict, read)
		for _, f := range findings {
			fmt.Fprintf(tw, "\t\t  %s\n", f.text)
		}
		return nil
	}
	for i := range cfg.Sources {
		src := cfg.Sources[i]
		one := *cfg
		one.Sources = []config.Source{src}
		res, err := extract.LoadAll(ctx, db, &one, opt)
		file := filepath.Base(src.Path)
		var read int64
		if len(res) == 1 {
			read = res[0].Read
			if res[0].Missing {
				fmt.Fprintf(tw, "%s\t%s\tok: optional, and no file is there tonight\n", src.ID, file)
				continue
			}
		}
		if err := report(src.ID, file, read, sourceProblem(err)); err != nil {
			return problems, err
		}
		if err := unexpected(err); err != nil {
			return problems, err
		}
	}
	if cfg.Optouts != nil {
		n, err := extract.LoadOptouts(ctx, db, cfg.Optouts, opt)
		if err := report(config.OptoutsID, filepath.Base(cfg.Optouts.Path), n, sourceProblem(err)); err != nil {
			return problems, err
		}
		if err := unexpected(err); err != nil {
			return problems, err
		}
	}
	return problems, nil
}

// sourceProblem is err when it is about a source's files (a *SourceError),
// else nil.
func sourceProblem(err error) error {
	var se *extract.SourceError
	if errors.As(err, &se) {
		return err
	}
	return nil
}

// unexpected is err when it is not about a source's files: the check itself
// failed.
func unexpected(err error) error {
	if err == nil || sourceProblem(err) != nil {
		return nil
	}
	return err
}

// finding is what check says about one field of a source.
type finding struct {
	text    string
	problem bool
}

// fieldFindings counts the source's rejected rows and value exceptions by
// kind and field; a field failing on checkShare of the rows is a problem.
func fieldFindings(ctx context.Context, db *store.DB, source string, read int64) ([]finding, error) {
	rows, err := db.QueryContext(ctx, `SELECT kind, coalesce(field, ''), count(*), any_value(reason) FROM exceptions
		WHERE source_id = ? GROUP BY ALL ORDER BY 3 DESC, 1, 2`, source)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []finding
	for rows.Next() {
		var kind, field, reason string
		var n int64
		if err := rows.Scan(&kind, &field, &n, &reason); err != nil {
			return nil, err
		}
		problem := read > 0 && float64(n) >= checkShare*float64(read)
		what := field
		if what == "" {
			what = "rows"
		}
		text := fmt.Sprintf("%s: %d of %d rows (%s; for example: %s)", what, n, read, kind, reason)
		if problem {
			text += " — most rows: check the source's mapping or date_format"
		}
		out = append(out, finding{text: text, problem: problem})
	}
	return out, rows.Err()
}
