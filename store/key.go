package store

import (
	"cmp"
	"fmt"
	"strings"
)

// RecordKey names a source record: its source's ID and its ID there. It is
// the one form a record is named in, from the decision log to the index.
type RecordKey struct {
	Source string `json:"source_id"`
	Local  string `json:"local_id"`
}

// String renders SOURCE:LOCAL_ID.
func (k RecordKey) String() string { return k.Source + ":" + k.Local }

// ParseRecordKey reads SOURCE:LOCAL_ID.
func ParseRecordKey(s string) (RecordKey, error) {
	src, local, ok := strings.Cut(s, ":")
	if !ok || src == "" || local == "" {
		return RecordKey{}, fmt.Errorf("%q: records are written SOURCE:LOCAL_ID", s)
	}
	return RecordKey{src, local}, nil
}

// Compare orders keys by source, then local ID.
func (k RecordKey) Compare(o RecordKey) int {
	return cmp.Or(strings.Compare(k.Source, o.Source), strings.Compare(k.Local, o.Local))
}
