package config

import (
	"fmt"
	"regexp"
	"strings"
)

// typeError matches the TOML decoder's message for a value of the wrong
// type ("toml: line 2 (last key "run.keep_runs"): incompatible types: TOML
// value has type string; destination has type integer"), which names Go
// types.
var typeError = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]+)"\): incompatible types: TOML value has type (.+); destination has type (.+)$`)

// friendlyTypeError rewrites a type error as a user would say it: the line,
// the key, what it must be and what it is; ok is false for any other error.
func friendlyTypeError(err error) (msg string, ok bool) {
	m := typeError.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	line, key, got, want := m[1], m[2], m[3], m[4]
	where := key
	if line != "" {
		where = "line " + line + ": " + key
	}
	if key == "source" && want == "slice" {
		return where + ": each extract is a [[source]] table (two brackets), not [source]", true
	}
	return fmt.Sprintf("%s must be %s, not %s", where, tomlWant(want), tomlGot(got)), true
}

func tomlWant(t string) string {
	switch {
	case t == "integer":
		return "a whole number (no quotes)"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string in quotes"
	case t == "boolean", t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "primitive"):
		return "a string in quotes"
	case t == "slice":
		return "an array [ … ] (or [[table]]s)"
	}
	return "a table"
}

func tomlGot(t string) string {
	switch {
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]map"):
		return "an array of tables"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map"):
		return "a table"
	}
	return t
}
