package portal

import (
	"context"

	"github.com/selondon/carematch/mpi"
	"github.com/selondon/carematch/store"
)

// Build is the one place the privacy rules that bind the output are
// applied (NHS-DATA.md). It makes the tables the portal files are written
// from, portal_persons and portal_xref, out of master_index and xref:
//
//   - a person any of whose records carries an NHS number on the opt-out
//     list is left out entirely, and so is a person an opt-out form was
//     matched to by its details, or may be (mpi's optout_persons: a form
//     in doubt withholds until an analyst decides);
//   - a social-care record without explicit consent (withheld in linkage) is
//     left out, and so is a person made only of such records;
//   - a restricted person (any record sensitive, or holding a number a
//     sensitive record holds: master_index.restricted) keeps their place but
//     loses address and postcode.
//
// Nothing else may write portal files; TestPortalPrivacy reads them back.
func Build(ctx context.Context, db *store.DB) error {
	return db.RunSteps(ctx, "portal",
		store.Step{Name: "opted out", SQL: `CREATE OR REPLACE TEMP TABLE opted_out AS
		SELECT DISTINCT x.master_id FROM xref x JOIN prep p USING (rid) JOIN optouts o ON o.nhs_number = p.nhs_number
		UNION SELECT m.master_id FROM master_index m JOIN optouts o ON o.nhs_number = m.nhs_number
		UNION SELECT master_id FROM optout_persons`},
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
		store.Step{Name: "records shared", SQL: `CREATE OR REPLACE TABLE ` + store.Staged("portal_xref") + ` AS
		SELECT x.master_id, x.source_id, x.local_id, x.link_method, round(x.match_weight, 3) AS match_weight
		FROM xref x JOIN portal_persons p USING (master_id)
		WHERE x.withheld_reason IS NULL
		ORDER BY x.master_id, x.rid`})
}
