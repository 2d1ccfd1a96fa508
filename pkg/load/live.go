package load

import (
	"context"
	"fmt"

	"github.com/closesync/closesync/pkg/schema"
)

// LiveSchema is the schema of the live views of data schema data: "live"
// for the default "close", <data>_live for any other, so that two data
// schemas in one file keep theirs apart.
func LiveSchema(data string) string {
	if data == "close" {
		return "live"
	}
	return data + "_live"
}

// ensureLive creates or replaces, for a table with soft deletes
// (schema.Table.Deletes), the view of its live rows in the live schema
// under the same name, and those of its child views (whose _deleted_at is
// their parent's). A table of that name there (not closesync's) is left
// alone with a warning.
func (s *Store) ensureLive(ctx context.Context, t schema.Table) error {
	if t.Deletes == nil {
		return nil
	}
	if err := s.liveView(ctx, t.Name, t.Description, tableDocs(t)); err != nil {
		return err
	}
	for _, ch := range t.Children {
		if err := s.liveView(ctx, ch.Table.Name, ch.Table.Description, tableDocs(ch.Table)); err != nil {
			return err
		}
	}
	return nil
}

// liveView makes live.<name> over close.<name>, with its comments.
func (s *Store) liveView(ctx context.Context, name, doc string, columns map[string]string) error {
	live := LiveSchema(s.schema)
	c, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	if c.table(live, name) != nil {
		s.log.Sugar().Warnw("live view not created: a table has its name", "view", live+"."+name)
		return nil
	}
	if !s.liveSchema {
		if _, err := s.conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(live)); err != nil {
			return fmt.Errorf("create schema %s: %w", live, err)
		}
		s.liveSchema = true
	}
	_, err = s.ensureView(ctx, viewDef{schema: live, name: name,
		sql: fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT * FROM %s WHERE %s IS NULL",
			qualified(live, name), qualified(s.schema, name), quoteIdent(schema.ColDeleted)),
		doc:     fmt.Sprintf("Live rows of %s.%s: those not deleted in Close (_deleted_at IS NULL). %s", s.schema, name, doc),
		columns: columns})
	return err
}
