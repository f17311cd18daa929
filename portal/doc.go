// Package portal is the one writer of a run's portal/ folder: what the
// shared care record portal may read, with the privacy rules applied.
//
//   - privacy.go (Build): who and what may be shared — opted-out persons
//     left out, social-care records without consent left out, restricted
//     persons without address or postcode. It reads master_index, xref,
//     prep and optout_persons and writes the tables portal_persons and portal_xref
//     (staged: in memory, for this night only); nothing else is read when
//     the files are written.
//     It also keeps portal_prints (state): each shared person's content
//     fingerprinted with the time it last changed, for meta.lastUpdated.
//   - fhir.go: a person as a FHIR R4 Patient (UK Core profile; meta with
//     lastUpdated and, for a restricted person, the confidentiality label
//     R; the NHS number with its verification status; each source's local
//     identifier; active; gender unknown when the records do not say or
//     disagree; address lines, city and postalCode; `replaces` links), and
//     after it an inactive Patient for each master ID it replaced, linked
//     `replaced-by` to it.
//   - write.go (Write): master_index and xref as Parquet (the schema
//     version and run in their metadata) and CSV (NHS numbers quoted),
//     patients.ndjson (encoded on every CPU, written in master_id order,
//     byte-identical whatever the CPU count, written behind: to disk and
//     out of the page cache as it grows, store.WriteBehind) and
//     manifest.json (a FHIR
//     Bulk Data export manifest). It reads portal_persons, portal_xref and
//     portal_prints.
//
// The Patients are checked against the FHIR R4 JSON schema by an
// independent validator (testdata/fhir-validator, run by cmd/carematch's
// TestFHIRPortal).
//
// TestPortalPrivacy (cmd/carematch) reads the files back against the raw
// extracts.
package portal
