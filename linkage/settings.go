package linkage

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/selondon/carematch/rules"
)

// The match settings as data, in Splink's vocabulary: blocking rules say
// which pairs of records are compared at all; each comparison turns a pair
// into one of its levels; the model learns an m and u probability for every
// level. Level conditions are SQL over two rows of linkage's prepared table,
// named l and r, and are written exactly once, here: scoring, training and
// `carematch explain` all evaluate these same strings.
//
// Columns of the prepared table the conditions may use: given_name,
// middle_names, family_name, previous_family_name, family_parts (list),
// given_initial, given_phonetic, family_phonetic, dob, dob_text (YYYYMMDD),
// sex (male/female or NULL), postcode (standard postcodes only), sector,
// district, address_key (the address's distinct words, sorted, as one
// string), address_number (its first word with a digit), nhs_number,
// nhs_verified, extra_<name>;
// and two facts about the pair, from joins: nk.a IS NOT NULL when the given
// names are a name/nickname pair, dl.rid_l IS NOT NULL when the deterministic
// stage linked the pair on its NHS number.

// BlockingRule is a list of keys: a pair is a candidate when every key of
// the left record equals the same key of the right record (or, with Right,
// the corresponding right key), and no key is NULL.
type BlockingRule struct {
	Name  string
	Left  []string // SQL expressions over one record's columns
	Right []string // nil: the same as Left
	// MaxBlock, when set, is the rule's own cap on a block's records: a
	// bigger block is left out by design (a name-only key is worth
	// comparing only when the name is uncommon), reported but not warned of.
	MaxBlock int64
	// SplitOver and SplitBy keep a rule's blocks small however many
	// records there are: a block of more than SplitOver records is split by
	// the first SplitBy key, a part still over SplitOver by the next too,
	// and so on; the last parts are kept whatever their size. A split costs
	// only pairs that differ on a split key inside a large block, where a
	// key shared by chance is the likeliest reason they were paired.
	SplitOver int64
	SplitBy   []SplitKey
	// Typo, when set, is an SQL expression of one record's columns giving a
	// whole number, of which the last two digits count (a day or a month of
	// birth; another type is refused when the rule runs): a pair of the rule's
	// blocks is kept only when its two values are at most one keying slip
	// apart — the same, one digit changed, or the two digits swapped
	// (typoSQL, blocking.go); a record without a value pairs with none
	// under the rule. A rule for a mistyped day pairs records sharing the
	// rest of the date; without this it pairs every namesake born in the
	// month, whose number grows with the population, where a slip keeps a
	// digit.
	Typo string
	// Differ, when set, is an SQL expression of one record's columns: a
	// pair of the rule's blocks is kept only when its two values differ,
	// or either record has none (NULL: it cannot tell). A rule for one
	// part of the date of birth mistyped pairs, in the same blocks, every
	// person's records that agree on the whole date — which the rules of
	// the date and a name make too. At ten million records the six rules
	// for a mistyped day, month or year and a swapped day and month made
	// 30.9 M pairs before the union, nearly all of one date; of those only
	// they made (2,223) none was true (docs/LINKAGE.md). With differ dob
	// they make 2.1 M, the pairs they are for.
	Differ string
	// Share, when set, lists SQL expressions of one record's columns: a
	// pair of the rule's blocks is kept only when its two records agree on
	// at least one of them, or either record has no value for one (NULL:
	// it cannot tell, so the pair is kept) (shareSQL, blocking.go). The
	// default rules that find namesakes share the undisputed NHS number
	// (shareNumber): two that differ are two people. Sharing parts of the
	// date of birth on the postcode and initial rule (a date keyed wrong
	// keeps a year, a month or a day; a parent and child of one initial at
	// one address seldom share any) is not a default: the guard on a
	// record without a date of birth that matches two people of one
	// household learns they are two from their own pair's guard
	// (holdAmbiguous, guards.go), so a share that drops the only candidate
	// pair of two such people lets that record link to both — at ten
	// million records a sixth of the candidate pairs fewer, no time
	// measurably, and three more pairs merged wrongly (docs/LINKAGE.md).
	// The NHS number is safe in this: holdAmbiguous tests two numbers
	// itself, not through their pair.
	Share []string
}

// SplitKey is one level of a rule's split: a key, or, written
// "either(a, b, …)", alternatives — a part's records are split by each, a
// record in one sub-part for every key, so that a pair is kept when it
// shares any of them.
type SplitKey []string

// String renders the key as it is written in the configuration.
func (k SplitKey) String() string {
	if len(k) == 1 {
		return k[0]
	}
	return "either(" + strings.Join(k, ", ") + ")"
}

// parseSplitKey reads one split key; ok is false for an "either(" that is
// not closed or holds fewer than two keys.
func parseSplitKey(x string) (k SplitKey, ok bool) {
	inner, either := strings.CutPrefix(x, "either(")
	if !either {
		return SplitKey{x}, true
	}
	alts := splitKeys(strings.TrimSuffix(inner, ")"))
	return alts, strings.HasSuffix(inner, ")") && len(alts) >= 2
}

