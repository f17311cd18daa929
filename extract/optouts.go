package extract

import (
	"context"
	"fmt"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/store"
)

// OptoutForms is the table of opt-out forms (stage catalog), with the
// records table's columns: one row per distinct form, standardised as a
// record is, its source_id "optouts" and its local_id a fingerprint of its
// details ("F" and 12 hex digits: the same every night the form is on the
// list, whatever its line), file and line where it was first read.
// linkage matches the forms to records; mpi to persons.
const OptoutForms = "optout_forms"

// LoadOptouts reads the opt-out forms (none when o is nil) into
// OptoutForms (mpi decides whom each withholds: optout_persons). A form is
// read as a source's row is: a value a rule rejects is reported (source
// "optouts", its line) and the rest of the form still counts — a form whose
// number fails modulus 11 is matched on its name, date of birth and
// address. A configured list that is missing or unreadable fails the run:
// publishing without it could show people who asked not to be shown. An
// empty list (a header, no forms) is not an error. It returns the forms
// loaded.
func LoadOptouts(ctx context.Context, db *store.DB, o *config.Optouts, opt Options) (int64, error) {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE `+store.Staged("optout_records")+` AS SELECT * FROM records LIMIT 0`); err != nil {
		return 0, err
	}
	if o != nil {
		if err := loadForms(ctx, db, o, opt); err != nil {
			return 0, err
		}
	}
	// Identical forms (sent twice) are one; a form is named by its details.
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE `+store.Staged(OptoutForms)+` AS
		SELECT * EXCLUDE (form_id, k) REPLACE (form_id AS local_id) FROM (
			SELECT *, row_number() OVER (PARTITION BY form_id ORDER BY file, line) AS k FROM (
				SELECT *, 'F' || left(sha256(concat_ws(chr(31), coalesce(nhs_number, ''), coalesce(given_name, ''), coalesce(family_name, ''),
					coalesce(strftime(date_of_birth, '%Y-%m-%d'), ''), coalesce(postcode, ''), coalesce(address, ''))), 12) AS form_id
				FROM optout_records))
		WHERE k = 1 ORDER BY file, line;
		DROP TABLE optout_records`); err != nil {
		return 0, fmt.Errorf("optouts: %w", err)
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+OptoutForms).Scan(&n); err != nil {
		return 0, fmt.Errorf("optouts: %w", err)
	}
	return n, nil
}

// loadForms reads the forms' file into optout_records.
func loadForms(ctx context.Context, db *store.DB, o *config.Optouts, opt Options) error {
	recs, err := db.NewRecordLoadInto(ctx, store.Staged("optout_records"))
	if err != nil {
		return err
	}
	src := o.Source
	l := &loader{src: &src, opt: opt, seen: newLocalIDs(), forms: true, formsFromHeader: o.FromHeader}
	l.recs = recs.NewWriter()
	if l.excs, err = db.NewAppender(ctx, "exceptions"); err != nil {
		l.recs.Close()
		recs.Close()
		return err
	}
	_, err = l.loadFile(ctx, db, o.Path)
	if cerr := l.recs.Close(); err == nil {
		err = cerr
	}
	if cerr := l.excs.Close(); err == nil {
		err = cerr
	}
	if cerr := recs.Close(); err == nil {
		err = cerr
	}
	return err
}
