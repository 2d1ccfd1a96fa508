// Package rawjson edits a record's JSON as Close sent it, keeping every
// byte it does not change (key order, number literals, string escapes):
// DropNulls for filter_nulls, Rules.Apply for the privacy options exclude
// and hash. Malformed JSON is an error naming the byte offset, never a
// half-edited record.
package rawjson
