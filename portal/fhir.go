package portal

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/selondon/carematch/store"
)

// patientCols are the columns of patientsQuery in one batch.
type patientCols struct {
	id, nhs, given, family, sex, address, postcode, lastUpdated, printsID store.StringColumn
	verified, deceased, restricted                                        store.BoolColumn
	dob, dod                                                              store.DateColumn
	locals, replaced                                                      store.ListOfStrings
}

// columnsOf finds patientsQuery's columns in a batch.
func columnsOf(b store.Batch) (patientCols, error) {
	var c patientCols
	var errs []error
	str, list := keep[store.StringColumn](&errs), keep[store.ListOfStrings](&errs)
	boolean, date := keep[store.BoolColumn](&errs), keep[store.DateColumn](&errs)
	c.id, c.nhs, c.verified, c.given = str(b.Strings(0)), str(b.Strings(1)), boolean(b.Bools(2)), str(b.Strings(3))
	c.family, c.dob, c.sex, c.address = str(b.Strings(4)), date(b.Dates(5)), str(b.Strings(6)), str(b.Strings(7))
	c.postcode, c.deceased, c.dod = str(b.Strings(8)), boolean(b.Bools(9)), date(b.Dates(10))
	c.locals, c.replaced = list(b.Lists(11)), list(b.Lists(12))
	c.restricted, c.lastUpdated, c.printsID = boolean(b.Bools(13)), str(b.Strings(14)), str(b.Strings(15))
	return c, errors.Join(errs...)
}

// keep returns a column and collects its error, if any, in errs.
func keep[T any](errs *[]error) func(T, error) T {
	return func(col T, err error) T {
		*errs = append(*errs, err)
		return col
	}
}

// value is a nullable string column's value in row i, and whether it has one.
func value(col store.StringColumn, i int) (string, bool) {
	if col.IsNull(i) {
		return "", false
	}
	return col.Value(i), true
}

// appendPatient appends the person as a FHIR R4 Patient (UK Core), one line
// of JSON and its newline. The JSON is written by hand, field by field in a
// fixed order, rather than by encoding/json over structs: at a million
// persons reflection and the structs' allocations were most of the
// portal's time (see docs/BENCHMARKS.md). Absent values are left out, as
// FHIR requires; strings are escaped as encoding/json escapes them.
func (c *patientCols) appendPatient(b []byte, i int) []byte {
	id := c.id.Value(i)
	nhs, hasNHS := value(c.nhs, i)
	given, hasGiven := value(c.given, i)
	family, hasFamily := value(c.family, i)
	sex, _ := value(c.sex, i)
	address, hasAddress := value(c.address, i)
	postcode, hasPostcode := value(c.postcode, i)
	lastUpdated := c.lastUpdated.Value(i)
	b = append(b, `{"resourceType":"Patient","id":`...)
	b = appendJSONString(b, id)
	b = appendMeta(b, lastUpdated, !c.restricted.IsNull(i) && c.restricted.Value(i))
	b = append(b, `,"identifier":[`...)
	if hasNHS {
		code, display := "02", "Number present but not traced"
		if !c.verified.IsNull(i) && c.verified.Value(i) {
			code, display = "01", "Number present and verified"
		}
		b = append(b, `{"extension":[{"url":"`+extVerification+`","valueCodeableConcept":{"coding":[{"system":"`+csVerification+`","code":"`...)
		b = append(b, code...)
		b = append(b, `","display":"`...)
		b = append(b, display...)
		b = append(b, `"}]}}],"system":"`+SystemNHSNumber+`","value":`...)
		b = appendJSONString(b, nhs)
		b = append(b, "},"...)
	}
	b = appendIdentifier(b, SystemMasterID, id)
	c.locals.Each(i, func(k string) {
		source, local, _ := strings.Cut(k, localSep)
		b = append(b, ',')
		b = appendIdentifier(b, fmt.Sprintf(SystemLocalIDFmt, source), local)
	})
	b = append(b, `],"active":true`...)
	if hasGiven || hasFamily {
		b = append(b, `,"name":[{"use":"official"`...)
		if family != "" {
			b = append(b, `,"family":`...)
			b = appendJSONString(b, family)
		}
		if hasGiven {
			b = append(b, `,"given":[`...)
			b = appendJSONString(b, given)
			b = append(b, ']')
		}
		b = append(b, "}]"...)
	}
	// A person whose records disagree on sex, or say none, is "unknown".
	switch sex {
	case "male", "female", "other":
	default:
		sex = "unknown"
	}
	b = append(b, `,"gender":"`...)
	b = append(b, sex...)
	b = append(b, '"')
	if !c.dob.IsNull(i) {
		b = append(b, `,"birthDate":"`...)
		b = c.dob.Time(i).AppendFormat(b, time.DateOnly)
		b = append(b, '"')
	}
	if !c.dod.IsNull(i) {
		b = append(b, `,"deceasedDateTime":"`...)
		b = c.dod.Time(i).AppendFormat(b, time.DateOnly)
		b = append(b, '"')
	} else if !c.deceased.IsNull(i) && c.deceased.Value(i) {
		b = append(b, `,"deceasedBoolean":true`...)
	}
	if hasAddress || hasPostcode {
		b = append(b, `,"address":[{"use":"home"`...)
		if address != "" {
			b = append(b, `,"text":`...)
			b = appendJSONString(b, address)
		}
		if hasAddress {
			lines, city := addressParts(address)
			b = append(b, `,"line":[`...)
			for i, line := range lines {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, line)
			}
			b = append(b, ']')
			if city != "" {
				b = append(b, `,"city":`...)
				b = appendJSONString(b, city)
			}
		}
		if postcode != "" {
			b = append(b, `,"postalCode":`...)
			b = appendJSONString(b, postcode)
		}
		b = append(b, "}]"...)
	}
	if c.replaced.Len(i) > 0 {
		b = append(b, `,"link":[`...)
		first := true
		c.replaced.Each(i, func(id string) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendLink(b, id, "replaces")
		})
		b = append(b, ']')
	}
	b = append(b, "}\n"...)
	// Each ID this person replaced is a Patient of its own, inactive, that
	// says which one replaced it: a portal holding the old ID follows it.
	c.replaced.Each(i, func(old string) {
		b = append(b, `{"resourceType":"Patient","id":`...)
		b = appendJSONString(b, old)
		b = appendMeta(b, lastUpdated, false)
		b = append(b, `,"identifier":[`...)
		b = appendIdentifier(b, SystemMasterID, old)
		b = append(b, `],"active":false,"link":[`...)
		b = appendLink(b, id, "replaced-by")
		b = append(b, "]}\n"...)
	})
	return b
}

