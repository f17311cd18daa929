package rules

import (
	"testing"
	"time"
)

var today = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func TestParseDateOfBirth(t *testing.T) {
	tests := []struct {
		format string
		in     string
		want   string
		reason DateReason
	}{
		{"%Y-%m-%d", "1975-03-04", "1975-03-04", ""},
		{"%Y%m%d", "19750304", "1975-03-04", ""},
		{"%d/%m/%Y", "04/03/1975", "1975-03-04", ""},
		{"%d/%m/%Y", "4/3/1975", "1975-03-04", ""},
		{"%d/%m/%Y %H:%M", "04/03/1975 00:00", "1975-03-04", ""},
		{"%d-%b-%Y", "04-Mar-1975", "1975-03-04", ""},
		{"%d-%b-%Y", "04-MAR-1975", "1975-03-04", ""},
		{"%Y-%m-%d", "2024-02-29", "2024-02-29", ""},
		{"%Y-%m-%d", "2023-02-29", "", DateImpossible},
		{"%d/%m/%Y", "31/02/1980", "", DateImpossible},
		{"%d/%m/%Y", "01/13/1980", "", DateImpossible},
		{"%Y-%m-%d", "2030-01-01", "", DateFuture},
		{"%Y-%m-%d", "1900-01-01", "", DatePlaceholder},
		{"%Y-%m-%d", "1885-06-01", "", DateTooOld},
		{"%Y-%m-%d", "", "", DateMissing},
		{"%Y-%m-%d", "04/03/1975", "", DateBadFormat},
		{"%Y%m%d", "1975034", "", DateBadFormat},
		{"%Y-%m-%d", "1975-03-04x", "", DateBadFormat},
		{"%d/%m/%Y %H:%M", "04/03/1975 25:00", "", DateBadFormat},
		{"%d-%b-%Y", "04-Foo-1975", "", DateBadFormat},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.in, func(t *testing.T) {
			got := ParseDateOfBirth(MustDateFormat(tt.format), tt.in, today)
			if got.Reason != tt.reason {
				t.Fatalf("reason %q, want %q", got.Reason, tt.reason)
			}
			if tt.reason == "" && got.Time.Format("2006-01-02") != tt.want {
				t.Fatalf("got %s, want %s", got.Time.Format("2006-01-02"), tt.want)
			}
		})
	}
}

func TestCompileDateFormat(t *testing.T) {
	for _, bad := range []string{"%Y-%m", "%y-%m-%d", "%d/%m/%Y%", "%d/%m/%Y %Z", ""} {
		if _, err := CompileDateFormat(bad); err == nil {
			t.Errorf("CompileDateFormat(%q) accepted", bad)
		}
	}
}

func FuzzDateFormatParse(f *testing.F) {
	f.Add("%d/%m/%Y", "04/03/1975")
	f.Add("%Y%m%d", "19750304")
	f.Add("%d-%b-%Y", "4-mar-1975")
	f.Fuzz(func(t *testing.T, format, s string) {
		df, err := CompileDateFormat(format)
		if err != nil {
			return
		}
		y, m, d, reason := df.Parse(s)
		if reason == "" && (m < 1 || m > 12 || d < 1 || d > daysIn(y, m)) {
			t.Fatalf("accepted %d-%d-%d", y, m, d)
		}
	})
}
