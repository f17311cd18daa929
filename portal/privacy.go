package portal

import (
	"context"
	"time"

	"github.com/selondon/carematch/mpi"
	"github.com/selondon/carematch/store"
)

// Build is the one place the privacy rules that bind the output are
// applied (NHS-DATA.md). It makes the tables the portal files are written
// from, portal_persons and portal_xref, out of master_index and xref:
//
//   - a person an opt-out form names — a record holds its NHS number, or
//     its details match, or may (mpi's optout_persons: a form in doubt
//     withholds until an analyst decides) — is left out entirely;
//   - a social-care record without explicit consent (withheld in linkage) is
//     left out, and so is a person made only of such records;
//   - a restricted person (any record sensitive, or holding a number a
//     sensitive record holds: master_index.restricted) keeps their place but
//     loses address and postcode.
//
// Each shared person also carries last_updated: when what the portal shows
// of it last changed — tonight's run time, or the time kept with last
// night's fingerprint of the same content (table portal_prints, kept in the
// state for the next night) — for FHIR's meta.lastUpdated and a consumer
// that syncs only what changed.
//
// Nothing else may write portal files; TestPortalPrivacy reads them back.
func Build(ctx context.Context, db *store.DB, opt BuildOptions) error {
	prev := "(SELECT NULL::VARCHAR AS master_id, NULL::VARCHAR AS print, NULL::TIMESTAMP AS last_updated WHERE false)"
	if opt.PreviousDB != "" {
		detach, err := db.AttachReadOnly(ctx, opt.PreviousDB, "prevportal")
		if err != nil {
			return store.InStep("portal", "last night's state", err)
		}
		defer detach()
		ok, err := db.HasTables(ctx, "prevportal", "portal_prints")
		if err != nil {
			return store.InStep("portal", "last night's state", err)
		}
		if ok {
			prev = "prevportal.portal_prints"
		}
	}
	runTime := "TIMESTAMP " + store.QuoteString(opt.RunTime.UTC().Format("2006-01-02 15:04:05"))
	return db.RunSteps(ctx, "portal",
		// mpi decided who the forms withhold — by number, by details, in
		// doubt — in optout_persons: the one list read here.
		store.Step{Name: "opted out", SQL: `CREATE OR REPLACE TEMP TABLE opted_out AS SELECT DISTINCT master_id FROM optout_persons`},
		// Both tables are made in the order of the files written from them
		// (master_id; then rid, (source_id, local_id) as one integer), so
		// that Write scans them as they are. A person carries the local IDs
		// of its shared records and the IDs it replaced, for its FHIR
		// Patient: one sort for the master index file and patients.ndjson.
		store.Step{Name: "persons shared", SQL: `CREATE OR REPLACE TABLE ` + store.Staged("portal_persons") + ` AS
		WITH shared AS (SELECT master_id, count(*) AS records, list_sort(list(source_id || chr(31) || local_id)) AS locals
		                FROM xref WHERE withheld_reason IS NULL GROUP BY master_id),
		     replaced AS (SELECT other_id AS master_id, list_sort(list(master_id)) AS ids FROM history WHERE event = '` + mpi.EventMergedInto + `' GROUP BY other_id)
		SELECT m.master_id, m.nhs_number, m.nhs_number_verified, m.given_name, m.family_name, m.date_of_birth, m.sex,
			CASE WHEN m.restricted THEN NULL ELSE m.address END AS address,
			CASE WHEN m.restricted THEN NULL ELSE m.postcode END AS postcode,
			m.restricted, m.deceased, m.date_of_death, coalesce(s.records, 0) AS record_count,
			coalesce(s.locals, []) AS locals, coalesce(r.ids, [])::VARCHAR[] AS replaced
		FROM master_index m LEFT JOIN shared s USING (master_id) LEFT JOIN replaced r USING (master_id)
		WHERE NOT m.withheld AND m.master_id NOT IN (SELECT master_id FROM opted_out)
		ORDER BY m.master_id`},
		// What the portal shows of each person, fingerprinted: unchanged
		// since last night, it keeps last night's time.
		store.Step{Name: "last updated", SQL: `CREATE OR REPLACE TABLE portal_prints AS
		SELECT p.master_id, p.print, CASE WHEN q.print = p.print THEN q.last_updated ELSE ` + runTime + ` END AS last_updated
		FROM (SELECT master_id, md5(concat_ws('|', coalesce(nhs_number, ''), coalesce(nhs_number_verified::VARCHAR, ''),
				coalesce(given_name, ''), coalesce(family_name, ''), coalesce(date_of_birth::VARCHAR, ''), coalesce(sex, ''),
				coalesce(address, ''), coalesce(postcode, ''), restricted::VARCHAR, coalesce(deceased::VARCHAR, ''),
				coalesce(date_of_death::VARCHAR, ''), array_to_string(locals, ','), array_to_string(replaced, ','))) AS print
		      FROM portal_persons) p
		LEFT JOIN ` + prev + ` q USING (master_id)
		ORDER BY p.master_id`},
		store.Step{Name: "records shared", SQL: `CREATE OR REPLACE TABLE ` + store.Staged("portal_xref") + ` AS
		SELECT x.master_id, x.source_id, x.local_id, x.link_method, round(x.match_weight, 3) AS match_weight
		FROM xref x JOIN portal_persons p USING (master_id)
		WHERE x.withheld_reason IS NULL
		ORDER BY x.master_id, x.rid`})
}

// BuildOptions tell Build about the night.
type BuildOptions struct {
	// PreviousDB is last night's state, whose portal_prints say since when
	// each person's content is unchanged; "" on the first night.
	PreviousDB string
	// RunTime is the night's time: last_updated of what changed tonight.
	RunTime time.Time
}
