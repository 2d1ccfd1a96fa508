package schema

// Type is the logical type of a column: what the value is, not how a store
// spells it (pkg/load maps each to a DuckDB type). The zero Type is invalid.
type Type int

// Column types.
const (
	// Text is a string.
	Text Type = iota + 1
	// BigInt is a 64-bit integer.
	BigInt
	// Double is a 64-bit float.
	Double
	// Bool is true or false.
	Bool
	// Timestamp is an instant (Close's date-times, naive ones being UTC).
	Timestamp
	// Date is a calendar day (Close sends both "2021-07-16" and midnight
	// date-times).
	Date
	// JSON is a JSON value kept as JSON (objects, nested arrays).
	JSON
	// Integer is a 32-bit integer (positions in an array).
	Integer
	// TextList is a list of strings.
	TextList
)

var typeNames = map[Type]string{
	Text: "text", BigInt: "bigint", Double: "double", Bool: "bool", Timestamp: "timestamp",
	Date: "date", JSON: "json", Integer: "integer", TextList: "text[]",
}

// Valid reports whether t is one of the declared types.
func (t Type) Valid() bool {
	_, ok := typeNames[t]
	return ok
}

// String is the type's logical name ("text", "timestamp", "text[]" ...).
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "invalid"
}
