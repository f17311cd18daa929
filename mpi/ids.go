package mpi

import (
	"context"
	"fmt"

	"github.com/selondon/carematch/store"
)

// Master IDs are opaque and stable from night to night: "CM" and a
// ten-digit sequence number, no patient data in them. Each night's persons
// inherit the IDs of the previous night's persons through the records they
// share:
//
//   - every previous ID has one heir, the new person holding most of its
//     records (ties: the person whose first record sorts first);
//   - a new person that is the heir of one ID keeps it (the same person, or
//     one that grew);
//   - a new person that is the heir of several IDs merged them: the oldest
//     survives and the others are recorded merged_into it;
//   - a new person that is the heir of none gets a new ID: created, or
//     split_from the ID its records held if they came from a person that
//     split (the larger part kept the ID);
//   - an ID none of whose records are left is retired.
//
// Re-running the same input therefore changes no ID, and a night of new and
// corrected records changes only the IDs that must change.

// Event kinds in the history.
const (
	EventCreated    = "created"
	EventMergedInto = "merged_into"
	EventSplitFrom  = "split_from"
	EventRetired    = "retired"
)

// The whole assignment is SQL over tonight's clusters and last night's
// tables, so no record, person or ID passes through Go: at ten million
// records the registry alone would be millions of map entries.

// lastNight names the tables of last night's index the assignment reads:
// those of the attached database prev, or empty ones on a first night.
type lastNight struct {
	xref, masterIDs string
	next            string // SQL for the next ID's number
	history         bool   // prev has a history to carry on
}

var firstNight = lastNight{
	xref:      `(SELECT NULL::INTEGER AS rid, NULL::VARCHAR AS master_id, NULL::VARCHAR AS source_id, NULL::VARCHAR AS local_id WHERE false)`,
	masterIDs: `(SELECT NULL::VARCHAR AS master_id, NULL::VARCHAR AS created_run, NULL::VARCHAR AS status WHERE false)`,
	next:      `1::BIGINT`,
}

var fromPrev = lastNight{xref: "prev.xref", masterIDs: "prev.master_ids", next: "(SELECT next FROM prev.id_seq)", history: true}

