"""Community health: the FHIR store (fhir), the resident's record (records), clinic booking."""