// String renders a rule as it is written in the configuration.
func (b BlockingRule) String() string {
	s := strings.Join(b.Left, ", ")
	if b.Right != nil {
		s += " ~ " + strings.Join(b.Right, ", ")
	}
	if b.SplitOver > 0 {
		keys := make([]string, len(b.SplitBy))
		for i, k := range b.SplitBy {
			keys[i] = k.String()
		}
		s += fmt.Sprintf(" | split %d by %s", b.SplitOver, strings.Join(keys, ", "))
	}
	if b.Typo != "" {
		s += " | typo " + b.Typo
	}
	if b.Differ != "" {
		s += " | differ " + b.Differ
	}
	if b.Share != nil {
		s += " | share " + strings.Join(b.Share, ", ")
	}
	if b.MaxBlock > 0 {
		s += fmt.Sprintf(" | max_block %d", b.MaxBlock)
	}
	return s
}

// MaxBlockingRules is the most blocking rules a run may have: a candidate
// pair records the rules that found it as the bits of a 32-bit integer
// (pair_rules.rules), which a later night reads.
const MaxBlockingRules = 31

// ParseBlockingRules reads a run's rules (ParseBlockingRule), at most
// MaxBlockingRules of them.
func ParseBlockingRules(ss []string) ([]BlockingRule, error) {
	if len(ss) > MaxBlockingRules {
		return nil, fmt.Errorf("linkage.blocking_rules: %d rules, at most %d (each candidate pair keeps which rules found it as a bit of a 32-bit integer)", len(ss), MaxBlockingRules)
	}
	brs := make([]BlockingRule, 0, len(ss))
	for _, s := range ss {
		br, err := ParseBlockingRule(s)
		if err != nil {
			return nil, err
		}
		brs = append(brs, br)
	}
	return brs, nil
}

// ParseBlockingRule reads "key, key" or "left keys ~ right keys", either
// optionally followed by options, each after a "|": "max_block N" and, for
// a rule that is not crossed, "split N by key, key" (a split key may be
// "either(a, b)": SplitKey); for any rule "typo expression"
// (BlockingRule.Typo), "differ expression" (BlockingRule.Differ) and
// "share expression, expression" (BlockingRule.Share), each a test of one
// pair's two records, whichever side of a crossed rule each is on.
func ParseBlockingRule(s string) (BlockingRule, error) {
	whole := s
	parts := splitTop(s, '|')
	s = parts[0]
	var b BlockingRule
	for _, opt := range parts[1:] {
		f := strings.Fields(opt)
		if len(f) == 0 {
			return b, fmt.Errorf("blocking rule %q: nothing after a |", whole)
		}
		if f[0] == "typo" {
			if len(f) == 1 || b.Typo != "" {
				return b, fmt.Errorf("blocking rule %q: typo needs one expression, once (a day or month of birth: typo day(dob))", whole)
			}
			b.Typo = strings.TrimSpace(strings.TrimSpace(opt)[len("typo"):])
			continue
		}
		if f[0] == "differ" {
			if len(f) == 1 || b.Differ != "" {
				return b, fmt.Errorf("blocking rule %q: differ needs one expression, once (differ dob)", whole)
			}
			b.Differ = strings.TrimSpace(strings.TrimSpace(opt)[len("differ"):])
			continue
		}
		if f[0] == "share" {
			if b.Share != nil {
				return b, fmt.Errorf("blocking rule %q: share is written once, its expressions after it (share year(dob), month(dob))", whole)
			}
			if b.Share = splitKeys(strings.TrimSpace(opt)[len("share"):]); b.Share == nil {
				return b, fmt.Errorf("blocking rule %q: share needs expressions, none empty (share year(dob), month(dob))", whole)
			}
			continue
		}
		var n int64
		if len(f) >= 2 {
			var err error
			if n, err = strconv.ParseInt(f[1], 10, 64); err != nil || n < 2 {
				return b, fmt.Errorf("blocking rule %q: %s must be a whole number of at least 2, not %q", whole, f[0], f[1])
			}
		}
		switch {
		case f[0] == "max_block" && len(f) == 2 && b.MaxBlock == 0:
			b.MaxBlock = n
		case f[0] == "split" && len(f) >= 4 && f[2] == "by" && b.SplitOver == 0:
			b.SplitOver = n
			_, keys, _ := strings.Cut(opt, " by ")
			ks := splitKeys(keys)
			if ks == nil {
				return b, fmt.Errorf("blocking rule %q: an empty key after split %d by", whole, n)
			}
			for _, x := range ks {
				k, ok := parseSplitKey(x)
				if !ok {
					return b, fmt.Errorf("blocking rule %q: %s: either( needs two keys or more, each not empty, and its closing )", whole, x)
				}
				b.SplitBy = append(b.SplitBy, k)
			}
		default:
			return b, fmt.Errorf("blocking rule %q: after | only \"max_block N\", \"split N by key, key\", \"typo expression\", \"differ expression\" and \"share expression, expression\" are understood, each once", whole)
		}
	}
	b.Name = strings.TrimSpace(s)
	left, right, cross := strings.Cut(s, "~")
	b.Left = splitKeys(left)
	if b.Left == nil {
		return b, fmt.Errorf("blocking rule %q: an empty key", s)
	}
	if cross {
		if b.SplitOver > 0 {
			return b, fmt.Errorf("blocking rule %q: split is for a rule without ~", whole)
		}
		b.Right = splitKeys(right)
		if len(b.Right) != len(b.Left) {
			return b, fmt.Errorf("blocking rule %q: %d keys on the left, %d on the right", s, len(b.Left), len(b.Right))
		}
	}
	return b, nil
}

