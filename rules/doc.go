// Package rules owns the NHS and demographic rules carematch applies to every
// record: NHS number normalisation and modulus-11 validation, postcode
// normalisation and validation (with NHS pseudo-postcodes), dates of birth in a
// source's configured format, sex codes, yes/no flags and name and address
// standardisation.
//
// Everything here is pure Go over strings, imports only the standard library
// and never touches a database, so that the same definition of a rule serves
// loading, linkage and the command line. Functions return reasons, not values:
// a reason is safe to log, the value it is about is not.
package rules
