package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/extract"
	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/mpi"
	"github.com/selondon/carematch/portal"
	"github.com/selondon/carematch/publish"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/store"
)

type nightlyOptions struct {
	Now      func() time.Time // default time.Now
	Progress *progress
	// Full recomputes every pair with the held model; Retrain fits a new
	// model (and is full).
	Full, Retrain bool
	// stopAfter, for tests, fails the run with errStopped after the named
	// stage, as a kill would.
	stopAfter string
	// keepBlocksFrom, for tests, replaces store.KeepBlocksFrom: the fewest
	// records for which DuckDB keeps the blocks it frees.
	keepBlocksFrom int64
	// recordsInFile, for tests, stages the records in a file whatever
	// their size (stageRecords).
	recordsInFile bool
}

var errStopped = fmt.Errorf("stopped by test")

// night is one run of the nightly job: the stages below, in order, each
// adding to the manifest.
type night struct {
	cfg   *config.Config
	opt   nightlyOptions
	p     *progress
	run   *publish.Run
	db    *store.DB
	m     *reports.Manifest
	model *linkage.Model
	heap  heapReleaser
	// sizedLimit is the memory limit set once the records were counted,
	// when none is configured.
	sizedLimit string
	// blockMemory is how much of its freed blocks DuckDB keeps for reuse
	// (store.KeepBlockMemory), as DuckDB reports it; "" before it is set.
	blockMemory string
	// threads is how many threads DuckDB works on once the records are
	// counted, as DuckDB reports it; 0 before.
	threads int
	// hugePages says DuckDB's memory asks for transparent huge pages
	// (store.AdviseHugePages).
	hugePages bool
	// checkpoint is the state's checkpoint running beside the portal's
	// files and the report, on a night DuckDB works on one thread.
	checkpoint *store.Beside
	// began is when the run began by the monotonic clock, for its wall time:
	// the manifest's started is whole seconds, as the run ID is.
	began time.Time
}

// nightly runs the job and publishes it. On any failure nothing is
// published: `current`, the previous run and the committed state are left as
// they were, and the failed manifest is kept under <state_dir>/failed/.
func nightly(ctx context.Context, cfg *config.Config, opt nightlyOptions) (*reports.Manifest, error) {
	began := time.Now()
	if opt.Now == nil {
		opt.Now = time.Now
	}
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
	n := &night{cfg: cfg, opt: opt, p: opt.Progress, run: run, began: began}
	n.m = newManifest(n)
	if run.Repaired != "" {
		n.p.logf("publish: WARNING run %s was stopped between its two switches; its commit is now finished", run.Repaired)
	}
	n.p.logf("run %s: %d sources, state %s", run.ID, len(cfg.Sources), cfg.Run.StateDir)
	// Before the database opens, so that all of DuckDB's memory is advised.
	n.hugePages = store.AdviseHugePages(cfg.Run.HugePagesAdvised())
	n.db, err = store.OpenWith(run.StatePath(), store.Limits{Threads: cfg.Linkage.Threads, MemoryLimit: n.memoryLimit(), TempDir: cfg.Run.TempDir})
	if err == nil {
		n.db.FileMetadata = map[string]string{"carematch_schema_version": store.FilesSchemaVersion, "carematch_run_id": run.ID,
			"carematch_version": toolVersion()}
		n.db.StepDone = func(stage, step string, took time.Duration) {
			n.heap.afterStep()
			if took > time.Second {
				n.p.logf("%s: %s took %.1fs", stage, step, took.Seconds())
			}
			if stage != "link" { // linkage times its own steps (Result.Timings)
				n.m.TimingsMS[stage+"_"+stepKey(step)] = took.Milliseconds() // RunSteps runs them in order
			}
		}
		err = n.stageRecords(ctx)
	}
	if err == nil {
		err = n.db.CreateSchema(ctx, cfg.ExtraFields())
	}
	if err == nil {
		err = n.db.WriteNightInfo(ctx, n.nightInfo())
	}
	for _, s := range []struct {
		name string
		f    func(context.Context) error
	}{{"load", n.load}, {"link", n.link}, {"index", n.index}, {"portal", n.portal}, {"report", n.report}, {"publish", n.publish}} {
		if err != nil {
			break
		}
		err = n.stage(ctx, s.name, s.f)
	}
	if err != nil {
		return n.fail(err)
	}
	n.p.logCounts(n.m.Counts, "run %s succeeded: %s", run.ID, run.FinalDir())
	n.writeMetrics(n.m.Finished)
	return n.m, nil
}