// splitKeys reads "key, key": the commas outside parentheses and quotes
// divide it.
func splitKeys(x string) []string {
	out := splitTop(x, ',')
	for i, k := range out {
		if out[i] = strings.TrimSpace(k); out[i] == "" {
			return nil
		}
	}
	return out
}

// splitTop divides x at each sep outside parentheses and single-quoted
// strings; a doubled '|' is SQL's concatenation, not an option's bar.
func splitTop(x string, sep byte) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(x); i++ {
		switch c := x[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			if sep == '|' && i+1 < len(x) && x[i+1] == '|' {
				i++
				continue
			}
			out = append(out, x[start:i])
			start = i + 1
		}
	}
	return append(out, x[start:])
}

// DefaultBlockingRules keep the number of candidate pairs per record about
// the same however many records there are: every key that includes a date
// of birth also includes a name or a postcode (a rule on date of birth and an
// initial makes blocks that grow with the population), and a rule whose
// blocks still grow, because people sharing a birthday and a common name are
// more numerous the more people there are, splits a block of more than six
// records by sex and the exact names (the date of birth and given name's
// rule, whose parts still grow, then keeps a pair of a part over six that
// shares the family initial or the postcode district: at ten million
// records a sixth fewer pairs for 122 of 5.6 million true links). Together they catch the
// errors extracts make. A pair is compared if it
// shares a date of birth and a sound-alike given name (family name changed
// or misspelt), a sound-alike family name (nickname or misspelt given name),
// a postcode (both names changed), or a previous family name on one record
// and the family name on the other; or sound-alike given and family names
// and two of the three parts of the date of birth (one part mistyped; for
// the year, a digit: one off shares the decade counted from 0 or from 5, ten
// off shares the last digit — keys a tenth as wide as "any year"; for the
// day or the month, the two values one keying slip apart, a digit kept or
// the two swapped: at ten million records 1.63 million fewer pairs, all but
// one of them two people — namesakes born in the same month, or on the
// same day of another — and the index the same; and only pairs whose dates
// differ, the pairs of one date being the first rules': at ten million
// records 30.9 M pairs before the union became 2.1 M, the index the
// same), or
// the same year with day and month swapped, or the year alone where one
// record's date is a 1 January placeholder; or a postcode and the given
// initial (any date error at one address); or given and family names
// swapped; or, for a record with no date of birth, sound-alike given and
// family names held by at most 200 records (a record with neither date of
// birth nor an uncommon name cannot be told from its namesakes); or the same valid NHS number, when the deterministic stage
// did not link them (a number shared is reason enough to compare the
// demographics). The rules that pair namesakes leave out a pair of two
// different undisputed NHS numbers (shareNumber). docs/LINKAGE.md has the
// pairs and the recall of each.
var DefaultBlockingRules = []string{
	"dob, given_phonetic | split 6 by sex, given_name, either(left(family_name, 1), district)" + shareNumber,
	"dob, family_phonetic | split 6 by sex, family_name" + shareNumber,
	"dob, postcode | split 6 by sex",
	"dob, previous_family_name ~ dob, family_name",
	"given_phonetic, family_phonetic, year(dob), month(dob) | split 6 by sex, given_name, family_name | typo day(dob) | differ dob" + shareNumber,
	"given_phonetic, family_phonetic, month(dob), day(dob), year(dob) // 10 | split 6 by sex, given_name, family_name | differ dob" + shareNumber,
	"given_phonetic, family_phonetic, month(dob), day(dob), (year(dob) + 5) // 10 | split 6 by sex, given_name, family_name | differ dob" + shareNumber,
	"given_phonetic, family_phonetic, month(dob), day(dob), year(dob) % 10 | split 6 by sex, given_name, family_name | differ dob" + shareNumber,
	"given_phonetic, family_phonetic, year(dob), day(dob) | split 6 by sex, given_name, family_name | typo month(dob) | differ dob" + shareNumber,
	"given_phonetic, family_phonetic, year(dob), least(month(dob), day(dob)), greatest(month(dob), day(dob)) | split 6 by sex, given_name, family_name | differ dob" + shareNumber,
	"given_phonetic, family_phonetic, CASE WHEN month(dob) = 1 AND day(dob) = 1 THEN year(dob) END ~ given_phonetic, family_phonetic, year(dob)" + shareNumber,
	"postcode, given_initial | split 6 by sex, given_phonetic" + shareNumber,
	"given_name, CASE WHEN given_name <> family_name THEN family_name END, year(dob) ~ family_name, given_name, year(dob)",
	"given_phonetic, family_phonetic, CASE WHEN dob IS NULL THEN 'none' END ~ given_phonetic, family_phonetic, 'none'" + shareNumber + " | max_block 200",
	"nhs_number",
}

