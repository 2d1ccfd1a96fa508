package main

import (
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// TestUserNames: users has full_name, and a user custom field's column in
// a _custom view is followed by the user's name.
func TestUserNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 3, Scale: 15})
	h.sync()
	got := h.counts(
		`SELECT count(*) FROM close.users`,
		`SELECT count(*) FROM close.users WHERE full_name IS DISTINCT FROM trim(first_name || ' ' || last_name)`,
		`SELECT count(*) FROM close.leads_custom WHERE "Account Owner" IS NOT NULL`,
		`SELECT count(*) FROM close.leads_custom l JOIN close.users u ON u.id = l."Account Owner"
			WHERE l."Account Owner (name)" = u.full_name`,
		`SELECT count(*) FROM close.leads_custom WHERE "Account Owner" IS NULL AND "Account Owner (name)" IS NOT NULL`,
		`SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'close' AND table_name = 'leads_custom' AND column_name = 'Account Owner (name)'
			AND comment LIKE 'Full name of the user%'`,
	)
	users, wrong, owned, named, stray, commented := got[0], got[1], got[2], got[3], got[4], got[5]
	if users == 0 || wrong != 0 {
		t.Errorf("users: %d rows, %d whose full_name is not first and last name", users, wrong)
	}
	if owned == 0 || named != owned || stray != 0 {
		t.Errorf("leads_custom: %d with an Account Owner, %d of them with its user's name, %d names without an owner", owned, named, stray)
	}
	if commented != 1 {
		t.Error(`leads_custom."Account Owner (name)" has no comment`)
	}
}
