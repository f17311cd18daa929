package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/review"
	"github.com/selondon/carematch/review/web"
	"github.com/selondon/carematch/store"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "a local review page: 127.0.0.1 only, opened once with the one-time URL it prints",
		Flags: []cli.Flag{
			configFlag("configuration `FILE`"),
			&cli.IntFlag{Name: "port", Value: 0, Usage: "port on 127.0.0.1 (0: any free one)"},
			&cli.StringFlag{Name: "analyst", Usage: "your name, for the audit trail of every decision made on the page (default $USER)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			p, err := progressFor(cmd)
			if err != nil {
				return err
			}
			s, err := newReviewServer(cfg, analystName(cmd), p.logf)
			if err != nil {
				return usagef("review serve: %v", err)
			}
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cmd.Int("port")))
			if err != nil {
				return err
			}
			s.Listening(ln.Addr().String())
			fmt.Fprintf(cmd.Root().Writer, "review page: http://%s/?token=%s\n(the link opens one browser session; ctrl-c to stop)\n", ln.Addr(), s.Token())
			srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
			go func() { <-ctx.Done(); srv.Close() }()
			if err := srv.Serve(ln); err != http.ErrServerClosed {
				return err
			}
			return nil
		},
	}
}

// newReviewServer is the review page over a configuration's current
// publication and decision log.
// logf hears of each decision the page records (the server's log: stderr).
func newReviewServer(cfg *config.Config, analyst string, logf func(string, ...any)) (*web.Server, error) {
	run := filepath.Join(cfg.Run.PublishDir, "current")
	return web.New(web.Options{
		Analyst: analyst,
		Log:     review.Open(cfg.Run.StateDir),
		Queue: func() ([]review.Item, error) {
			items, _, err := currentQueue(cfg)
			return items, err
		},
		Evidence: func(ctx context.Context, it review.Item) (*web.Evidence, error) {
			return itemEvidence(ctx, run, it)
		},
		// The page decides on the queue's items, whose records exist.
		Stamp: func(ctx context.Context, d *review.Decision) { _ = stampDecision(ctx, cfg, d) },
		Persons: func(ctx context.Context, it review.Item) ([]web.Person, error) {
			return itemPersons(ctx, run, it)
		},
		Logf: logf,
	})
}

// itemPersons reads, from the publication's database, every record of the
// persons the item's two records belong to.
func itemPersons(ctx context.Context, run string, it review.Item) ([]web.Person, error) {
	_, db, err := openRunState(run)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT x.master_id, p.source_id || ':' || p.local_id, coalesce(p.nhs_number, ''),
			coalesce(p.given_name_display, ''), coalesce(p.family_name_display, ''), coalesce(p.dob::VARCHAR, ''), coalesce(p.sex, ''),
			coalesce(p.address_display, ''), coalesce(p.postcode, ''), coalesce(p.address_key, '')
		FROM xref x JOIN prep p USING (rid)
		WHERE x.master_id IN (SELECT master_id FROM xref WHERE (source_id = ? AND local_id = ?) OR (source_id = ? AND local_id = ?))
		ORDER BY x.master_id, p.source_id, p.local_id`, it.Left.Source, it.Left.Local, it.Right.Source, it.Right.Local)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []web.Person
	for rows.Next() {
		var id string
		var r web.PersonRecord
		if err := rows.Scan(&id, &r.Key, &r.NHSNumber, &r.Given, &r.Family, &r.DOB, &r.Sex, &r.Address, &r.Postcode, &r.AKey); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].MasterID != id {
			out = append(out, web.Person{MasterID: id})
		}
		out[len(out)-1].Records = append(out[len(out)-1].Records, r)
	}
	return out, rows.Err()
}

// itemEvidence is the match-weight waterfall of an item, as explain works it
// out in the publication's database with its model.
func itemEvidence(ctx context.Context, run string, it review.Item) (*web.Evidence, error) {
	model, err := linkage.LoadModel(filepath.Join(run, "model.json"))
	if err != nil {
		return nil, err
	}
	_, db, err := openRunState(run)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	x, err := linkage.Explain(ctx, db, model, it.Left, it.Right)
	if err != nil {
		return nil, err
	}
	ev := &web.Evidence{Prior: x.Prior, Total: x.Total, Decision: x.Decision, Guard: x.Guard}
	for _, c := range x.Comparisons {
		ev.Comparisons = append(ev.Comparisons, web.EvidenceRow{Name: c.Name, Level: c.Level, Weight: c.Weight, TF: c.TF, TFNote: c.TFNote})
	}
	return ev, nil
}

// openRunState opens, read only, the state database of a published run
// (the one its manifest names).
func openRunState(run string) (*reports.Manifest, *store.DB, error) {
	m, err := reports.ReadManifest(filepath.Join(run, "manifest.json"))
	if err != nil {
		return nil, nil, err
	}
	db, err := store.OpenReadOnly(m.StateDB)
	if err != nil {
		return nil, nil, err
	}
	return m, db, nil
}