// shareNumber is the test the default rules that find namesakes put on
// their pairs: a pair of two records whose valid NHS numbers differ, where
// neither is disputed, is two people (clustering never puts two such
// numbers in one person, and the review queue never offers them), so such
// a pair is compared only where a rule that finds one person's records, not
// namesakes, makes it — the date of birth and postcode, the previous family
// name, the swapped names — where a person with two numbers at one address
// still shows as a cut link. A record without a number, or whose number
// the NHS-number stage disputed (NULL), pairs as before; the stage runs
// before blocking, and a record whose flag changes is dirty on an
// incremental night. The test first held only verified
// numbers: at ten million fixture records it took the rules' 23.3 M
// candidate pairs to 16.5 M (2.31 → 1.63 a record). An unverified number
// cannot join a person holding another either, so holding every undisputed
// number took them to 9.0 M (0.89 a record; at one million 0.96 M → 0.69 M),
// with the same precision, the same false and hard-negative merges and 80
// more true pairs linked (docs/LINKAGE.md, "Blocking"). The two crossed
// rules that find namesakes (the 1 January placeholder, no date of birth)
// carry it too: at ten million records 8.99 M → 8.28 M pairs (0.89 → 0.82 a
// record), 62 more true pairs linked, the false and hard-negative merges
// the same. The number rides as an integer: at ten million records the
// date of birth and given name's rule took 6.8 s so, 7.3–7.6 s with the
// number as text and 5.8–6.6 s without it.
const shareNumber = " | share CASE WHEN NOT nhs_disputed THEN nhs_number::BIGINT END"

// defaultRuleFor says what each default blocking rule is for, for the log
// (the rules' keys are SQL; the manifest and docs/LINKAGE.md have them).
var defaultRuleFor = map[string]string{
	DefaultBlockingRules[0]:  "family name changed or misspelt",
	DefaultBlockingRules[1]:  "nickname or misspelt given name",
	DefaultBlockingRules[2]:  "both names changed",
	DefaultBlockingRules[3]:  "marriage recorded on one record",
	DefaultBlockingRules[4]:  "day of birth mistyped",
	DefaultBlockingRules[5]:  "year of birth one off",
	DefaultBlockingRules[6]:  "year of birth one off across a decade",
	DefaultBlockingRules[7]:  "year of birth ten off",
	DefaultBlockingRules[8]:  "month of birth mistyped",
	DefaultBlockingRules[9]:  "day and month of birth swapped",
	DefaultBlockingRules[10]: "1 January placeholder",
	DefaultBlockingRules[11]: "date of birth wrong at one address",
	DefaultBlockingRules[12]: "given and family name swapped",
	DefaultBlockingRules[13]: "no date of birth",
	DefaultBlockingRules[14]: "a shared NHS number",
}

// RuleLabel names blocking rule i (0-based) of rules for people: its
// number and, for a default rule, what it is for — never its SQL.
func RuleLabel(i int, rule string) string {
	if f, ok := defaultRuleFor[strings.TrimSpace(rule)]; ok {
		return fmt.Sprintf("rule %d (%s)", i+1, f)
	}
	return fmt.Sprintf("rule %d", i+1)
}

// Level is one comparison level.
type Level struct {
	Label string `json:"label"`
	SQL   string `json:"sql"` // condition; "" for the final else level
	// Null marks "no evidence": a value is missing. Its weight is 0.
	Null bool `json:"null,omitempty"`
	// TF names the column whose term frequency adjusts this level's weight
	// (an exact match on a rare value is stronger evidence).
	TF string `json:"tf,omitempty"`
}

// Comparison turns a record pair into one of its levels: the first whose
// condition holds.
type Comparison struct {
	Name   string  `json:"name"`
	Levels []Level `json:"levels"`
}

// CaseSQL is the comparison as an SQL CASE giving the level's index.
//
// Levels in a row that test one similarity against falling thresholds
// ("jaro_winkler_similarity(…) >= 0.92", then ">= 0.8") become one test of
// the loosest, then the stricter ones inside it: the same level for every
// pair, but a pair below them all, as most random pairs are, computes the
// similarity once, not once a level.
func (c Comparison) CaseSQL() string {
	var b strings.Builder
	b.WriteString("CASE")
	for i := 0; i < len(c.Levels); i++ {
		l := c.Levels[i]
		if l.SQL == "" {
			fmt.Fprintf(&b, " ELSE %d", i)
			break
		}
		run := thresholdRun(c.Levels[i:])
		if run < 2 {
			fmt.Fprintf(&b, " WHEN %s THEN %d", l.SQL, i)
			continue
		}
		fmt.Fprintf(&b, " WHEN %s THEN CASE", c.Levels[i+run-1].SQL)
		for j := i; j < i+run-1; j++ {
			fmt.Fprintf(&b, " WHEN %s THEN %d", c.Levels[j].SQL, j)
		}
		fmt.Fprintf(&b, " ELSE %d END", i+run-1)
		i += run - 1
	}
	b.WriteString(" END")
	return b.String()
}

// thresholdTest is "f(args) >= t" or "f(args) <= t" for a function call
// without nested parentheses.
var thresholdTest = regexp.MustCompile(`^([a-z_]+\([^()]*\)) (>=|<=) ([0-9]+(?:\.[0-9]+)?)$`)

