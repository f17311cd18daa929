// Package portal is the one writer of a run's portal/ folder: what the
// shared care record portal may read, with the privacy rules applied.
//
//   - privacy.go (Build): who and what may be shared — opted-out persons
//     left out, social-care records without consent left out, restricted
//     persons without address or postcode. It reads master_index, xref,
//     prep and optouts and writes the tables portal_persons and portal_xref
//     (staged: in memory, for this night only); nothing else is read when
//     the files are written.
//   - fhir.go: a person as a FHIR R4 Patient (UK Core profile, the NHS
//     number with its verification status, each source's local identifier,
//     `replaces` links for merged master IDs).
//   - write.go (Write): master_index and xref as Parquet and CSV, and
//     patients.ndjson (encoded on every CPU, written in master_id order,
//     byte-identical whatever the CPU count). It reads portal_persons,
//     portal_xref and, for the links, history.
//
// TestPortalPrivacy (cmd/carematch) reads the files back against the raw
// extracts.
package portal
