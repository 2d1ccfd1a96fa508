package schema

// DeleteRule declares which events of Close's event log soft-delete a
// table's rows (Table.Deletes). The store applies the rules of every table
// after an event log run; it knows no object type by name.
type DeleteRule struct {
	// ObjectType is matched with LIKE against the events' object_type
	// ("lead", "task.%", "%" for any: Close ids are unique across types).
	ObjectType string
	// MergeSource, when set, names the key of a "merged" event's meta that
	// holds the id of the object merged away (merge_source_lead_id): that
	// object counts as deleted too, but its dependants moved to the merge
	// destination and so are not cascaded (see Owner).
	MergeSource string
	// Owner, when set, is the rule of the object that owns these rows: rows
	// whose OwnerColumn holds the id of an owner deleted outright (not
	// merged away) are deleted with it, as Close deletes a lead's contacts,
	// opportunities, tasks and activities with the lead.
	Owner *DeleteRule
	// OwnerColumn is the column holding the owner's id (lead_id).
	OwnerColumn string
}
