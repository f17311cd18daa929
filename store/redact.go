package store

import (
	"regexp"
	"strings"
)

// LeaveOutValues takes a record's value out of a DuckDB error message before
// it reaches a log line, the console or the manifest (StepError's message,
// the command's last line and a failed night's manifest use it): a value that cannot
// be cast or parsed ("Conversion Error: Could not convert string 'Robert'
// to INT32 …", "Invalid Input Error: Could not parse string \"Robert\" …",
// the latter with the value again on a line of its own) is a patient's name,
// date of birth, NHS number or address as often as not. Only those two kinds
// of error are touched; in them every quoted text after the error's kind
// becomes '…' (what carematch put before it — the stage, the step, a
// blocking rule — stays), and of the lines after the first only DuckDB's
// "LINE n:" (the statement, carematch's own SQL) is kept. Other errors name
// columns and tables, not values.
func LeaveOutValues(msg string) string {
	at := strings.Index(msg, "Conversion Error")
	if i := strings.Index(msg, "Invalid Input Error"); at < 0 || (i >= 0 && i < at) {
		at = i
	}
	if at < 0 {
		return msg
	}
	lines := strings.Split(msg[at:], "\n")
	kept := []string{msg[:at] + quoted.ReplaceAllString(lines[0], "'…'")}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "LINE ") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// quoted is a text in single or double quotes.
var quoted = regexp.MustCompile(`'[^']*'|"[^"]*"`)