// thresholdRun is how many levels from the first test one call against
// thresholds each looser than the last (falling for >=, rising for <=).
func thresholdRun(levels []Level) int {
	first := thresholdTest.FindStringSubmatch(levels[0].SQL)
	if first == nil {
		return 0
	}
	n, last := 1, first[3]
	for _, l := range levels[1:] {
		m := thresholdTest.FindStringSubmatch(l.SQL)
		if m == nil || m[1] != first[1] || m[2] != first[2] {
			break
		}
		prev, _ := strconv.ParseFloat(last, 64)
		t, _ := strconv.ParseFloat(m[3], 64)
		if (m[2] == ">=" && t >= prev) || (m[2] == "<=" && t <= prev) {
			break
		}
		n, last = n+1, m[3]
	}
	return n
}

func nullLevel(col string) Level {
	return Level{Label: "missing", SQL: fmt.Sprintf("l.%s IS NULL OR r.%s IS NULL", col, col), Null: true}
}

// swappedLoose: given and family name swapped, one of them exactly and the
// other with a typo, a nickname or a previous family name — a swap seldom
// comes alone.
const swappedLoose = "(l.given_name = r.family_name AND (jaro_winkler_similarity(l.family_name, r.given_name) >= 0.8 OR l.previous_family_name = r.given_name))" +
	" OR (l.family_name = r.given_name AND (jaro_winkler_similarity(l.given_name, r.family_name) >= 0.8 OR r.previous_family_name = l.given_name))"

// middleAsGiven: one record's given name is among the other's middle
// names, or within a typo (Jaro–Winkler ≥ 0.95) of its first: Zeynep and
// Zeyenp. Twins' names are seldom that close (Maria and Marie are 0.92).
const middleAsGiven = "list_contains(string_split(r.middle_names, ' '), l.given_name) OR list_contains(string_split(l.middle_names, ' '), r.given_name)" +
	" OR jaro_winkler_similarity(split_part(r.middle_names, ' ', 1), l.given_name) >= 0.95 OR jaro_winkler_similarity(split_part(l.middle_names, ' ', 1), r.given_name) >= 0.95"

// halfSwapped: one record's given name is the other's family name, or its
// family name the other's given name, and the other two names differ — a
// swap with a second change the looser swap level cannot see: a married
// name (Susan Martin, Patel Susan), a nickname (Natalie Fletcher, Fletcher
// Nettie), a middle name as given name (Segun Chinedu Owusu, Owusu
// Chinedu). The family name then compares as different, so the pair counts
// one name agreeing and one not, as it would unswapped.
const halfSwapped = "l.given_name = r.family_name OR l.family_name = r.given_name"

// shortFormSQL: one given name is a short form of the other, listed
// (short_forms) or the start or end of the longer name — rules.IsShortForm
// in SQL (TestShortFormLevelAgreesWithRules holds them equal). The twin
// guard does not read it: twins are seldom named so.
var shortFormSQL = fmt.Sprintf(`sf.a IS NOT NULL OR (length(l.given_name) >= %[1]d AND length(r.given_name) >= length(l.given_name) + %[2]d
	AND (starts_with(r.given_name, l.given_name) OR ends_with(r.given_name, l.given_name)))
	OR (length(r.given_name) >= %[1]d AND length(l.given_name) >= length(r.given_name) + %[2]d
	AND (starts_with(l.given_name, r.given_name) OR ends_with(l.given_name, r.given_name)))`, rules.ShortFormMinLength, rules.ShortFormMinExtra)

// addressWithin: a postcode is missing and every word of one address
// (three at least) is in the other — the same address written shorter, as
// out-of-hours services take it on the phone: "9 Lewisham Way" for "Flat 3,
// 9 Lewisham Way, Lewisham". Without it such a pair compared as a different
// address, and with the same names and date of birth read as a namesake.
//
// An address key is its distinct words sorted (rules.AddressKey), so the
// words of one key can be within the other's only if it is the shorter
// string: the test is of the shorter within the longer, one way. Cheap
// tests come first, each skipped for the pairs the last refused: the
// shorter key's (%[1]s) first and last words as substrings of the longer
// (%[2]s), three words (two spaces), and only then the two lists of words.
// Written as the two ways with each key split in both, it split every
// pair's keys, whether or not a postcode was missing: 0.4 of FEBRL3's 0.9 s
// of training.
var addressWithin = fmt.Sprintf("(l.postcode IS NULL OR r.postcode IS NULL)"+
	" AND contains(%[2]s, split_part(%[1]s, ' ', 1)) AND contains(%[2]s, split_part(%[1]s, ' ', -1))"+
	" AND length(%[1]s) - length(replace(%[1]s, ' ', '')) >= 2"+
	" AND list_has_all(string_split(%[2]s, ' '), string_split(%[1]s, ' '))",
	"(CASE WHEN length(l.address_key) <= length(r.address_key) THEN l.address_key ELSE r.address_key END)",
	"(CASE WHEN length(l.address_key) <= length(r.address_key) THEN r.address_key ELSE l.address_key END)")

