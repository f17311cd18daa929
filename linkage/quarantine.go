package linkage

import (
	"context"
	"fmt"
	"strings"

	"github.com/selondon/carematch/store"
)

// DefaultQuarantineAt is Options.QuarantineAt's default: more records than
// this sharing one key is never one person or one household.
const DefaultQuarantineAt = 1000

// quarantineKeys are the keys no real population shares by the thousand:
// one NHS number, one date of birth at one postcode, one full name born on
// one day. Junk, test or mis-exported rows do; linked, they would make
// millions of pairs (every pair-making join is quadratic in a key's records)
// and, trained on, teach the model that everyone matches.
var quarantineKeys = []struct {
	name string
	cols []string
}{
	{"NHS number", []string{"nhs_number"}},
	{"date of birth and postcode", []string{"dob", "postcode"}},
	{"given name, family name and date of birth", []string{"given_name", "family_name", "dob"}},
}

// QuarantineStats is what quarantine held back, per source and key.
type QuarantineStats struct {
	Source  string `json:"source_id"`
	Key     string `json:"key"`
	Records int64  `json:"records"`
}

// quarantine marks the records that share a key with more than max others
// quarantined (and withheld): they are not paired, trained on, linked or
// published; each is reported as a `quarantined` exception, and the run
// goes on with the rest. This is the cap on every quadratic step: after it,
// no NHS number, block of the NHS stage or namesake join holds more than max
// records.
func quarantine(ctx context.Context, db *store.DB, max int64, res *Result) error {
	steps := []store.Step{{Name: "quarantine", SQL: `CREATE OR REPLACE TEMP TABLE quarantine (rid INTEGER, key VARCHAR, n BIGINT)`}}
	for _, k := range quarantineKeys {
		steps = append(steps, store.Step{Name: "quarantine: " + k.name, SQL: fmt.Sprintf(`
		INSERT INTO quarantine
		SELECT p.rid, %[1]s, j.n FROM prep p JOIN (
			SELECT %[2]s, count(*) AS n FROM prep WHERE %[3]s GROUP BY ALL HAVING count(*) > %[4]d
		) j USING (%[2]s)
		WHERE p.rid NOT IN (SELECT rid FROM quarantine)`, store.QuoteString(k.name), strings.Join(k.cols, ", "), notNull(k.cols), max)})
	}
	steps = append(steps, store.Step{Name: "quarantine", SQL: `
		UPDATE prep SET quarantined = true, withheld = true WHERE rid IN (SELECT rid FROM quarantine);
		INSERT INTO exceptions
		SELECT ` + store.ExcQuarantined.SQL() + `, p.source_id, p.local_id, p.line, NULL,
			'one of ' || q.n || ' records sharing one ' || q.key || ': not one person; quarantined — not linked, trained on or published', NULL, p.file
		FROM quarantine q JOIN prep p USING (rid)`})
	if err := db.RunSteps(ctx, "link", steps...); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT p.source_id, q.key, count(*) FROM quarantine q JOIN prep p USING (rid) GROUP BY ALL ORDER BY ALL`)
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s QuarantineStats
		if err := rows.Scan(&s.Source, &s.Key, &s.Records); err != nil {
			return err
		}
		res.Quarantined = append(res.Quarantined, s)
	}
	return rows.Err()
}
