package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/review"
)

// The review command's flags and helpers, shared by its subcommands (one
// file each: review_queue.go, review_decide.go, review_log.go). A flag holds
// its value, so each command gets flags of its own.
func reviewConfigFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "configuration `FILE` (its state_dir holds the decisions)"}
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

// warnUnreadable tells the analyst, on stderr, which lines of the decision
// log cannot be applied (the nightly run reports them too).
func warnUnreadable(cmd *cli.Command, l *review.Log) error {
	f, err := l.Read()
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