// shortFormTypoSQL: the shorter given name is within a typo (Jaro–Winkler ≥
// 0.9) of the longer one's start or end, with the lengths the short form
// level asks: Seun and Oluwaesun (Oluwaseun mistyped), Amka and Chiamaka
// (Amaka mistyped). Faults come independently; a short form is typed no
// more carefully than a full name.
var shortFormTypoSQL = fmt.Sprintf(`(length(l.given_name) >= %[1]d AND length(r.given_name) >= length(l.given_name) + %[2]d
	AND greatest(jaro_winkler_similarity(l.given_name, left(r.given_name, length(l.given_name))), jaro_winkler_similarity(l.given_name, right(r.given_name, length(l.given_name)))) >= 0.9)
	OR (length(r.given_name) >= %[1]d AND length(l.given_name) >= length(r.given_name) + %[2]d
	AND greatest(jaro_winkler_similarity(r.given_name, left(l.given_name, length(r.given_name))), jaro_winkler_similarity(r.given_name, right(l.given_name, length(r.given_name)))) >= 0.9)`, rules.ShortFormMinLength, rules.ShortFormMinExtra)

// DefaultComparisons are carematch's comparisons for NHS demographics.
//
// The date of birth's levels (and the household guards) read the parts of
// a date from dob_text, YYYYMMDD (prepare writes it for every date of birth,
// all of them after 1890), not with year(), month() and day(): DuckDB
// builds a lookup table of 29,584 days for each such call in a statement, on
// each thread, about a millisecond apiece. The levels had twenty of them, so
// every comparison statement started with some 8 ms of tables, whatever its
// pairs — a night compares in six or more statements (docs/BENCHMARKS.md,
// the twentieth session). testdata/pairs.txt holds the levels' boundaries.
func DefaultComparisons() []Comparison {
	jw := func(col string, t float64) string {
		return fmt.Sprintf("jaro_winkler_similarity(l.%s, r.%s) >= %g", col, col, t)
	}
	return []Comparison{
		{Name: "given_name", Levels: []Level{
			nullLevel("given_name"),
			{Label: "exact", SQL: "l.given_name = r.given_name", TF: "given_name"},
			{Label: "nickname", SQL: "nk.a IS NOT NULL"},
			{Label: "short form", SQL: shortFormSQL},
			{Label: "short form with a typo", SQL: shortFormTypoSQL},
			{Label: "swapped with family name", SQL: "l.given_name = r.family_name AND l.family_name = r.given_name"},
			{Label: "swapped with family name, one of them inexact", SQL: swappedLoose},
			{Label: "middle name as given name", SQL: middleAsGiven},
			{Label: "half swapped: one name is the other's other name", SQL: halfSwapped},
			{Label: "jaro-winkler >= 0.92", SQL: jw("given_name", 0.92)},
			{Label: "jaro-winkler >= 0.80", SQL: jw("given_name", 0.80)},
			{Label: "same initial", SQL: "l.given_initial = r.given_initial"},
			{Label: "different"},
		}},
		{Name: "family_name", Levels: []Level{
			nullLevel("family_name"),
			{Label: "exact", SQL: "l.family_name = r.family_name", TF: "family_name"},
			{Label: "previous family name", SQL: "l.family_name = r.previous_family_name OR r.family_name = l.previous_family_name"},
			{Label: "part of a double-barrelled name", SQL: "len(l.family_parts) + len(r.family_parts) > 2 AND len(list_intersect(l.family_parts, r.family_parts)) > 0"},
			// A swap is counted once, by given_name; here it is no evidence.
			{Label: "swapped with given name (counted under given_name)", SQL: swappedLoose, Null: true},
			{Label: "jaro-winkler >= 0.92", SQL: jw("family_name", 0.92)},
			{Label: "jaro-winkler >= 0.80", SQL: jw("family_name", 0.80)},
			{Label: "different"},
		}},
		{Name: "date_of_birth", Levels: []Level{
			nullLevel("dob"),
			{Label: "exact", SQL: "l.dob = r.dob AND NOT ends_with(l.dob_text, '0101')"},
			{Label: "exact, 1 January", SQL: "l.dob = r.dob"},
			{Label: "day and month swapped", SQL: "left(l.dob_text, 4) = left(r.dob_text, 4) AND substr(l.dob_text, 5, 2) = right(r.dob_text, 2) AND right(l.dob_text, 2) = substr(r.dob_text, 5, 2)"},
			{Label: "1 January placeholder", SQL: "left(l.dob_text, 4) = left(r.dob_text, 4) AND (ends_with(l.dob_text, '0101') OR ends_with(r.dob_text, '0101'))"},
			{Label: "one digit or one year off", SQL: "levenshtein(l.dob_text, r.dob_text) = 1 OR (right(l.dob_text, 4) = right(r.dob_text, 4) AND abs(left(l.dob_text, 4)::INTEGER - left(r.dob_text, 4)::INTEGER) = 1)"},
			{Label: "two digits off", SQL: "levenshtein(l.dob_text, r.dob_text) = 2"},
			{Label: "different"},
		}},
		{Name: "sex", Levels: []Level{
			nullLevel("sex"),
			{Label: "same", SQL: "l.sex = r.sex"},
			{Label: "different"},
		}},
		{Name: "residence", Levels: []Level{
			{Label: "missing or pseudo-postcode", SQL: "(l.postcode IS NULL OR r.postcode IS NULL) AND (l.address_key IS NULL OR r.address_key IS NULL)", Null: true},
			{Label: "same postcode and house number", SQL: "l.postcode = r.postcode AND l.address_number = r.address_number"},
			{Label: "same postcode", SQL: "l.postcode = r.postcode"},
			{Label: "same house number, similar address", SQL: "l.address_number = r.address_number AND jaro_winkler_similarity(l.address_key, r.address_key) >= 0.8"},
			{Label: "no postcode to compare, one address within the other", SQL: addressWithin},
			{Label: "same postcode sector", SQL: "l.sector = r.sector"},
			{Label: "same postcode district", SQL: "l.district = r.district"},
			{Label: "different"},
		}},
	}
}

