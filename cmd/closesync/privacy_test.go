package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// privacySalt is the test's hash salt (hash_salt_file).
const privacySalt = "test-salt-0123456789abcdef"

// TestPrivacyLeavesNoClearValueInTheFile syncs one fake twice: as Close
// sent it, and with the contacts' emails and a lead custom field hashed and
// their phones excluded, on every report that carries them (contacts, the
// leads' embedded contacts, the event log's data and previous_data). No
// clear email, phone or custom value of the first file is anywhere in the
// second, neither in any column of any table or view nor in the bytes of
// the file and its write-ahead log; each hashed email is DuckDB's
// sha256(salt || email) of the clear one, in the typed child view as in
// _raw; the custom column and the _custom view hold the hash; every other
// row and column is the same. A custom field named by a name Close does
// not know fails the run before anything is stored.
func TestPrivacyLeavesNoClearValueInTheFile(t *testing.T) {
	t.Parallel()
	reports := []string{"custom_fields", "leads", "contacts", "event_log"}
	h := newHarness(t, closefake.Options{Seed: 91, Scale: 30}, reports...)
	h.sync()
	plain := h.db

	// The canaries: every contact email and phone, and the values of one
	// text custom field of contacts, as the plain file holds them.
	var field, fieldID string
	var emails, phones, customs []string
	h.reading(func(db *sql.DB) {
		for _, row := range h.queryOn(db, `SELECT DISTINCT email FROM close.contacts_emails WHERE email IS NOT NULL
			UNION SELECT DISTINCT email FROM close.leads_contacts, unnest(CAST(emails AS JSON[])) e(x), LATERAL (SELECT x->>'email' AS email) WHERE email IS NOT NULL`) {
			emails = append(emails, row[0].(string))
		}
		for _, row := range h.queryOn(db, `SELECT DISTINCT phone FROM close.contacts_phones WHERE phone IS NOT NULL`) {
			phones = append(phones, row[0].(string))
		}
		rows := h.queryOn(db, `SELECT f.name, f.id, list(DISTINCT c.custom->>f.id) FROM close.custom_fields f JOIN close.contacts c ON c.custom->>f.id IS NOT NULL
			WHERE f.object_type = 'contact' AND f.type = 'text' GROUP BY ALL ORDER BY count(*) DESC, f.name LIMIT 1`)
		if len(rows) == 0 {
			t.Fatal("no text custom field of contacts has values: the test proves nothing")
		}
		field, fieldID = rows[0][0].(string), rows[0][1].(string)
		for _, v := range rows[0][2].([]any) {
			if s := v.(string); len(s) >= 6 {
				customs = append(customs, s)
			}
		}
	})
	if len(emails) < 10 || len(phones) < 10 || len(customs) < 3 {
		t.Fatalf("%d emails, %d phones and %d values of %s: too few to prove anything", len(emails), len(phones), len(customs), field)
	}

	// The same fake into a second file, protected.
	salt := filepath.Join(h.dir, "hash_salt")
	if err := os.WriteFile(salt, []byte(privacySalt+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.db = filepath.Join(h.dir, "protected.duckdb")
	cfg := strings.Replace(mustRead(t, h.config), "database: "+plain, "database: "+h.db, 1)
	cfg = strings.Replace(cfg, "    base_url:", "    hash_salt_file: "+salt+"\n    base_url:", 1)
	cfg = strings.Replace(cfg, "reports: ["+strings.Join(reports, ", ")+"]", `reports:
      - custom_fields
      - name: leads
        hash: [contacts.emails.email, "contacts.custom.`+field+`"]
        exclude: [contacts.phones]
      - name: contacts
        hash: [emails.email, "custom.`+field+`"]
        exclude: [phones]
      - name: event_log
        hash: [data.emails.email, previous_data.emails.email, data.contacts.emails.email, previous_data.contacts.emails.email,
               "data.custom.`+field+`", "previous_data.custom.`+field+`", "data.contacts.custom.`+field+`", "previous_data.contacts.custom.`+field+`"]
        exclude: [data.phones, previous_data.phones, data.contacts.phones, previous_data.contacts.phones]`, 1)
	h.config = filepath.Join(h.dir, "protected.yaml")
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := h.run("validate", "--config", h.config); code != 0 ||
		!strings.Contains(out, "jobs core: leads hashes contacts.emails.email, contacts.custom."+field+"; excludes contacts.phones (privacy)") {
		t.Errorf("validate: exit %d\n%s%s", code, out, errOut)
	}
	h.sync()

	canaries := append(append(append([]string{}, emails...), phones...), customs...)
	db := attachReadOnly(t, map[string]string{"plain": plain, "protected": h.db})
	// No column of any table or view, system columns included, holds a
	// clear value (each row read as text: _raw, custom and the typed
	// columns at once).
	relations := h.queryOn(db, `SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'protected'
		UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'protected' AND NOT internal ORDER BY ALL`)
	if len(relations) < 10 {
		t.Fatalf("the protected file holds %d tables and views", len(relations))
	}
	list := "['" + strings.Join(canaries, "', '") + "']"
	for _, rel := range relations {
		found := func(file string) int64 {
			return h.queryOn(db, fmt.Sprintf(`SELECT count(*) FROM (SELECT unnest(%s) AS c) WHERE EXISTS (SELECT 1 FROM %s."%s"."%s" t WHERE contains(t::VARCHAR, c))`,
				list, file, rel[0], rel[1]))[0][0].(int64)
		}
		if n := found("protected"); n > 0 {
			t.Errorf("%s.%s holds %d of the clear values", rel[0], rel[1], n)
		}
		if rel[1] == "contacts" || rel[1] == "leads" {
			if found("plain") == 0 {
				t.Errorf("the plain %s.%s holds no clear value: the search proves nothing", rel[0], rel[1])
			}
		}
	}
	// The bytes: the file, and its write-ahead log if one is left.
	if _, err := db.Exec("DETACH protected"); err != nil {
		t.Fatal(err)
	}
	inPlain := 0
	if b, err := os.ReadFile(plain); err == nil {
		for _, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				inPlain++
			}
		}
	}
	if inPlain < len(canaries)/2 {
		// DuckDB's compression could hide a value from a byte search.
		t.Errorf("the plain file's bytes hold %d of the %d clear values: the byte search proves little", inPlain, len(canaries))
	}
	for _, path := range []string{h.db, h.db + ".wal"} {
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s holds the clear value %q", filepath.Base(path), c)
			}
		}
	}
	if _, err := db.Exec(fmt.Sprintf("ATTACH '%s' AS protected (READ_ONLY)", h.db)); err != nil {
		t.Fatal(err)
	}

	// Each hash is sha256(salt || value), in the typed child view; the
	// custom column and the _custom view hold it too.
	for _, q := range []string{
		`SELECT contact_id, sha256('%[1]s' || email) FROM plain.close.contacts_emails EXCEPT ALL SELECT contact_id, email FROM protected.close.contacts_emails`,
		`SELECT contact_id, email FROM protected.close.contacts_emails EXCEPT ALL SELECT contact_id, sha256('%[1]s' || email) FROM plain.close.contacts_emails`,
		`SELECT id, sha256('%[1]s' || (custom->>'%[2]s')) FROM plain.close.contacts EXCEPT ALL SELECT id, custom->>'%[2]s' FROM protected.close.contacts`,
		`SELECT id, custom->>'%[2]s' FROM protected.close.contacts EXCEPT ALL SELECT id, sha256('%[1]s' || (custom->>'%[2]s')) FROM plain.close.contacts`,
		`SELECT id, name FROM plain.close.contacts EXCEPT ALL SELECT id, name FROM protected.close.contacts`,
		`SELECT id, date_updated, status_id FROM plain.close.leads EXCEPT ALL SELECT id, date_updated, status_id FROM protected.close.leads`,
		`SELECT id FROM plain.close.event_log EXCEPT ALL SELECT id FROM protected.close.event_log`,
	} {
		if strings.Contains(q, "%[") {
			q = fmt.Sprintf(q, privacySalt, fieldID)
		}
		if rows := h.queryOn(db, "SELECT count(*) FROM ("+q+")"); rows[0][0].(int64) != 0 {
			t.Errorf("%d rows differ: %s", rows[0][0], q)
		}
	}
	if n := h.queryOn(db, `SELECT count(*) FROM protected.close.contacts_phones`)[0][0].(int64); n != 0 {
		t.Errorf("contacts_phones has %d rows: the phones were excluded", n)
	}

	// A custom field Close does not know by that name: the contacts run fails
	// before anything is stored, and says why.
	h.db = filepath.Join(h.dir, "unknown.duckdb")
	bad := strings.Replace(cfg, "database: "+filepath.Join(h.dir, "protected.duckdb"), "database: "+h.db, 1)
	bad = strings.Replace(bad, `hash: [emails.email, "custom.`+field+`"]`, `hash: [emails.email, "custom.No Such Field"]`, 1)
	h.config = filepath.Join(h.dir, "unknown.yaml")
	if err := os.WriteFile(h.config, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := h.run("sync", "--config", h.config)
	if code != 1 || !strings.Contains(out+errOut, `no custom field is named "No Such Field"`) {
		t.Errorf("sync with an unknown custom field: exit %d\n%s%s", code, out, errOut)
	}
	if status, msg := h.lastRun("contacts"); status != "failed" || !strings.Contains(msg, "No Such Field") {
		t.Errorf("the contacts run is %s (%s), want failed naming the field", status, msg)
	}
	if n := h.count(`SELECT count(*) FROM close.contacts`); n != 0 {
		t.Errorf("the failed contacts run stored %d contacts", n)
	}
}