// masterIDsSQL gives every person of clusters (root) its master ID, and
// writes person_ids (root, master_id), the registry master_ids, id_seq and
// history (last night's, then tonight's events).
func masterIDsSQL(last lastNight, runID string) []string {
	run := store.QuoteString(runID)
	stmts := []string{
		// A person kept from last night (kept_roots: kept.go) is last
		// night's person, all of whose records held one ID, held by no
		// other record: it keeps that ID, and the rules below would give
		// it the same. Only the other persons go through them.
		`CREATE OR REPLACE TEMP TABLE id_kept AS
			SELECT k.root, x.master_id FROM kept_roots k JOIN ` + last.xref + ` x ON x.rid = k.prev_root`,
		// How many of each previous ID's records each person now holds.
		`CREATE OR REPLACE TEMP TABLE id_held AS
			SELECT x.master_id, c.root, count(*) AS n
			FROM (SELECT c.rid, c.root FROM clusters c ANTI JOIN kept_roots k ON k.root = c.root) c
			JOIN prep p USING (rid) JOIN ` + last.xref + ` x ON x.source_id = p.source_id AND x.local_id = p.local_id
			GROUP BY ALL`,
		// Each previous ID's heir: the person holding most of its records,
		// ties to the smaller root.
		`CREATE OR REPLACE TEMP TABLE id_heir AS
			SELECT master_id, arg_min(root, (-n, root)) AS root FROM id_held GROUP BY master_id`,
		// The IDs each person inherits, oldest first: k = 1 survives.
		`CREATE OR REPLACE TEMP TABLE id_inherit AS
			SELECT h.root, h.master_id,
				row_number() OVER (PARTITION BY h.root ORDER BY coalesce(m.created_run, ''), h.master_id) AS k
			FROM id_heir h LEFT JOIN ` + last.masterIDs + ` m USING (master_id)`,
		// Persons that inherit none: new IDs, numbered in root order; split_from
		// the smallest ID their records held, if any did.
		`CREATE OR REPLACE TEMP TABLE id_new AS
			SELECT r.root, 'CM' || lpad((` + last.next + ` + row_number() OVER (ORDER BY r.root) - 1)::VARCHAR, 10, '0') AS master_id,
				(SELECT min(h.master_id) FROM id_held h WHERE h.root = r.root) AS split_from
			FROM (SELECT DISTINCT c.root FROM clusters c ANTI JOIN kept_roots k ON k.root = c.root) r ANTI JOIN id_inherit i ON i.root = r.root`,
		`CREATE OR REPLACE TABLE ` + store.Staged("person_ids") + ` AS
			SELECT root, master_id FROM id_inherit WHERE k = 1
			UNION ALL SELECT root, master_id FROM id_new
			UNION ALL SELECT root, master_id FROM id_kept`,
		`CREATE OR REPLACE TEMP TABLE id_events AS
			SELECT i.master_id, '` + EventMergedInto + `' AS event, kept.master_id AS other_id,
				'its records now belong to one person with ' || kept.master_id AS reason
			FROM id_inherit i JOIN id_inherit kept ON kept.root = i.root AND kept.k = 1 WHERE i.k > 1
			UNION ALL
			SELECT master_id, CASE WHEN split_from IS NULL THEN '` + EventCreated + `' ELSE '` + EventSplitFrom + `' END, split_from,
				CASE WHEN split_from IS NULL THEN 'a person not seen before' ELSE 'part of ' || split_from || ' that is now a person of its own' END
			FROM id_new
			UNION ALL
			SELECT master_id, '` + EventRetired + `', NULL, 'none of its records is in tonight''s extracts'
			FROM ` + last.masterIDs + ` m WHERE status = 'active' AND NOT EXISTS (SELECT 1 FROM id_held h WHERE h.master_id = m.master_id)
				AND NOT EXISTS (SELECT 1 FROM id_kept k WHERE k.master_id = m.master_id)`,
		// The registry: every ID ever issued, merged and retired ones marked.
		`CREATE OR REPLACE TABLE master_ids AS
			SELECT m.master_id, m.created_run,
				CASE e.event WHEN '` + EventMergedInto + `' THEN 'merged' WHEN '` + EventRetired + `' THEN 'retired' ELSE m.status END AS status
			FROM ` + last.masterIDs + ` m LEFT JOIN id_events e ON e.master_id = m.master_id AND e.event IN ('` + EventMergedInto + `', '` + EventRetired + `')
			UNION ALL
			SELECT p.master_id, ` + run + `, 'active' FROM person_ids p ANTI JOIN ` + last.masterIDs + ` m ON m.master_id = p.master_id`,
		`CREATE OR REPLACE TABLE id_seq AS SELECT (` + last.next + ` + (SELECT count(*) FROM id_new))::BIGINT AS next`,
		`CREATE OR REPLACE TABLE history (run_id VARCHAR, master_id VARCHAR, event VARCHAR, other_id VARCHAR, reason VARCHAR)`,
	}
	if last.history {
		stmts = append(stmts, `INSERT INTO history SELECT * FROM prev.history`)
	}
	return append(stmts,
		`INSERT INTO history SELECT `+run+`, master_id, event, other_id, reason FROM id_events ORDER BY master_id, event`,
		`DROP TABLE id_kept; DROP TABLE id_held; DROP TABLE id_heir; DROP TABLE id_inherit; DROP TABLE id_new; DROP TABLE id_events; DROP TABLE kept_roots`)
}

// assignMasterIDs gives each person its master ID, carrying on from the
// previous night (opt.PreviousDB) if it has an index.
func assignMasterIDs(ctx context.Context, db *store.DB, opt IndexOptions) error {
	last := firstNight
	if opt.PreviousDB != "" {
		detach, err := db.AttachReadOnly(ctx, opt.PreviousDB, "prev")
		if err != nil {
			return fmt.Errorf("previous night's index: %w", err)
		}
		defer detach()
		ok, err := db.HasTables(ctx, "prev", "xref", "master_ids", "id_seq", "history")
		if err != nil {
			return err
		}
		if ok {
			last = fromPrev
		}
	}
	for _, q := range masterIDsSQL(last, opt.RunID) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("master IDs: %w", err)
		}
	}
	return nil
}

// runDate is the calendar date of a run ID (20261124T021500Z → 2026-11-24).
func runDate(runID string) string {
	if len(runID) < 8 {
		return "1970-01-01"
	}
	return runID[:4] + "-" + runID[4:6] + "-" + runID[6:8]
}