// appendMeta appends a Patient's meta: when its content last changed, the
// UK Core profile and, for a restricted person, the confidentiality label
// R (PDS's convention for an S-flagged record), so that "no address shared"
// is told apart from "no address known".
func appendMeta(b []byte, lastUpdated string, restricted bool) []byte {
	b = append(b, `,"meta":{"lastUpdated":"`...)
	b = append(b, lastUpdated...)
	b = append(b, `","profile":["`+profileUKCore+`"]`...)
	if restricted {
		b = append(b, `,"security":[{"system":"`+csConfidentiality+`","code":"R","display":"restricted"}]`...)
	}
	return append(b, '}')
}

// appendLink appends a Patient.link to master ID id of the given type
// (replaces, replaced-by): a reference to its Patient, and its identifier.
func appendLink(b []byte, id, typ string) []byte {
	b = append(b, `{"other":{"reference":`...)
	b = appendJSONString(b, "Patient/"+id)
	b = append(b, `,"identifier":`...)
	b = appendIdentifier(b, SystemMasterID, id)
	b = append(b, `},"type":"`...)
	b = append(b, typ...)
	return append(b, `"}`...)
}

// addressParts splits the golden record's address ("12 Lee High Road,
// Lewisham, London": the source's lines joined) into its lines and the
// town: the last part, when there are two or more and it holds no digit (a
// house number or a flat is never the town).
func addressParts(address string) (lines []string, city string) {
	lines = strings.Split(address, ", ")
	if last := lines[len(lines)-1]; len(lines) > 1 && !strings.ContainsAny(last, "0123456789") {
		return lines[:len(lines)-1], last
	}
	return lines, ""
}

// appendIdentifier appends a FHIR Identifier with a system and a value.
func appendIdentifier(b []byte, system, value string) []byte {
	b = append(b, `{"system":`...)
	b = appendJSONString(b, system)
	b = append(b, `,"value":`...)
	b = appendJSONString(b, value)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it (HTML-safe: <, > and & escaped; invalid UTF-8 as U+FFFD; U+2028
// and U+2029 escaped). FuzzAppendJSONString holds it to that.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// localSep separates a record's source ID from its local ID in the list the
// patients query reads: a control character, which no configured source ID
// holds.
const localSep = "\x1f"

// The identifier systems of a Patient: the NHS number, the master ID, and
// each source's local ID (a format: the source's ID fills it in).
const (
	SystemNHSNumber  = "https://fhir.nhs.uk/Id/nhs-number"
	SystemMasterID   = "https://carematch.selondon.nhs.uk/Id/master-id"
	SystemLocalIDFmt = "https://carematch.selondon.nhs.uk/Id/source/%s"
)

// UK Core: the profile every Patient claims, and the extension and code
// system of the NHS number's verification status.
const (
	profileUKCore   = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
	extVerification = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
	csVerification  = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
	// csConfidentiality is HL7's confidentiality code system (R: restricted).
	csConfidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
)
