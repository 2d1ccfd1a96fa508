package schema

import "encoding/json"

// Record is one object as the API returned it, on its way from the
// extractor to the store.
type Record struct {
	// Raw is the object's JSON, stored verbatim in _raw.
	Raw json.RawMessage
	// Custom is a JSON object of the record's custom field values (field id
	// -> value), for tables with a custom column; nil otherwise.
	Custom json.RawMessage
	// Tag is the tag of the source the record was listed under; it fills
	// the table's FromTag column, if it has one.
	Tag string
}
