package review

import (
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/selondon/carematch/store"
)

// Item is one open question from a night's review queue.
type Item struct {
	ID          string
	Kind        string // a store.ReviewKind
	Left, Right Record
	Weight      float64
	Guard       string
	// Values are both records' details side by side, for the analyst's
	// page only: never printed to the console.
	Values  []FieldValues
	Records int // records in the two persons: how much depends on the answer
}

// FieldValues is one field of both records of an item.
type FieldValues struct {
	Field       string // as the queue names it: nhs_number, given_name, …
	Left, Right string
}

// ItemID names a pair of records, the same every night.
func ItemID(a, b Record) string {
	x, y := a.String(), b.String()
	if y < x {
		x, y = y, x
	}
	h := sha1.Sum([]byte(x + "|" + y))
	return "R" + hex.EncodeToString(h[:4])
}

// LoadQueue reads a publication's review queue and the sizes of the persons
// involved (from index/xref.csv), leaving out items already decided. Items
// come most important first: by how many records depend on them, then by
// weight; the kinds are listed together.
func LoadQueue(queueCSV, xrefCSV string, decided []Decision) ([]Item, error) {
	sizes := map[string]int{}
	person := map[Record]string{}
	if err := readRows(xrefCSV, func(r map[string]string, _ []string) {
		rec := Record{Source: r["source_id"], Local: r["local_id"]}
		person[rec] = r["master_id"]
		sizes[r["master_id"]]++
	}); err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, d := range decided {
		if d.Right != nil {
			done[ItemID(d.Left, *d.Right)] = true
		}
	}
	var items []Item
	if err := readRows(queueCSV, func(r map[string]string, hdr []string) {
		it := Item{Kind: r["kind"], Left: Record{Source: r["left_source_id"], Local: r["left_local_id"]},
			Right: Record{Source: r["right_source_id"], Local: r["right_local_id"]}, Guard: r["guard"]}
		// The values are the queue's left_<field> and right_<field> columns
		// other than the record's names, in the queue's order.
		for _, h := range hdr {
			if f, ok := strings.CutPrefix(h, "left_"); ok && f != "source_id" && f != "local_id" {
				it.Values = append(it.Values, FieldValues{Field: f, Left: r[h], Right: r["right_"+f]})
			}
		}
		it.Weight, _ = strconv.ParseFloat(r["match_weight"], 64)
		it.ID = ItemID(it.Left, it.Right)
		it.Records = sizes[person[it.Left]] + sizes[person[it.Right]]
		if !done[it.ID] {
			items = append(items, it)
		}
	}); err != nil {
		return nil, err
	}
	sort.SliceStable(items, func(i, j int) bool {
		if ri, rj := kindRank(items[i].Kind), kindRank(items[j].Kind); ri != rj {
			return ri < rj
		}
		if items[i].Records != items[j].Records {
			return items[i].Records > items[j].Records
		}
		return items[i].Weight > items[j].Weight
	})
	return items, nil
}

// kindRank orders the kinds of item as store.ReviewKinds does: pairs the
// model could not decide, links refused to keep a person coherent, opt-out
// forms in doubt, NHS-number conflicts.
func kindRank(kind string) int {
	for i, k := range store.ReviewKinds {
		if string(k) == kind {
			return i
		}
	}
	return len(store.ReviewKinds)
}

// FindItem looks an item up by ID.
func FindItem(items []Item, id string) (Item, error) {
	for _, it := range items {
		if it.ID == id {
			return it, nil
		}
	}
	return Item{}, fmt.Errorf("review: no open item %s in the current publication's queue", id)
}

func readRows(path string, f func(row map[string]string, header []string)) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	r := csv.NewReader(file)
	hdr, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		m := make(map[string]string, len(hdr))
		for i, h := range hdr {
			m[h] = rec[i]
		}
		f(m, hdr)
	}
}
