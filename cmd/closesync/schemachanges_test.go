package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/notify"
)

// TestSchemaChangesAreRecorded: a first sync of custom_fields records no
// change (it is the baseline); after a lead field is renamed, a contact
// field retyped to several values, an opportunity field deleted and a
// lead field added in Close, the next sync records exactly those four in
// sync.schema_changes with its run, and a sync with nothing changed
// records nothing more.
func TestSchemaChangesAreRecorded(t *testing.T) {
	t.Parallel()
	// The schema.changed notifications, sent whatever notify.on says.
	hook, messages := schemaHook(t)
	h := newHarness(t, closefake.Options{Seed: 87, Scale: 30}, "leads", "contacts", "opportunities", "custom_fields")
	h.keepReadsOpen()
	if err := os.WriteFile(h.config, []byte(mustRead(t, h.config)+"notify: {url: "+hook.URL+", on: [failure]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.sync()
	if n := h.count(`SELECT count(*) FROM sync.schema_changes`); n != 0 {
		t.Fatalf("the first sync recorded %d schema changes: it is the baseline", n)
	}
	if n := h.count(`SELECT count(*) FROM sync.custom_fields_seen`); n != int64(h.fake.Count("custom_field")) {
		t.Fatalf("sync.custom_fields_seen holds %d fields, the fake %d", n, h.fake.Count("custom_field"))
	}

	f := h.fake
	field := func(objectType, typ string) map[string]any {
		for _, cf := range f.Objects("custom_field") {
			if cf["object_type"] == objectType && cf["type"] == typ && cf["accepts_multiple_values"] == false {
				return cf
			}
		}
		t.Fatalf("the fake has no single-value %s field of %s", typ, objectType)
		return nil
	}
	renamed, retyped, deleted := field("lead", "textarea"), field("contact", "text"), field("opportunity", "number")
	if err := f.Update("custom_field", renamed["id"].(string), map[string]any{"name": "Renamed Lead Field"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Update("custom_field", retyped["id"].(string), map[string]any{"accepts_multiple_values": true}); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete("custom_field", deleted["id"].(string)); err != nil {
		t.Fatal(err)
	}
	added, err := f.Create("custom_field", map[string]any{"name": "Brand New", "type": "date", "object_type": "lead",
		"accepts_multiple_values": false, "organization_id": f.OrganizationID()})
	if err != nil {
		t.Fatal(err)
	}
	h.sync()
	run := h.count(`SELECT max(run_id) FROM sync.runs WHERE report = 'custom_fields'`)
	var got []string
	for _, row := range h.query(`SELECT change, field_id, name, coalesce(previous, ''), coalesce(current, ''), object_type, views,
			run_id, organization_id FROM sync.schema_changes ORDER BY change, field_id`) {
		if row[7].(int64) != run || row[8] != f.OrganizationID() {
			t.Errorf("change %v: run %v of %v, want run %d of %s", row[:3], row[7], row[8], run, f.OrganizationID())
		}
		got = append(got, fmt.Sprintf("%s %s %s [%s -> %s] %s: %s", row[:7]...))
	}
	want := []string{
		fmt.Sprintf("field_added %s Brand New [ -> ] lead: leads_custom", added),
		fmt.Sprintf("field_deleted %s %s [ -> ] opportunity: opportunities_custom", deleted["id"], deleted["name"]),
		fmt.Sprintf("field_renamed %s Renamed Lead Field [%s -> Renamed Lead Field] lead: leads_custom", renamed["id"], renamed["name"]),
		fmt.Sprintf("field_retyped %s %s [text -> text[]] contact: contacts_custom", retyped["id"], retyped["name"]),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sync.schema_changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ms := messages(); len(ms) != 1 || len(ms[0].SchemaChanges) != len(want) || ms[0].Run.Report != "custom_fields" || ms[0].Run.RunID != run {
		t.Errorf("schema.changed messages: %+v, want one of run %d with the %d changes", ms, run, len(want))
	} else {
		var sent []string
		for _, c := range ms[0].SchemaChanges {
			sent = append(sent, fmt.Sprintf("%s %s %s [%s -> %s] %s: %s", c.Change, c.FieldID, c.Name, c.Previous, c.Current, c.ObjectType,
				strings.Join(c.Views, ", ")))
		}
		if strings.Join(sent, "\n") != strings.Join(want, "\n") {
			t.Errorf("schema.changed sent:\n%s\nwant:\n%s", strings.Join(sent, "\n"), strings.Join(want, "\n"))
		}
	}
	// The views followed (on_schema_change's default, evolve).
	if n := h.count(`SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'close' AND table_name = 'leads_custom' AND column_name IN ('Renamed Lead Field', 'Brand New')`); n != 2 {
		t.Errorf("leads_custom has %d of the renamed and the added field's columns, want 2", n)
	}

	h.sync()
	if n := h.count(`SELECT count(*) FROM sync.schema_changes`); n != int64(len(want)) {
		t.Errorf("a sync with no change in Close: %d schema changes, want still %d", n, len(want))
	}
	if ms := messages(); len(ms) != 1 {
		t.Errorf("a sync with no change in Close sent schema.changed again: %d messages", len(ms))
	}
}

// TestOnSchemaChangeFreezeAndFail: with on_schema_change freeze, a field
// renamed in Close is recorded once however many syncs see it and the
// _custom view keeps the old name; with fail, the custom_fields run fails
// too (exit 1, a failed run row saying why), its rows still loaded. Back
// on evolve, the view follows and the change is not recorded again.
func TestOnSchemaChangeFreezeAndFail(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"freeze", "fail"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var schemaMessages atomic.Int64
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var m notify.Message
				if err := json.NewDecoder(r.Body).Decode(&m); err == nil && m.Event == notify.EventSchemaChanged {
					schemaMessages.Add(1)
				}
			}))
			defer hook.Close()
			h := newHarness(t, closefake.Options{Seed: 89, Scale: 20}, "leads", "custom_fields")
			h.keepReadsOpen()
			if err := os.WriteFile(h.config, []byte(mustRead(t, h.config)+"notify: {url: "+hook.URL+"}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			setMode := func(mode string) {
				t.Helper()
				cfg := mustRead(t, h.config)
				if i := strings.Index(cfg, "    on_schema_change:"); i >= 0 {
					cfg = cfg[:i] + cfg[i+strings.Index(cfg[i:], "\n")+1:]
				}
				cfg = strings.Replace(cfg, `    schedule: "@hourly"`+"\n", `    schedule: "@hourly"`+"\n    on_schema_change: "+mode+"\n", 1)
				if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			setMode(mode)
			h.sync()
			var id, old string
			for _, cf := range h.fake.Objects("custom_field") {
				if cf["object_type"] == "lead" && cf["type"] == "number" {
					id, old = cf["id"].(string), cf["name"].(string)
					break
				}
			}
			if err := h.fake.Update("custom_field", id, map[string]any{"name": "Frozen Out"}); err != nil {
				t.Fatal(err)
			}
			columns := func() string {
				return fmt.Sprint(h.count(`SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'close' AND table_name = 'leads_custom' AND column_name = ?`, old),
					h.count(`SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'close' AND table_name = 'leads_custom' AND column_name = 'Frozen Out'`))
			}
			for i := range 2 {
				code, out, errOut := h.run("sync", "--config", h.config)
				switch {
				case mode == "freeze" && code != 0:
					t.Fatalf("sync %d: exit %d\n%s%s", i, code, out, errOut)
				case mode == "fail" && (code != exitFailed || !strings.Contains(out+errOut, "on_schema_change: fail: 1 custom field change(s) in Close (field_renamed Frozen Out (was "+old+"))")):
					t.Fatalf("sync %d: exit %d, want %d and the change named\n%s%s", i, code, exitFailed, out, errOut)
				}
				if got := columns(); got != "1 0" {
					t.Errorf("sync %d: leads_custom has the old and the new name's columns %s times, want 1 0 (frozen)", i, got)
				}
				if n := h.count(`SELECT count(*) FROM sync.schema_changes WHERE field_id = ? AND change = 'field_renamed' AND current = 'Frozen Out'`, id); n != 1 {
					t.Errorf("sync %d: the rename is recorded %d times, want once", i, n)
				}
				status := h.query(`SELECT status, coalesce(error, '') FROM sync.runs WHERE report = 'custom_fields' ORDER BY run_id DESC LIMIT 1`)[0]
				if want := map[string]string{"freeze": "success", "fail": "failed"}[mode]; status[0] != want ||
					(mode == "fail" && !strings.Contains(status[1].(string), "sync.schema_changes")) {
					t.Errorf("sync %d: the custom_fields run is %v, want %s", i, status, want)
				}
			}
			if n := schemaMessages.Load(); n != 1 {
				t.Errorf("%d schema.changed messages after two syncs that saw the rename, want 1", n)
			}
			// The rows are loaded whatever the views do.
			if n := h.count(`SELECT count(*) FROM close.custom_fields WHERE id = ? AND name = 'Frozen Out'`, id); n != 1 {
				t.Errorf("close.custom_fields does not have the new name")
			}
			setMode("evolve")
			h.sync()
			if got := columns(); got != "0 1" {
				t.Errorf("back on evolve: leads_custom has the old and the new name's columns %s times, want 0 1", got)
			}
			if n := h.count(`SELECT count(*) FROM sync.schema_changes`); n != 1 {
				t.Errorf("back on evolve: %d schema changes recorded, want still the one", n)
			}
		})
	}
}

// TestNewRawKeysAreRecorded: a table's first run records the keys of its
// records' _raw as its baseline, no change; a key Close starts sending
// later is recorded once, as a raw_key_added change of the run that saw
// it, and sent as schema.changed; custom field keys are left to
// custom_fields.
func TestNewRawKeysAreRecorded(t *testing.T) {
	t.Parallel()
	hook, messages := schemaHook(t)
	h := newHarness(t, closefake.Options{Seed: 89, Scale: 20}, "leads", "tasks")
	h.keepReadsOpen()
	if err := os.WriteFile(h.config, []byte(mustRead(t, h.config)+"notify: {url: "+hook.URL+", on: [failure]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.sync()
	if n := h.count(`SELECT count(*) FROM sync.schema_changes`); n != 0 {
		t.Fatalf("the first sync recorded %d changes: it is the baseline", n)
	}
	if n := h.count(`SELECT count(*) FROM sync.raw_keys WHERE table_name = 'leads' AND key IN ('id', 'status_id', 'contacts', 'date_updated')`); n != 4 {
		t.Errorf("sync.raw_keys holds %d of the leads' keys id, status_id, contacts, date_updated", n)
	}
	if n := h.count(`SELECT count(*) FROM sync.raw_keys WHERE starts_with(key, 'custom.')`); n != 0 {
		t.Errorf("sync.raw_keys holds %d custom field keys", n)
	}
	id := h.query(`SELECT id FROM close.leads ORDER BY id LIMIT 1`)[0][0].(string)
	if err := h.fake.Update("lead", id, map[string]any{"lifecycle_stage": "customer"}); err != nil {
		t.Fatal(err)
	}
	h.sync()
	run := h.count(`SELECT max(run_id) FROM sync.runs WHERE report = 'leads'`)
	got := h.query(`SELECT change, object_type, field_id, run_id FROM sync.schema_changes`)
	if len(got) != 1 || got[0][0] != "raw_key_added" || got[0][1] != "leads" || got[0][2] != "lifecycle_stage" || got[0][3] != run {
		t.Errorf("sync.schema_changes: %v, want one raw_key_added of leads' lifecycle_stage in run %d", got, run)
	}
	h.sync()
	if n := h.count(`SELECT count(*) FROM sync.schema_changes`); n != 1 {
		t.Errorf("a sync with nothing new: %d changes, want still 1", n)
	}
	if ms := messages(); len(ms) != 1 || len(ms[0].SchemaChanges) != 1 || ms[0].Run.Report != "leads" ||
		ms[0].SchemaChanges[0].Change != "raw_key_added" || ms[0].SchemaChanges[0].Name != "lifecycle_stage" {
		t.Errorf("schema.changed messages: %+v, want one of leads' new key lifecycle_stage", ms)
	}
}

// schemaHook is a notify webhook on loopback that keeps the schema.changed
// messages it receives (closed with the test); messages returns them.
func schemaHook(t *testing.T) (hook *httptest.Server, messages func() []notify.Message) {
	t.Helper()
	var mu sync.Mutex
	var notified []notify.Message
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m notify.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		if m.Event == notify.EventSchemaChanged {
			mu.Lock()
			notified = append(notified, m)
			mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)
	return hook, func() []notify.Message {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(notified)
	}
}
