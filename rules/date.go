package rules

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DateReason says why a date value was not accepted.
type DateReason string

// Reasons a date is rejected.
const (
	DateMissing     DateReason = "missing"
	DateBadFormat   DateReason = "does not match the source's date format"
	DateImpossible  DateReason = "impossible date"
	DateFuture      DateReason = "date in the future"
	DateTooOld      DateReason = "implausible: before 1890"
	DatePlaceholder DateReason = "placeholder for an unknown date"
)

// DateFormat is a compiled strftime-style format, as a source declares it:
// %Y (4-digit year), %m, %d (2 digits, or 1–2 where the format has a
// separator after them), %b (Jan..Dec, any case), %H, %M, %S, %y is not
// accepted because a two-digit year cannot be placed in a century safely.
// Any other character must appear literally.
type DateFormat struct {
	src   string
	parts []datePart
}

type datePart struct {
	verb byte   // 0 for a literal
	lit  string // for literals
}

// ErrDateFormat is returned by CompileDateFormat for a format it cannot use.
var ErrDateFormat = errors.New("rules: bad date format")

// CompileDateFormat compiles a strftime-style format.
func CompileDateFormat(f string) (*DateFormat, error) {
	df := &DateFormat{src: f}
	seen := map[byte]bool{}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			if n := len(df.parts); n > 0 && df.parts[n-1].verb == 0 {
				df.parts[n-1].lit += string(c)
			} else {
				df.parts = append(df.parts, datePart{lit: string(c)})
			}
			continue
		}
		if i+1 >= len(f) {
			return nil, fmt.Errorf("%w %q: ends with %%", ErrDateFormat, f)
		}
		i++
		switch v := f[i]; v {
		case 'Y', 'm', 'd', 'b', 'H', 'M', 'S':
			df.parts = append(df.parts, datePart{verb: v})
			seen[v] = true
		case '%':
			df.parts = append(df.parts, datePart{lit: "%"})
		default:
			return nil, fmt.Errorf("%w %q: %%%c is not supported (use %%Y %%m %%d %%b %%H %%M %%S)", ErrDateFormat, f, v)
		}
	}
	if !seen['Y'] || !(seen['m'] || seen['b']) || !seen['d'] {
		return nil, fmt.Errorf("%w %q: needs a day (%%d), a month (%%m or %%b) and a four-digit year (%%Y)", ErrDateFormat, f)
	}
	return df, nil
}

// MustDateFormat is CompileDateFormat for formats known at compile time.
func MustDateFormat(f string) *DateFormat {
	df, err := CompileDateFormat(f)
	if err != nil {
		panic(err)
	}
	return df
}

// String returns the format as it was written.
func (df *DateFormat) String() string { return df.src }

var monthAbbr = [...]string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}

// Parse reads a date in the format. Time of day, where the format has one, is
// checked for shape and discarded: a date of birth is a calendar date.
func (df *DateFormat) Parse(s string) (y, m, d int, reason DateReason) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, 0, DateMissing
	}
	pos := 0
	for i, p := range df.parts {
		if p.verb == 0 {
			if !strings.HasPrefix(s[pos:], p.lit) {
				return 0, 0, 0, DateBadFormat
			}
			pos += len(p.lit)
			continue
		}
		// A numeric field may be one digit shorter when a literal follows it
		// (1/2/2003), never when fields run together (20030102).
		flexible := (i == 0 || df.parts[i-1].verb == 0) && (i+1 == len(df.parts) || df.parts[i+1].verb == 0)
		var v int
		var ok bool
		switch p.verb {
		case 'Y':
			v, pos, ok = digitsAt(s, pos, 4, 4)
			y = v
		case 'm':
			v, pos, ok = digitsAt(s, pos, minWidth(flexible), 2)
			m = v
		case 'd':
			v, pos, ok = digitsAt(s, pos, minWidth(flexible), 2)
			d = v
		case 'H', 'M', 'S':
			v, pos, ok = digitsAt(s, pos, minWidth(flexible), 2)
			ok = ok && v < 60 && (p.verb != 'H' || v < 24)
		case 'b':
			if len(s)-pos < 3 {
				return 0, 0, 0, DateBadFormat
			}
			abbr := strings.ToUpper(s[pos : pos+3])
			for k, a := range monthAbbr {
				if a == abbr {
					m, ok = k+1, true
				}
			}
			pos += 3
		}
		if !ok {
			return 0, 0, 0, DateBadFormat
		}
	}
	if pos != len(s) {
		return 0, 0, 0, DateBadFormat
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, DateImpossible
	}
	return y, m, d, ""
}

func minWidth(flexible bool) int {
	if flexible {
		return 1
	}
	return 2
}

func digitsAt(s string, pos, min, max int) (v, next int, ok bool) {
	n := 0
	for pos+n < len(s) && n < max && s[pos+n] >= '0' && s[pos+n] <= '9' {
		v = v*10 + int(s[pos+n]-'0')
		n++
	}
	return v, pos + n, n >= min
}

// DaysIn is the number of days in month m of year y (Gregorian).
func DaysIn(y, m int) int { return daysIn(y, m) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// DateOfBirth is a parsed date of birth and what is known about its quality.
type DateOfBirth struct {
	Time   time.Time // UTC midnight; zero when Reason is set
	Reason DateReason
}

// ParseDateOfBirth parses a date of birth in the source's format and rejects
// impossible, future and implausibly old dates and the placeholders systems
// write for an unknown date (1900-01-01, 1800-01-01). today is the run date.
// A 1 January date is kept: it is weaker evidence (linkage gives it levels of
// its own), not an error.
func ParseDateOfBirth(df *DateFormat, s string, today time.Time) DateOfBirth {
	y, m, d, reason := df.Parse(s)
	if reason != "" {
		return DateOfBirth{Reason: reason}
	}
	if m == 1 && d == 1 && (y == 1900 || y == 1800) {
		return DateOfBirth{Reason: DatePlaceholder}
	}
	if y < 1890 {
		return DateOfBirth{Reason: DateTooOld}
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.After(today) {
		return DateOfBirth{Reason: DateFuture}
	}
	return DateOfBirth{Time: t}
}

// ParseDate parses any other date (of death, of update) in the source's
// format: impossible and future dates are rejected, nothing else.
func ParseDate(df *DateFormat, s string, today time.Time) DateOfBirth {
	y, m, d, reason := df.Parse(s)
	if reason != "" {
		return DateOfBirth{Reason: reason}
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.After(today) {
		return DateOfBirth{Reason: DateFuture}
	}
	return DateOfBirth{Time: t}
}