// Guard is a pattern of comparison levels that must never link
// automatically, whatever its weight: the hard negatives an independence
// model cannot see (twins agree on everything but the given name; a parent
// and child of the same name at one address on everything but the date of
// birth). A guarded pair goes to the review queue at most. SQL may use the
// pair's levels as g_<comparison> and {comparison:level label} for a level's
// index, and l and r as in comparisons.
type Guard struct {
	Reason string `json:"reason"`
	SQL    string `json:"sql"`
	// Block: the pattern is never a link and not worth an analyst's time;
	// otherwise a pair that would have linked goes to the review queue.
	Block bool `json:"block,omitempty"`
	// LiftedByMove: the guard does not hold when another link joins records
	// at the pair's two postcodes — the household moved together, so the
	// different address is a move, not a different person.
	LiftedByMove bool `json:"lifted_by_move,omitempty"`
	// TypoSQL: a pattern of levels under which the guard does not hold when
	// one given name is rare in the data and the other is not — a
	// misspelling, not a second person.
	TypoSQL string `json:"typo_sql,omitempty"`
}

// DefaultGuards protect twins and a parent and child of the same name: both
// need household evidence (the same family name and residence), so a typo
// in an unrelated data set's date of birth is not mistaken for a generation.
// A twin's record with the names written the wrong way round compares as a
// half swap with different family names; unswapped, it is the twin pattern,
// and the twin guard holds it too.
// The last protects strangers who share a name and date of birth: with no
// NHS number and different addresses, such a pair reads exactly like one
// person after a move, unless the rest of the household is seen to have
// moved too.
var DefaultGuards = []Guard{
	{Reason: "possible twins: same date of birth and household, different given names",
		SQL: "g_date_of_birth IN ({date_of_birth:exact}, {date_of_birth:exact, 1 January})" +
			" AND (((g_given_name = {given_name:different} OR (g_given_name IN ({given_name:same initial}, {given_name:jaro-winkler >= 0.80}) AND length(l.given_name) > 1 AND length(r.given_name) > 1))" +
			" AND g_family_name IN ({family_name:exact}, {family_name:jaro-winkler >= 0.92}))" +
			" OR (g_given_name = {given_name:half swapped: one name is the other's other name} AND g_family_name = {family_name:different}))" +
			" AND g_residence IN ({residence:same postcode and house number}, {residence:same postcode}, {residence:same house number, similar address}, {residence:no postcode to compare, one address within the other})",
		TypoSQL: "g_given_name = {given_name:jaro-winkler >= 0.80} AND g_sex IS DISTINCT FROM {sex:different}"},
	{Reason: "same household, different dates of birth (siblings may share a given name)",
		SQL: "g_date_of_birth = {date_of_birth:different} AND abs(left(l.dob_text, 4)::INTEGER - left(r.dob_text, 4)::INTEGER) < 12" +
			" AND g_family_name IN ({family_name:exact}, {family_name:jaro-winkler >= 0.92}) AND g_residence IN ({residence:same postcode and house number}, {residence:same postcode}, {residence:same house number, similar address}, {residence:no postcode to compare, one address within the other})"},
	{Reason: "same household, dates of birth a generation apart",
		SQL: "g_date_of_birth = {date_of_birth:different} AND abs(left(l.dob_text, 4)::INTEGER - left(r.dob_text, 4)::INTEGER) >= 12" +
			" AND g_family_name IN ({family_name:exact}, {family_name:jaro-winkler >= 0.92}) AND g_residence IN ({residence:same postcode and house number}, {residence:same postcode}, {residence:same house number, similar address}, {residence:no postcode to compare, one address within the other})",
		Block: true},
	{Reason: "same names and date of birth at another address, no NHS number to tell them apart: possibly a namesake elsewhere",
		SQL: "g_given_name = {given_name:exact} AND g_family_name = {family_name:exact} AND g_date_of_birth = {date_of_birth:exact}" +
			" AND g_residence IN ({residence:same postcode sector}, {residence:same postcode district}, {residence:different})" +
			" AND g_nhs_number = {nhs_number:missing or disputed}" +
			" AND (l.middle_names IS NULL OR r.middle_names IS NULL OR l.middle_names <> r.middle_names)",
		LiftedByMove: true},
}

// ResolveGuard replaces {comparison:label} in a guard's SQL with the level's
// index.
func ResolveGuard(g Guard, comps []Comparison) (string, error) {
	return ResolveLevels(g.Reason, g.SQL, comps)
}

