package portal

import (
	"fmt"
	"strings"
	"time"
)

type fhirCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type fhirExtension struct {
	URL                  string `json:"url"`
	ValueCodeableConcept struct {
		Coding []fhirCoding `json:"coding"`
	} `json:"valueCodeableConcept"`
}

type fhirIdentifier struct {
	Extension []fhirExtension `json:"extension,omitempty"`
	System    string          `json:"system"`
	Value     string          `json:"value"`
}

type fhirPatient struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Profile []string `json:"profile"`
	} `json:"meta"`
	Identifier []fhirIdentifier `json:"identifier"`
	Name       []struct {
		Use    string   `json:"use"`
		Family string   `json:"family,omitempty"`
		Given  []string `json:"given,omitempty"`
	} `json:"name,omitempty"`
	Gender          string `json:"gender,omitempty"`
	BirthDate       string `json:"birthDate,omitempty"`
	DeceasedBoolean *bool  `json:"deceasedBoolean,omitempty"`
	DeceasedDate    string `json:"deceasedDateTime,omitempty"`
	Address         []struct {
		Use        string   `json:"use"`
		Text       string   `json:"text,omitempty"`
		Line       []string `json:"line,omitempty"`
		PostalCode string   `json:"postalCode,omitempty"`
	} `json:"address,omitempty"`
	Link []fhirLink `json:"link,omitempty"`
}

type fhirLink struct {
	Other struct {
		Identifier fhirIdentifier `json:"identifier"`
	} `json:"other"`
	Type string `json:"type"`
}

// patient is the person as a FHIR R4 Patient (UK Core).
func (r *patientRow) patient() fhirPatient {
	p := fhirPatient{ResourceType: "Patient", ID: r.id}
	p.Meta.Profile = []string{profileUKCore}
	if r.nhs.Valid {
		ident := fhirIdentifier{System: SystemNHSNumber, Value: r.nhs.String}
		ext := fhirExtension{URL: extVerification}
		code := fhirCoding{System: csVerification, Code: "02", Display: "Number present but not traced"}
		if r.verified {
			code = fhirCoding{System: csVerification, Code: "01", Display: "Number present and verified"}
		}
		ext.ValueCodeableConcept.Coding = []fhirCoding{code}
		ident.Extension = []fhirExtension{ext}
		p.Identifier = append(p.Identifier, ident)
	}
	p.Identifier = append(p.Identifier, fhirIdentifier{System: SystemMasterID, Value: r.id})
	for _, l := range r.locals {
		k, _ := l.(map[string]any) // a {source_id, local_id} struct
		p.Identifier = append(p.Identifier, fhirIdentifier{System: fmt.Sprintf(SystemLocalIDFmt, k["source_id"]), Value: fmt.Sprint(k["local_id"])})
	}
	if r.given.Valid || r.family.Valid {
		n := struct {
			Use    string   `json:"use"`
			Family string   `json:"family,omitempty"`
			Given  []string `json:"given,omitempty"`
		}{Use: "official", Family: r.family.String}
		if r.given.Valid {
			n.Given = []string{r.given.String}
		}
		p.Name = append(p.Name, n)
	}
	switch r.sex.String {
	case "male", "female", "other", "unknown":
		p.Gender = r.sex.String
	}
	if r.dob.Valid {
		p.BirthDate = r.dob.Time.Format(time.DateOnly)
	}
	if r.dod.Valid {
		p.DeceasedDate = r.dod.Time.Format(time.DateOnly)
	} else if r.deceased {
		t := true
		p.DeceasedBoolean = &t
	}
	if r.address.Valid || r.postcode.Valid {
		a := struct {
			Use        string   `json:"use"`
			Text       string   `json:"text,omitempty"`
			Line       []string `json:"line,omitempty"`
			PostalCode string   `json:"postalCode,omitempty"`
		}{Use: "home", Text: r.address.String, PostalCode: r.postcode.String}
		if r.address.Valid {
			a.Line = strings.Split(r.address.String, ", ")
		}
		p.Address = append(p.Address, a)
	}
	for _, x := range r.replaced {
		var l fhirLink
		l.Type = "replaces"
		l.Other.Identifier = fhirIdentifier{System: SystemMasterID, Value: fmt.Sprint(x)}
		p.Link = append(p.Link, l)
	}
	return p
}

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
)
