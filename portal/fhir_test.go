package portal

import (
	"encoding/json"
	"testing"
)

// appendJSONString writes what encoding/json writes, for any string:
// quotes, backslashes, control characters, HTML characters, invalid UTF-8
// and the two line separators JavaScript chokes on.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\bbs\fff\x00nul\x1fus\x7fdel",
		"<script>&amp;</script>", "Zoë Ó'Brien-Łukasz 李", "bad \xff utf-8 \xc3", "sep \u2028 \u2029 end", "\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}