// TestValidateChecksPrivacyAgainstTheCatalog: closesync validate says, with
// the config's other problems, which exclude and hash entries the report's
// table cannot take (pkg/config/testdata/privacy.bad.yaml; the problems
// without the catalog are in pkg/config's TestBadConfigs).
func TestValidateChecksPrivacyAgainstTheCatalog(t *testing.T) {
	t.Parallel()
	var o, e bytes.Buffer
	code := run(context.Background(), []string{"validate", "--config", "../../pkg/config/testdata/privacy.bad.yaml"},
		&env{stdout: &o, stderr: &e, getenv: os.Getenv})
	if code != 2 {
		t.Errorf("exit %d, want 2 (a usage error)", code)
	}
	for _, want := range []string{
		`jobs[0].reports[1].exclude[0]: id is the key of leads (column id): every row needs it`,
		`jobs[0].reports[1].exclude[1]: date_updated is read by the incremental walk of leads: it must stay`,
		`jobs[0].reports[1].exclude[2]: "contacts..name" has an empty segment`,
		`jobs[0].reports[2].hash[0]: value is the BIGINT column value: a hash is text, so it would be NULL there; exclude it instead`,
		`jobs[0].reports[3].exclude[0]: users has no custom fields`,
		`jobs[0].reports[0].exclude[2]: "phones" is listed already (jobs[0].reports[0].exclude[1])`,
	} {
		if !strings.Contains(e.String(), want) {
			t.Errorf("validate lacks %q:\n%s%s", want, o.String(), e.String())
		}
	}
}
