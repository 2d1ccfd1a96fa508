package load

import (
	"context"
	"fmt"
)

// CustomFieldIDs are the ids of organization org's live custom fields in
// the table definitions (custom_fields, as its last run read them) whose
// name or id is name, for the privacy options that name a custom field.
// None is an error that says how to make it known: a rule that cannot be
// resolved must stop the run, not let the value through in clear.
func (s *Store) CustomFieldIDs(ctx context.Context, definitions, org, name string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tables, err := s.tableNames(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	if tables[definitions] {
		rows, err := s.conn.QueryContext(ctx, fmt.Sprintf(`SELECT DISTINCT id FROM %s WHERE _deleted_at IS NULL AND %s
			AND (name = $1 OR id = $1) ORDER BY id`, qualified(s.schema, definitions), orgIs("", org)), name)
		if err != nil {
			return nil, fmt.Errorf("look up the custom field %q: %w", name, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no custom field is named %q (or has that id) in %s.%s for organization %s: sync %s first "+
			"(in this job it runs before the reports that name custom fields), or name the field by its id (custom.cf_...)",
			name, s.schema, definitions, org, definitions)
	}
	return ids, nil
}
