package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/extract"
	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/mpi"
	"github.com/selondon/carematch/portal"
	"github.com/selondon/carematch/publish"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/review"
	"github.com/selondon/carematch/store"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "the nightly job: load every source, validate, publish the run with its exception reports",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "configuration `FILE` (TOML)"},
			&cli.BoolFlag{Name: "quiet", Usage: "no progress lines on stderr"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			m, err := nightly(ctx, cfg, nightlyOptions{Progress: newProgress(cmd.Root().ErrWriter, cmd.Bool("quiet"))})
			if err != nil {
				return err
			}
			printRunSummary(cmd.Root().Writer, cfg, m)
			return nil
		},
	}
}

type nightlyOptions struct {
	Now      func() time.Time // default time.Now
	Progress *progress
	// stopAfter, for tests, fails the run with errStopped after the named
	// stage, as a kill would.
	stopAfter string
}

var errStopped = fmt.Errorf("stopped by test")

// nightly runs the job and publishes it. On any failure nothing is
// published: `current`, the previous run and the committed state are left as
// they were, and the failed manifest is kept under <state_dir>/failed/.
func nightly(ctx context.Context, cfg *config.Config, opt nightlyOptions) (*reports.Manifest, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	p := opt.Progress
	// Nothing a run writes is for the world: the state database and the
	// index hold patient data, and the portal reads as a group member.
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	run, err := publish.Begin(cfg.Run.PublishDir, cfg.Run.StateDir, opt.Now)
	if errors.Is(err, publish.ErrNotOwnState) {
		return nil, usagef("%v", err)
	}
	if err != nil {
		return nil, err
	}
	if run.Repaired != "" {
		p.logf("publish: WARNING run %s was stopped between its two switches; its commit is now finished", run.Repaired)
	}
	m := &reports.Manifest{
		RunID:       run.ID,
		Started:     run.Started,
		Status:      "running",
		ToolVersion: toolVersion(),
		StateDB:     run.StatePath(),
		Config:      reports.ManifestConfig{Path: cfg.File, SHA256: cfg.SHA256},
		Counts:      map[string]int64{},
		Exceptions:  map[string]int64{},
		LinkMethods: map[string]int64{},
		TimingsMS:   map[string]int64{},
	}
	p.logf("run %s: %d sources, state %s", run.ID, len(cfg.Sources), cfg.Run.StateDir)
	var db *store.DB
	fail := func(err error) (*reports.Manifest, error) {
		if db != nil {
			db.Close()
		}
		m.Status, m.Error, m.Finished = "failed", err.Error(), time.Now().UTC()
		m.Resources = resources(m.Started)
		if kept := run.Abort(m.JSON()); kept != "" {
			p.logf("run %s failed; nothing published; manifest kept at %s", run.ID, kept)
		}
		return m, err
	}
	stage := func(name string, f func() error) error {
		t := time.Now()
		p.logf("%s: started", name)
		if err := f(); err != nil {
			if errors.Is(store.OutOfMemory(err), store.ErrOutOfMemory) {
				// DuckDB's message runs to several lines of advice: keep its first.
				first, _, _ := strings.Cut(err.Error(), "\n")
				return fmt.Errorf("%s: %w (run.memory_limit %q, spilling to %s): raise the limit, or see the stage's last log lines for the step and key that grew: %s",
					name, store.ErrOutOfMemory, cmp.Or(cfg.Run.MemoryLimit, "DuckDB's default, 80% of RAM"), cfg.Run.TempDir, first)
			}
			return err
		}
		m.TimingsMS[name] = time.Since(t).Milliseconds()
		p.logf("%s: done in %.1fs", name, time.Since(t).Seconds())
		if opt.stopAfter == name {
			return errStopped
		}
		return nil
	}

	if db, err = store.OpenWith(run.StatePath(), store.Limits{Threads: cfg.Linkage.Threads, MemoryLimit: cfg.Run.MemoryLimit, TempDir: cfg.Run.TempDir}); err != nil {
		return fail(err)
	}
	if err := db.CreateSchema(ctx, cfg.ExtraFields()); err != nil {
		return fail(err)
	}

	// Load and validate: one pass per source, sources in parallel.
	err = stage("load", func() error {
		res, err := extract.LoadAll(ctx, db, cfg, extract.Options{
			Today: run.Started,
			Progress: func(src string, rows int64) {
				p.logf("load: %s %d rows", src, rows)
			},
		})
		if err != nil {
			return err
		}
		for i, r := range res {
			ms := reports.ManifestSource{ID: r.ID, Organisation: cfg.Sources[i].Organisation, Kind: r.Kind, Missing: r.Missing,
				RowsRead: r.Read, RowsLoaded: r.Loaded, RowsRejected: r.Rejected, Files: []reports.ManifestFile{}}
			for _, f := range r.Files {
				ms.Files = append(ms.Files, reports.ManifestFile{Path: f.Path, Bytes: f.Bytes, SHA256: f.SHA256,
					RowsRead: f.Read, RowsLoaded: f.Loaded, RowsRejected: f.Rejected})
			}
			m.Sources = append(m.Sources, ms)
			m.Counts["rows_read"] += r.Read
			m.Counts["rows_loaded"] += r.Loaded
			m.Counts["rows_rejected"] += r.Rejected
			if r.Missing {
				p.logf("load: %s: optional source has no file; skipped", r.ID)
			} else {
				p.logf("load: %s: %d read, %d loaded, %d rejected", r.ID, r.Read, r.Loaded, r.Rejected)
			}
		}
		optouts, err := extract.LoadOptouts(ctx, db, cfg.Run.Optouts)
		if err != nil {
			return err
		}
		m.Counts["optouts"] = optouts
		drops, err := extract.CheckDrops(ctx, db, publish.PreviousState(cfg.Run.StateDir), cfg.Run.MinRowRatio)
		if err != nil {
			return err
		}
		if drops > 0 {
			p.logf("load: WARNING %d sources loaded far fewer rows than last night (see exceptions/source_row_drop.csv)", drops)
		}
		var recs, deleted, valid, verified int64
		err = db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (deleted), count(nhs_number), count(*) FILTER (nhs_verified)
			FROM records`).Scan(&recs, &deleted, &valid, &verified)
		m.Counts["records"], m.Counts["records_deleted"] = recs, deleted
		m.Counts["records_valid_nhs_number"], m.Counts["records_verified_nhs_number"] = valid, verified
		return err
	})
	if err != nil {
		return fail(err)
	}

	var model *linkage.Model
	err = stage("link", func() error {
		res, err := linkage.Run(ctx, db, linkage.Options{
			BlockingRules:   cfg.Linkage.BlockingRules,
			MaxPairsPerRule: cfg.Linkage.MaxPairsPerRule,
			LinkThreshold:   cfg.Linkage.LinkThreshold,
			ReviewThreshold: cfg.Linkage.ReviewThreshold,
			Extra:           cfg.Linkage.ExtraComparison,
			Extras:          cfg.ExtraFields(),
			Model:           cfg.Linkage.Model,
			QuarantineAt:    cfg.Run.QuarantineAt,
			NoGuards:        cfg.Linkage.Guards != nil && !*cfg.Linkage.Guards,
			Progress:        p.logf,
		})
		if err != nil {
			return err
		}
		model = res.Model
		m.Linkage = &reports.ManifestLinkage{Records: res.Records, NHSPairs: res.NHSPairs, DeterministicPairs: res.DeterministicPairs,
			NHSConflicts: res.Conflicts, CandidatePairs: res.CandidatePairs, Blocking: res.Rules,
			LinkThreshold: model.LinkThreshold, ReviewThreshold: model.ReviewThreshold, Lambda: model.Lambda,
			EMIterations: model.Training.Iterations, EMConverged: model.Training.Converged,
			NamesakeChecked: res.NamesakeChecked, Namesakes: res.Namesakes, GuardsLifted: res.GuardsLifted, TyposLifted: res.TyposLifted}
		for k, d := range res.Timings {
			m.TimingsMS["link_"+k] = d.Milliseconds()
		}
		m.Counts["candidate_pairs"] = res.CandidatePairs
		m.Linkage.Quarantined = res.Quarantined
		return model.Save(filepath.Join(run.Dir(), "model.json"))
	})
	if err != nil {
		return fail(err)
	}

	err = stage("index", func() error {
		decisions, unreadable, err := indexDecisions(cfg)
		if err != nil {
			return err
		}
		if len(unreadable) > 0 {
			p.logf("index: WARNING %d lines of the decision log cannot be applied; the other decisions apply (see exceptions/stale_decision.csv)", len(unreadable))
		}
		st, err := mpi.BuildIndex(ctx, db, mpi.IndexOptions{LinkThreshold: model.LinkThreshold, ReviewThreshold: model.ReviewThreshold,
			RunID: run.ID, PreviousDB: publish.PreviousState(cfg.Run.StateDir), Decisions: decisions, UnreadableDecisions: unreadable})
		if err != nil {
			return err
		}
		m.Counts["persons"] = st.Persons
		m.Counts["indexed_records"] = st.Records
		m.Counts["review_pairs"] = st.ReviewPairs
		m.LinkMethods = st.Methods
		p.logf("index: %d records into %d persons; %d pairs for review", st.Records, st.Persons, st.ReviewPairs)
		return reports.WriteIndex(ctx, db, filepath.Join(run.Dir(), "index"))
	})
	if err != nil {
		return fail(err)
	}

	err = stage("portal", func() error {
		if err := portal.Build(ctx, db); err != nil {
			return err
		}
		var persons, xrefs int64
		if err := db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM portal_persons), (SELECT count(*) FROM portal_xref)").Scan(&persons, &xrefs); err != nil {
			return err
		}
		m.Counts["portal_persons"], m.Counts["portal_records"] = persons, xrefs
		p.logf("portal: %d persons, %d records shared", persons, xrefs)
		return portal.Write(ctx, db, filepath.Join(run.Dir(), "portal"))
	})
	if err != nil {
		return fail(err)
	}

	err = stage("report", func() error {
		dir := filepath.Join(run.Dir(), "exceptions")
		counts, err := reports.WriteExceptions(ctx, db, dir)
		if err != nil {
			return err
		}
		m.Exceptions = counts
		m.Exceptions["review_queue"] = m.Counts["review_pairs"]
		if err := reports.WriteReviewQueue(ctx, db, model, filepath.Join(dir, "review_queue.csv")); err != nil {
			return err
		}
		return reports.WriteHTML(ctx, db, m, model.LinkThreshold, model.ReviewThreshold, filepath.Join(run.Dir(), "report.html"))
	})
	if err != nil {
		return fail(err)
	}

	err = stage("publish", func() error {
		if err := db.Close(); err != nil {
			return err
		}
		db = nil
		m.Status, m.Finished = "succeeded", time.Now().UTC()
		m.Resources = resources(m.Started)
		if err := m.Write(filepath.Join(run.Dir(), "manifest.json")); err != nil {
			return err
		}
		if opt.stopAfter == "manifest" {
			return errStopped
		}
		pruned, err := run.Commit(cfg.Run.KeepRuns)
		m.Pruned = pruned
		return err
	})
	if err != nil {
		return fail(err)
	}
	p.logf("run %s succeeded: %s", run.ID, run.FinalDir())
	return m, nil
}

func printRunSummary(w io.Writer, cfg *config.Config, m *reports.Manifest) {
	fmt.Fprintf(w, "run %s %s\n", m.RunID, m.Status)
	fmt.Fprintf(w, "published %s\n", filepath.Join(cfg.Run.PublishDir, m.RunID))
	fmt.Fprintf(w, "rows read %d, loaded %d, rejected %d\n", m.Counts["rows_read"], m.Counts["rows_loaded"], m.Counts["rows_rejected"])
	rps := 0.0
	if ms := m.TimingsMS["load"]; ms > 0 {
		rps = float64(m.Counts["rows_read"]) / (float64(ms) / 1000)
	}
	fmt.Fprintf(w, "took %.1fs (load %.1fs, %.0f rows/s), cpu %.1fs, peak memory %d MiB\n", m.Resources.WallSeconds,
		float64(m.TimingsMS["load"])/1000, rps, m.Resources.CPUSeconds, m.Resources.PeakRSSBytes>>20)
	if m.Linkage != nil {
		fmt.Fprintf(w, "persons %d from %d records: %v\n", m.Counts["persons"], m.Counts["indexed_records"], m.LinkMethods)
	}
	fmt.Fprintln(w, "exceptions:")
	for _, k := range append(append([]string(nil), reports.ExceptionKinds...), "review_queue") {
		fmt.Fprintf(w, "  %-24s %d\n", k, m.Exceptions[k])
	}
}

// resources reads the process's peak memory and CPU time so far.
func resources(started time.Time) reports.Resources {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return reports.Resources{PeakRSSBytes: ru.Maxrss * 1024, CPUSeconds: cpu.Seconds(), WallSeconds: time.Since(started).Seconds()}
}

// indexDecisions reads the analysts' decisions for the index: those in
// force, those a later decision replaced, and lines that cannot be applied
// (both to be reported).
func indexDecisions(cfg *config.Config) ([]mpi.Decision, []mpi.UnreadableDecision, error) {
	log := review.Open(cfg.Run.StateDir)
	f, err := log.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("analysts' decisions: %w", err)
	}
	in, superseded := f.InForce, f.Superseded
	var bad []mpi.UnreadableDecision
	for _, b := range f.Unreadable {
		bad = append(bad, mpi.UnreadableDecision{File: filepath.Base(log.Path()), Line: b.Line, Reason: b.Reason})
	}
	conv := func(d review.Decision, by string) mpi.Decision {
		md := mpi.Decision{ID: d.ID, Kind: d.Kind, Left: [2]string{d.Left.Source, d.Left.Local}, SupersededBy: by,
			LeftPrint: d.LeftPrint, RightPrint: d.RightPrint}
		if d.Right != nil {
			md.Right = [2]string{d.Right.Source, d.Right.Local}
		}
		return md
	}
	var out []mpi.Decision
	for _, d := range in {
		out = append(out, conv(d, ""))
	}
	for _, s := range superseded {
		out = append(out, conv(s.Decision, s.By))
	}
	return out, bad, nil
}

// fingerprint stamps a decision with its records' fingerprints in the
// current publication's database, so a later night can tell whether they
// changed. Without a publication (or its database) the decision is kept
// unstamped.
func fingerprint(ctx context.Context, cfg *config.Config, d *review.Decision) {
	m, err := reports.ReadManifest(filepath.Join(cfg.Run.PublishDir, "current", "manifest.json"))
	if err != nil || m.StateDB == "" {
		return
	}
	db, err := store.OpenReadOnly(m.StateDB)
	if err != nil {
		return
	}
	defer db.Close()
	recs := [][2]string{{d.Left.Source, d.Left.Local}}
	if d.Right != nil {
		recs = append(recs, [2]string{d.Right.Source, d.Right.Local})
	}
	fps, err := mpi.Fingerprints(ctx, db, recs)
	if err != nil {
		return
	}
	d.LeftPrint = fps[recs[0]]
	if d.Right != nil {
		d.RightPrint = fps[recs[1]]
	}
}