// ResolveLevels replaces {comparison:label} in sql with the level's index;
// what names the SQL in errors.
func ResolveLevels(what, sql string, comps []Comparison) (string, error) {
	out := sql
	for {
		i := strings.IndexByte(out, '{')
		if i < 0 {
			return out, nil
		}
		j := strings.IndexByte(out[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("%s: unclosed {", what)
		}
		name, label, _ := strings.Cut(out[i+1:i+j], ":")
		_, idx, err := LevelOf(comps, name, label)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		out = out[:i] + fmt.Sprint(idx) + out[i+j+1:]
	}
}

// comparisonNamed is the comparison of that name among comps.
func comparisonNamed(comps []Comparison, name string) (Comparison, error) {
	for _, c := range comps {
		if c.Name == name {
			return c, nil
		}
	}
	return Comparison{}, fmt.Errorf("no comparison %s", name)
}

// LevelOf finds a comparison by name and one of its levels by label: the
// comparison's position among comps and the level's among its levels. A
// level is never named by its position.
func LevelOf(comps []Comparison, name, label string) (comparison, level int, err error) {
	for c, cmp := range comps {
		if cmp.Name != name {
			continue
		}
		for l, lv := range cmp.Levels {
			if lv.Label == label {
				return c, l, nil
			}
		}
		return 0, 0, fmt.Errorf("comparison %s has no level %q", name, label)
	}
	return 0, 0, fmt.Errorf("no comparison %s", name)
}

// ExtraComparison builds the comparison of a configured extra field.
func ExtraComparison(field, method string) Comparison {
	col := "extra_" + field
	c := Comparison{Name: field, Levels: []Level{nullLevel(col), {Label: "exact", SQL: fmt.Sprintf("l.%s = r.%s", col, col), TF: col}}}
	switch method {
	case "jaro_winkler":
		for _, t := range []float64{0.92, 0.80} {
			c.Levels = append(c.Levels, Level{Label: fmt.Sprintf("jaro-winkler >= %.2f", t),
				SQL: fmt.Sprintf("jaro_winkler_similarity(l.%s, r.%s) >= %g", col, col, t)})
		}
	case "levenshtein":
		for _, d := range []int{1, 2} {
			c.Levels = append(c.Levels, Level{Label: fmt.Sprintf("levenshtein <= %d", d),
				SQL: fmt.Sprintf("levenshtein(l.%s, r.%s) <= %d", col, col, d)})
		}
	}
	c.Levels = append(c.Levels, Level{Label: "different"})
	return c
}

// PairJoins is the FROM clause every comparison is evaluated over: a table
// of pairs (rid_l, rid_r) aliased p, the two records l and r, and the joins
// that give the pair facts above.
func PairJoins(pairs string) string { return pairJoins(pairs, "prep") }

// pairJoins is PairJoins with the left records from table left.
func pairJoins(pairs, left string) string {
	return pairs + ` p JOIN ` + left + ` l ON l.rid = p.rid_l JOIN prep r ON r.rid = p.rid_r ` + nameListJoins + `
		LEFT JOIN det_links dl ON dl.rid_l = p.rid_l AND dl.rid_r = p.rid_r`
}

// nameListJoins join a pair's records l and r to the name lists the given
// name's levels read: nk (nicknames) and sf (short forms).
const nameListJoins = `LEFT JOIN nicknames nk ON nk.a = l.given_name AND nk.b = r.given_name
		LEFT JOIN short_forms sf ON sf.a = l.given_name AND sf.b = r.given_name`

// BlockedComparisons names the comparisons a blocking rule's keys use: in a
// training session on that rule's pairs they agree by construction and
// cannot be estimated.
func BlockedComparisons(b BlockingRule) map[string]bool {
	out := map[string]bool{}
	keys := strings.Join(append(append([]string(nil), b.Left...), b.Right...), " ")
	for frag, cmp := range map[string]string{"dob": "date_of_birth", "given": "given_name", "family": "family_name",
		"postcode": "residence", "sector": "residence", "district": "residence", "address": "residence", "nhs": "nhs_number", "sex": "sex"} {
		if strings.Contains(keys, frag) {
			out[cmp] = true
		}
	}
	for _, k := range strings.Fields(strings.NewReplacer("(", " ", ")", " ", ",", " ").Replace(keys)) {
		if strings.HasPrefix(k, "extra_") {
			out[strings.TrimPrefix(k, "extra_")] = true
		}
	}
	return out
}

// NHSComparison compares NHS numbers. A shared number is evidence only for
// pairs the deterministic stage accepted (table det_links); for any other
// pair that shares one, the number is disputed and counts for nothing, so a
// number copied onto the wrong record cannot merge two people. So is the
// number of a record the NHS-number stage marked nhs_disputed. Two different
// valid numbers are strong evidence against.
func NHSComparison() Comparison {
	return Comparison{Name: "nhs_number", Levels: []Level{
		{Label: "missing or disputed", SQL: "l.nhs_number IS NULL OR r.nhs_number IS NULL OR l.nhs_disputed OR r.nhs_disputed OR (l.nhs_number = r.nhs_number AND dl.rid_l IS NULL)", Null: true},
		{Label: "same, accepted by the NHS stage", SQL: "l.nhs_number = r.nhs_number"},
		{Label: "different"},
	}}
}