// writeMetrics writes <publish_dir>/carematch.prom for the night that
// ended; lastSuccess is when the last night that succeeded finished. A
// failure to write it is logged, not fatal: the night's work stands.
func (n *night) writeMetrics(lastSuccess time.Time) {
	path := filepath.Join(n.cfg.Run.PublishDir, reports.MetricsFile)
	if err := reports.WriteMetrics(path, n.m, lastSuccess); err != nil {
		n.p.logf("publish: WARNING %v", err)
	}
}

// stage runs one stage, timing it; its error names the stage.
func (n *night) stage(ctx context.Context, name string, f func(context.Context) error) error {
	t := time.Now()
	n.p.logf("%s: started", name)
	if err := f(ctx); err != nil {
		if errors.Is(store.OutOfMemory(err), store.ErrOutOfMemory) {
			// DuckDB's message runs to several lines of advice: keep its first.
			first, _, _ := strings.Cut(err.Error(), "\n")
			return fmt.Errorf("%s: %w (run.memory_limit %q, spilling to %s): raise the limit, or see the stage's last log lines for the step and key that grew: %s",
				name, store.ErrOutOfMemory, n.memoryLimit(), n.cfg.Run.TempDir, first)
		}
		var se *store.StepError
		var src *extract.SourceError
		if errors.As(err, &se) || errors.As(err, &src) || errors.Is(err, errStopped) {
			return err // names its stage and step (a source's file and line) already
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	n.m.TimingsMS[name] = time.Since(t).Milliseconds()
	n.p.logf("%s: done in %.1fs", name, time.Since(t).Seconds())
	n.heap.afterStep()
	if n.opt.stopAfter == name {
		return errStopped
	}
	return nil
}

// stepKey is a step's name as a key of the manifest's timings: "golden
// record" is index_golden_record, "analysts' decisions"
// index_analysts_decisions.
func stepKey(step string) string {
	words := strings.FieldsFunc(strings.ToLower(step), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	return strings.Join(words, "_")
}

func (n *night) fail(err error) (*reports.Manifest, error) {
	if n.checkpoint != nil {
		n.checkpoint.Wait() // the night failed already: its error is the one to tell
	}
	if n.db != nil {
		n.db.Close()
	}
	n.m.Status, n.m.Error, n.m.Finished = "failed", store.LeaveOutValues(err.Error()), time.Now().UTC()
	n.m.Resources = n.resources()
	if kept := n.run.Abort(n.m.JSON()); kept != "" {
		n.p.logf("run %s failed; nothing published; manifest kept at %s", n.run.ID, kept)
	}
	var lastSuccess time.Time
	if cur := publish.Current(n.cfg.Run.PublishDir); cur != "" {
		if prev, rerr := reports.ReadManifest(filepath.Join(cur, "manifest.json")); rerr == nil {
			lastSuccess = prev.Finished
		}
	}
	n.writeMetrics(lastSuccess)
	return n.m, err
}

// load reads and validates every source (in parallel), the opt-out list, and
// compares the row counts with last night's.
func (n *night) load(ctx context.Context) error {
	cfg, m, p := n.cfg, n.m, n.p
	res, err := extract.LoadAll(ctx, n.db, cfg, extract.Options{
		Today:    n.run.Started,
		Progress: func(src string, rows int64) { p.logf("load: %s %d rows", src, rows) },
	})
	if err != nil {
		return err
	}
	for i, r := range res {
		addSource(m, r, cfg.Sources[i].Organisation)
		if r.Missing {
			p.logf("load: %s: optional source has no file; skipped", r.ID)
		} else {
			p.logCounts(map[string]int64{"rows_read": r.Read, "rows_loaded": r.Loaded, "rows_rejected": r.Rejected},
				"load: %s: %d read, %d loaded, %d rejected", r.ID, r.Read, r.Loaded, r.Rejected)
		}
	}
	optouts, err := extract.LoadOptouts(ctx, n.db, cfg.Optouts, extract.Options{Today: n.run.Started})
	if err != nil {
		return store.InStep("load", "opt-out list", err)
	}
	m.Counts["optouts"] = optouts
	if cfg.Optouts != nil {
		p.logf("load: %s: %d opt-out forms", config.OptoutsID, optouts)
	}
	drops, err := extract.CheckDrops(ctx, n.db, publish.PreviousState(cfg.Run.StateDir), cfg.Run.MinRowRatio)
	if err != nil {
		return store.InStep("load", "row drops", err)
	}
	if drops > 0 {
		p.logf("load: WARNING %d sources loaded far fewer rows than last night (see exceptions/%s.csv)", drops, store.ExcRowDrop)
	}
	if err := n.changes(ctx); err != nil {
		return store.InStep("load", "changes since last night", err)
	}
	counts, err := n.db.CountRecords(ctx)
	if err != nil {
		return store.InStep("load", "counts", err)
	}
	for _, c := range counts {
		m.Counts["records"] += c.Records
		m.Counts["records_deleted"] += c.Deleted
		m.Counts["records_valid_nhs_number"] += c.ValidNHS
		m.Counts["records_verified_nhs_number"] += c.VerifiedNHS
	}
	if err := n.sizeMemory(ctx, m.Counts["records"]); err != nil {
		return store.InStep("load", "memory limit", err)
	}
	return store.InStep("load", "threads", n.sizeThreads(ctx, m.Counts["records"]))
}

// sizeThreads has DuckDB work on one thread for a night too small to gain
// from more (store.ThreadsFor), when the configuration sets no threads.
func (n *night) sizeThreads(ctx context.Context, records int64) error {
	if threads := store.ThreadsFor(records); n.cfg.Linkage.Threads == 0 && threads > 0 {
		if err := n.db.SetThreads(ctx, threads); err != nil {
			return err
		}
		n.p.logf("load: DuckDB works on %d thread for %d records (linkage.threads unset: under %d records, more threads cost more than they save)", threads, records, store.OneThreadBelow)
	}
	var err error
	n.threads, err = n.db.Threads(ctx)
	return err
}

// changes compares tonight's records with last night's, source by source,
// into the manifest and the log.
func (n *night) changes(ctx context.Context) error {
	changes, known, err := extract.DetectChanges(ctx, n.db, n.cfg.ExtraFields(), publish.PreviousState(n.cfg.Run.StateDir))
	if err != nil {
		return err
	}
	if !known {
		n.p.logf("load: last night kept no record fingerprints: changes are not counted tonight")
		return nil
	}
	var total reports.ManifestChanges
	for _, c := range changes {
		mc := &reports.ManifestChanges{New: c.New, Changed: c.Changed, Unchanged: c.Unchanged, Gone: c.Gone}
		for i := range n.m.Sources {
			if n.m.Sources[i].ID == c.Source {
				n.m.Sources[i].Changes = mc
			}
		}
		total.New, total.Changed, total.Unchanged, total.Gone = total.New+c.New, total.Changed+c.Changed, total.Unchanged+c.Unchanged, total.Gone+c.Gone
	}
	n.p.logf("load: since last night %d records new, %d changed, %d unchanged, %d gone", total.New, total.Changed, total.Unchanged, total.Gone)
	return nil
}

// link runs linkage and saves its model beside the run.
func (n *night) link(ctx context.Context) error {
	cfg, m := n.cfg, n.m
	mode, reason, err := n.chooseMode(ctx)
	if err != nil {
		return store.InStep("link", "mode", err)
	}
	hold, since := "", ""
	if !n.opt.Retrain {
		hold = publish.PreviousState(cfg.Run.StateDir)
	}
	if mode == modeIncremental {
		since = hold
	} else {
		n.p.logf("link: a full night: %s", reason)
	}
	var extra []linkage.ExtraField
	for _, e := range cfg.Linkage.ExtraComparison {
		extra = append(extra, linkage.ExtraField{Field: e.Field, Method: e.Method})
	}
	res, err := linkage.Run(ctx, n.db, linkage.Options{
		BlockingRules:    cfg.Linkage.BlockingRules,
		MaxPairsPerRule:  cfg.Linkage.MaxPairsPerRule,
		LinkThreshold:    cfg.Linkage.LinkThreshold,
		ReviewThreshold:  cfg.Linkage.ReviewThreshold,
		ExtraComparisons: extra,
		ExtraFields:      cfg.ExtraFields(),
		Model:            cfg.Linkage.Model,
		Hold:             hold,
		Since:            since,
		QuarantineAt:     cfg.Run.QuarantineAt,
		Guards:           cfg.Linkage.Guards,
		Progress:         n.p.logf,
	})
	if err != nil {
		return err
	}
	n.model = res.Model
	m.Mode, m.ModeReason = mode, reason
	if mode == modeIncremental && !res.Incremental {
		m.Mode, m.ModeReason = modeFull, res.FullReason
	}
	addLinkage(m, res)
	if err := n.db.DropRecords(ctx); err != nil {
		return store.InStep("link", "drop records", err)
	}
	return store.InStep("link", "model.json", n.model.Save(filepath.Join(n.run.Dir(), "model.json")))
}

// index clusters, applies the analysts' decisions, and writes index/.
func (n *night) index(ctx context.Context) error {
	decisions, unreadable, err := indexDecisions(n.cfg)
	if err != nil {
		return store.InStep("index", "decision log", err)
	}
	if len(unreadable) > 0 {
		n.p.logf("index: WARNING %d lines of the decision log cannot be applied; the other decisions apply (see exceptions/%s.csv)", len(unreadable), store.ExcStaleDecision)
	}
	st, err := mpi.BuildIndex(ctx, n.db, mpi.IndexOptions{LinkThreshold: n.model.LinkThreshold, ReviewThreshold: n.model.ReviewThreshold, Model: n.model,
		RunID: n.run.ID, PreviousDB: publish.PreviousState(n.cfg.Run.StateDir), Decisions: decisions, UnreadableDecisions: unreadable,
		Incremental: n.m.Mode == modeIncremental})
	if err != nil {
		return err
	}
	if co := st.Coherence; n.m.Mode == modeIncremental {
		n.m.Counts["records_in_persons_kept"] = int64(co.RecordsKept)
		n.p.logf("index: last night's persons kept for %d of %d records, whose links, scores and decisions are unchanged; the rest clustered again",
			co.RecordsKept, st.Records)
	}
	n.m.Counts["persons"] = st.Persons
	n.m.Counts["indexed_records"] = st.Records
	n.m.Counts["review_pairs"] = st.ReviewPairs
	n.m.Counts["chain_links"] = int64(st.ChainLinks)
	n.m.Counts["pairs_scored_in_persons"] = st.Coherence.PairsScored
	if o := st.Optouts; o.Forms > 0 {
		n.m.Counts["optout_persons_withheld"] = o.Withheld
		n.m.Counts["optout_in_doubt"] = o.InDoubt
		n.m.Counts["optout_unmatched"] = o.Unmatched
		n.p.logf("index: opt-out forms: %d persons withheld for %d forms, %d of them in doubt until an analyst decides (review items of kind %s); %d forms match no person (see exceptions/%s.csv)",
			o.Withheld, o.Forms, o.InDoubt, store.ReviewOptout, o.Unmatched, store.ExcOptoutUnmatch)
	}
	n.m.LinkMethods = st.Methods
	n.p.logf("index: persons kept coherent: %d links refused (review items of kind %s), %d pairs within persons scored, %d rounds",
		st.ChainLinks, store.ReviewChain, st.Coherence.PairsScored, st.Coherence.Rounds)
	n.p.logCounts(map[string]int64{"records": st.Records, "persons": st.Persons, "review_pairs": st.ReviewPairs},
		"index: %d records into %d persons; %d pairs for review", st.Records, st.Persons, st.ReviewPairs)
	return store.InStep("index", "index files", reports.WriteIndex(ctx, n.db, filepath.Join(n.run.Dir(), "index")))
}

// portal applies the privacy rules and writes portal/.
func (n *night) portal(ctx context.Context) error {
	if err := portal.Build(ctx, n.db, portal.BuildOptions{PreviousDB: publish.PreviousState(n.cfg.Run.StateDir), RunTime: n.run.Started}); err != nil {
		return err
	}
	var persons, xrefs int64
	if err := n.db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM portal_persons), (SELECT count(*) FROM portal_xref)").Scan(&persons, &xrefs); err != nil {
		return store.InStep("portal", "counts", err)
	}
	n.m.Counts["portal_persons"], n.m.Counts["portal_records"] = persons, xrefs
	n.p.logf("portal: %d persons, %d records shared", persons, xrefs)
	// The state's tables are all written: on a night DuckDB works on one
	// thread, the checkpoint runs on the other core while the files are.
	if n.threads == 1 {
		n.checkpoint = n.db.CheckpointBeside(ctx)
	}
	if err := portal.Write(ctx, n.db, filepath.Join(n.run.Dir(), "portal"), portal.WriteOptions{RunID: n.run.ID, TransactionTime: n.run.Started}); err != nil {
		return store.InStep("portal", "portal files", err)
	}
	// The index's and the portal's files, most of what the night publishes,
	// go to disk while the report is written and the database closed.
	n.run.SyncBeside()
	return nil
}

// report writes the exceptions, the review queue and report.html.
func (n *night) report(ctx context.Context) error {
	dir := filepath.Join(n.run.Dir(), "exceptions")
	counts, err := reports.WriteExceptions(ctx, n.db, dir)
	if err != nil {
		return store.InStep("report", "exception files", err)
	}
	n.m.Exceptions = counts
	n.m.Exceptions["review_queue"] = n.m.Counts["review_pairs"]
	if err := reports.WriteReviewQueue(ctx, n.db, n.model, filepath.Join(dir, "review_queue.csv")); err != nil {
		return store.InStep("report", "review queue", err)
	}
	return store.InStep("report", "report.html", reports.WriteHTML(ctx, n.db, n.m, n.model, filepath.Join(n.run.Dir(), "report.html")))
}

// publish closes the database, writes the manifest and commits the run.
func (n *night) publish(context.Context) error {
	if n.checkpoint != nil {
		// Closing checkpoints what the one beside did not: a failure there
		// costs time, not the state.
		if err := n.checkpoint.Wait(); err != nil {
			n.p.logf("publish: the checkpoint beside the files failed, closing the database checkpoints instead: %v", err)
		}
		n.checkpoint = nil
	}
	if err := n.db.Close(); err != nil {
		return store.InStep("publish", "close the database", err)
	}
	n.db = nil
	n.m.Status, n.m.Finished = "succeeded", time.Now().UTC()
	n.m.Resources = n.resources()
	if err := n.m.Write(filepath.Join(n.run.Dir(), "manifest.json")); err != nil {
		return store.InStep("publish", "manifest", err)
	}
	if n.opt.stopAfter == "manifest" {
		return errStopped
	}
	pruned, err := n.run.Commit(n.cfg.Run.KeepRuns)
	n.m.Pruned = pruned
	return store.InStep("publish", "commit", err)
}

// memoryLimit is DuckDB's memory limit now: the configured one, else what
// the records loaded need (store.MemoryLimitFor), else, while they load, a
// sixth of the machine's memory (store.DefaultMemoryLimit).
func (n *night) memoryLimit() string {
	return cmp.Or(n.cfg.Run.MemoryLimit, n.sizedLimit, store.DefaultMemoryLimit())
}

// resources are what the night has used so far and DuckDB's memory
// settings, for the manifest.
func (n *night) resources() reports.Resources {
	r := resources(n.began)
	r.MemoryLimit, r.BlockMemory, r.HugePages, r.Threads = n.memoryLimit(), n.blockMemory, store.HugePages(), n.threads
	r.HugePagesAdvised = n.hugePages
	if ms, ok := store.AllocatorDecay(); ok {
		r.AllocatorDecayMS = &ms
	}
	return r
}

// sizeMemory gives DuckDB, when no memory_limit is configured, what a night
// of records needs rather than its whole share of the machine; and, for a
// night of store.KeepBlocksFrom records or more, lets it keep the blocks it
// frees for reuse.
func (n *night) sizeMemory(ctx context.Context, records int64) error {
	if n.cfg.Run.MemoryLimit == "" {
		limit := store.MemoryLimitFor(records)
		if limit == "" {
			return nil
		}
		if err := n.db.SetMemoryLimit(ctx, limit); err != nil {
			return err
		}
		n.sizedLimit = limit
		n.p.logf("load: DuckDB may use %s for %d records (run.memory_limit unset: 1 KiB a record, at most 1/%d of this machine)", limit, records, store.DefaultMemoryShare)
		if want := store.MemoryPastShare(records); want != "" {
			n.p.logf("load: a kilobyte a record would be %s, more than 1/%d of this machine: DuckDB will spill what does not fit; if the machine can spare it, run.memory_limit = %q makes a night this size faster (README, Running it nightly)", want, store.DefaultMemoryShare, want)
		}
	}
	if records < cmp.Or(n.opt.keepBlocksFrom, store.KeepBlocksFrom) {
		return nil
	}
	if size := store.BlockMemoryFor(n.memoryLimit()); size != "" {
		kept, err := n.db.KeepBlockMemory(ctx, size)
		if err != nil {
			return err
		}
		n.blockMemory = kept
		n.p.logf("load: DuckDB keeps up to %s of the blocks it frees for reuse (its limit, at most a tenth of this machine)", kept)
	}
	switch mode := store.HugePages(); {
	case n.hugePages:
		n.p.logf("load: transparent huge pages are %q on this machine: DuckDB's memory asks for them (run.advise_huge_pages)", mode)
	case mode != "" && mode != "always":
		n.p.logf("load: transparent huge pages are %q on this machine and not asked for; with them a night this size faults far fewer pages in (README, Running it nightly)", mode)
	}
	return nil
}
