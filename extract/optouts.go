package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/selondon/carematch/rules"
	"github.com/selondon/carematch/store"
)

// LoadOptouts reads the opt-out list (a CSV with an nhs_number column) into
// table optouts. A configured list that is missing or unreadable fails the
// run — publishing without it could show people who asked not to be shown.
// An invalid number in the list is reported (kind invalid_nhs_number, source
// "optouts") and cannot match anyone. It returns the count loaded.
func LoadOptouts(ctx context.Context, db *store.DB, path string) (int64, error) {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE optouts (nhs_number VARCHAR)`); err != nil {
		return 0, err
	}
	if path == "" {
		return 0, nil
	}
	fail := func(line int, err error, detail string) error {
		return &SourceError{Source: "optouts", File: path, Line: line, Err: err, Detail: detail}
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, fail(0, ErrUnreadable, errDetail(err))
	}
	defer f.Close()
	r := newCSVReader(f, ',', nil)
	hdr, _, err := r.Read()
	if err == io.EOF {
		return 0, fail(0, ErrEmptyFile, "no header line")
	}
	if err != nil {
		return 0, fail(1, ErrUnreadable, err.Error())
	}
	col := -1
	for i, h := range hdr {
		if strings.TrimSpace(string(h)) == "nhs_number" {
			col = i
		}
	}
	if col < 0 {
		return 0, &SourceError{Source: "optouts", File: path, Line: 1, Field: "nhs_number", Column: "nhs_number", Err: ErrMissingColumn}
	}
	r.want = len(hdr)
	app, err := db.NewAppender(ctx, "optouts")
	if err != nil {
		return 0, err
	}
	exc, err := db.NewAppender(ctx, "exceptions")
	if err != nil {
		app.Close()
		return 0, err
	}
	var n int64
	for {
		fields, line, err := r.Read()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			if err := exc.Append(string(store.ExcRejectedRow), "optouts", nil, int64(re.Line), nil, re.Reason, truncate(re.Raw, 500), "optouts"); err != nil {
				app.Close()
				exc.Close()
				return 0, err
			}
			continue
		}
		if err != nil {
			app.Close()
			exc.Close()
			return 0, fail(line, ErrUnreadable, err.Error())
		}
		raw := strings.TrimSpace(string(fields[col]))
		v := rules.ParseNHSNumber(raw)
		if !v.Valid() {
			if err := exc.Append(string(store.ExcInvalidNHS), "optouts", nil, int64(line), "nhs_number", string(v.Reason), raw, "optouts"); err != nil {
				app.Close()
				exc.Close()
				return 0, err
			}
			continue
		}
		if err := app.Append(v.Number); err != nil {
			app.Close()
			exc.Close()
			return 0, err
		}
		n++
	}
	if err := app.Close(); err != nil {
		exc.Close()
		return 0, err
	}
	if err := exc.Close(); err != nil {
		return 0, fmt.Errorf("optouts: %w", err)
	}
	return n, nil
}
