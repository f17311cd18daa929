// Command carematch is the nightly job that builds and publishes the master
// patient index behind the south-east London shared care record. This
// package owns the command line: flags, the configuration file, wiring the
// stages together and exit codes (0 success, 1 the work failed, 2 a usage or
// configuration error). Each subcommand has its own file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/store"
)

// version is set by the Makefile (-ldflags "-X main.version=…").
var version = ""

func main() {
	os.Exit(mainCode(os.Args, os.Stdout, os.Stderr))
}

// usageError is a mistake in how the command was called: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitError carries an exit code for a result that is not an error message,
// such as nhs-number finding an invalid value.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func mainCode(args []string, stdout, stderr io.Writer) int {
	// CAREMATCH_CPUPROFILE=FILE writes a CPU profile of the whole command,
	// for finding out why a night was slow.
	if path := os.Getenv("CAREMATCH_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return mainCodeCtx(ctx, args, stdout, stderr)
}

// mainCodeCtx runs the command line with a context (tests cancel it).
func mainCodeCtx(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := newApp(stdout, stderr).Run(ctx, args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "carematch: %s\n", store.LeaveOutValues(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) || errors.Is(err, config.ErrConfig) {
		return 2
	}
	return 1
}

func newApp(stdout, stderr io.Writer) *cli.Command {
	onUsage := func(_ context.Context, _ *cli.Command, err error, _ bool) error {
		return &usageError{err.Error()}
	}
	app := &cli.Command{
		Name:    "carematch",
		Usage:   "build and publish the master patient index for the shared care record",
		Version: toolVersion(),
		Commands: []*cli.Command{
			runCommand(),
			checkCommand(),
			demoCommand(),
			fixturesCommand(),
			nhsNumberCommand(),
			evaluateCommand(),
			explainCommand(),
			reviewCommand(),
		},
		// Global flags, for every command that reports progress.
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Usage: "no progress lines on stderr"},
			&cli.StringFlag{Name: "log-format", Value: logText, Usage: "progress lines as `FORMAT`: text (clock time, elapsed, message) or json (one object a line: time, level, stage, message, elapsed_s, counts)"},
		},
		// carematch completion bash|zsh|fish prints a completion script.
		EnableShellCompletion: true,
		Writer:                stdout,
		ErrWriter:             stderr,
		ExitErrHandler:        func(context.Context, *cli.Command, error) {},
		OnUsageError:          onUsage,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() > 0 {
				return usagef("unknown command %q (see carematch --help)", cmd.Args().First())
			}
			return cli.ShowAppHelp(cmd)
		},
	}
	var setUsage func([]*cli.Command)
	setUsage = func(cs []*cli.Command) {
		for _, c := range cs {
			c.OnUsageError = onUsage
			setUsage(c.Commands)
		}
	}
	setUsage(app.Commands)
	return app
}

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return "dev-" + rev
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

// loadConfig reads the --config file.
func loadConfig(cmd *cli.Command) (*config.Config, error) {
	path := cmd.String("config")
	if path == "" {
		return nil, usagef("%s: --config FILE (or $%s) is required", cmd.Name, configEnv)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	// The blocking rules' grammar is linkage's: checked here, so that a
	// mistake in one stops the night before loading rather than after it.
	if _, err := linkage.ParseBlockingRules(cfg.Linkage.BlockingRules); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", config.ErrConfig, path, err)
	}
	return cfg, nil
}

// configEnv names the environment variable that gives the configuration
// when --config does not, so a scheduler's unit can set it once.
const configEnv = "CAREMATCH_CONFIG"

// configFlag is the --config flag of a command that reads the
// configuration, defaulting to $CAREMATCH_CONFIG.
func configFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: usage + " (default $" + configEnv + ")", Sources: cli.EnvVars(configEnv)}
}
