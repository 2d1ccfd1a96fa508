package closefake

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The Export API (close-api.md §9): POST /export/lead/ or
// /export/opportunity/ starts an export of the organisation as it is at
// that instant, GET /export/{id}/ reports its progress (created, started,
// in_progress, then done with a download_url, or error), and the
// download_url serves the file gzip-compressed.
//
// Where Close's documentation leaves the JSON file's shape open, the fake
// takes the more awkward reading, so a client that maps it back to the list
// API's shape is tested against the harder case:
//   - the file is one JSON array of records (a lead with its contacts,
//     opportunities and tasks embedded; an opportunity);
//   - custom fields are not flat "custom.cf_<id>" keys but one "custom"
//     object keyed by each field's name (as Close's UI export and its own
//     import script, close-api-scripts import_leads_from_close_json.py,
//     read it), present (maybe empty) on every lead, contact and
//     opportunity;
//   - timestamps are in the "original" date format, "YYYY-MM-DD
//     hh:mm:ss.ssssss+00:00" (a space, always six fraction digits):
//     date_format only applies to CSV, and a JSON export that sends it is
//     refused.
//
// The download_url is a signed link outside /api/v1 (Close hands out a
// storage link): it takes no API key, and a request that sends an
// Authorization header anyway is refused, as a signed storage URL refuses a
// second authentication mechanism.

// ExportFault makes the fake's exports fail in one way.
type ExportFault string

// Export faults.
const (
	// ExportFails ends every export in status "error".
	ExportFails ExportFault = "error"
	// ExportTruncated cuts the download off halfway (the gzip stream ends
	// without its trailer).
	ExportTruncated ExportFault = "truncated"
	// ExportNotGzip serves the JSON uncompressed, though the headers say gzip.
	ExportNotGzip ExportFault = "not_gzip"
	// ExportNotJSON serves a gzip-compressed HTML page.
	ExportNotJSON ExportFault = "not_json"
)

const (
	exportFilesPrefix  = "/export-files/"
	defaultExportPolls = 3
)

// export is one export job: its records as the API rendered them at the
// instant it was started (stored objects are immutable, so the snapshot
// shares them), and the custom field names of that instant.
type export struct {
	id, typ   string // typ: leads or opportunities
	created   time.Time
	polls     int
	records   []object
	names     map[string]string // custom field id -> name
	signature string
}

var (
	apiTimeRE      = regexp.MustCompile(`^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d{6})?(\+00:00)$`)
	leadExportKeys = []string{"format", "type", "s_query", "results_limit", "sort", "date_format", "fields",
		"include_activities", "include_smart_fields", "send_done_email", "include_addresses", "include_custom_objects"}
	oppExportKeys = []string{"params", "format", "date_format", "fields", "send_done_email"}
)

// serveLeadExport serves POST /export/lead/ for format json, type leads.
func (s *Server) serveLeadExport(w http.ResponseWriter, r *request) {
	body, e := exportBody(r.body, leadExportKeys)
	if e == nil {
		e = checkExportFormat(body)
	}
	if e == nil {
		switch typ := body["type"]; typ {
		case "leads":
		case "contacts", "lead_opps":
			e = errorf(http.StatusBadRequest, "type %q is not supported by this fake (leads only)", typ)
		case nil:
			e = fieldError("type", "This field is required.")
		default:
			e = fieldError("type", fmt.Sprintf("Value must be one of: leads, contacts, lead_opps (got %v).", typ))
		}
	}
	if e == nil {
		e = unsupportedExportKeys(body, "s_query", "results_limit", "sort", "fields", "include_activities", "include_smart_fields",
			"include_addresses", "include_custom_objects")
	}
	if e != nil {
		writeErr(w, e)
		return
	}
	s.startExport(w, "leads", KindLead)
}

// serveOpportunityExport serves POST /export/opportunity/ for format json.
func (s *Server) serveOpportunityExport(w http.ResponseWriter, r *request) {
	body, e := exportBody(r.body, oppExportKeys)
	if e == nil {
		e = checkExportFormat(body)
	}
	if e == nil {
		if p, ok := body["params"]; ok {
			m, isMap := p.(map[string]any)
			switch {
			case !isMap:
				e = fieldError("params", "Must be an object of opportunity filters.")
			case len(m) > 0:
				e = errorf(http.StatusBadRequest, "params filters are not supported by this fake (export every opportunity)")
			}
		}
	}
	if e == nil {
		e = unsupportedExportKeys(body, "fields")
	}
	if e != nil {
		writeErr(w, e)
		return
	}
	s.startExport(w, "opportunities", KindOpportunity)
}

// exportBody decodes a POST body that may hold only the keys allowed.
func exportBody(raw []byte, allowed []string) (map[string]any, *apiError) {
	var body map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body == nil {
		return nil, errorf(http.StatusBadRequest, msgBadJSON)
	}
	for k := range body {
		if !slices.Contains(allowed, k) {
			return nil, fieldError(k, "Unknown field.")
		}
	}
	if v, ok := body["send_done_email"]; ok {
		if _, isBool := v.(bool); !isBool {
			return nil, fieldError("send_done_email", "Not a valid boolean.")
		}
	}
	return body, nil
}

func checkExportFormat(body map[string]any) *apiError {
	switch f := body["format"]; f {
	case "json":
	case "csv":
		return errorf(http.StatusBadRequest, "format csv is not supported by this fake (json only)")
	case nil:
		return fieldError("format", "This field is required.")
	default:
		return fieldError("format", fmt.Sprintf("Value must be one of: csv, json (got %v).", f))
	}
	if _, ok := body["date_format"]; ok {
		return fieldError("date_format", "date_format only works with the csv format.")
	}
	return nil
}

// unsupportedExportKeys refuses options the fake does not implement rather
// than ignoring them (an empty value is no option).
func unsupportedExportKeys(body map[string]any, keys ...string) *apiError {
	for _, k := range keys {
		switch v := body[k]; v {
		case nil, false:
		default:
			if m, ok := v.(map[string]any); ok && len(m) == 0 {
				continue
			}
			return errorf(http.StatusBadRequest, "%s is not supported by this fake", k)
		}
	}
	return nil
}

// startExport snapshots the records of kind and answers the new export.
func (s *Server) startExport(w http.ResponseWriter, typ, kind string) {
	s.mu.Lock()
	now := s.now()
	x := &export{id: s.newID("expo"), typ: typ, created: now, names: map[string]string{}}
	sum := sha256.Sum256([]byte(x.id + s.opts.APIKey))
	x.signature = hex.EncodeToString(sum[:12])
	for _, id := range s.col(kind).ids() {
		x.records = append(x.records, s.render(kind, s.cols[kind].objs[id], true))
	}
	for _, f := range s.col(KindCustomField).objs {
		x.names[f["id"].(string)] = fmt.Sprint(f["name"])
	}
	if s.exports == nil {
		s.exports = map[string]*export{}
	}
	s.exports[x.id] = x
	body := s.exportStatus(x, "created", "")
	s.put("export", body) // GET /export/ lists it
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) exportStatus(x *export, status, downloadURL string) object {
	o := object{"id": x.id, "organization_id": s.orgID, "created_by": s.me, "status": status, "format": "json", "type": x.typ,
		"date_created": fmtTime(x.created), "date_updated": fmtTime(x.created)}
	if downloadURL != "" {
		o["download_url"] = downloadURL
	}
	return o
}

// SetExportFault changes Options.ExportFault for the exports polled or
// downloaded from now on ("" for none).
func (s *Server) SetExportFault(f ExportFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.ExportFault = f
}

// exportState is where an export stands after its polls so far. The
// caller holds s.mu.
func (s *Server) exportState(x *export) string {
	need := s.opts.ExportPolls
	if need <= 0 {
		need = defaultExportPolls
	}
	switch {
	case x.polls == 0:
		return "created"
	case x.polls == 1:
		return "started"
	case x.polls < need:
		return "in_progress"
	case s.opts.ExportFault == ExportFails:
		return "error"
	}
	return "done"
}

// exportSpec is the /export/ listing's spec (a dimensions row).
var exportSpec = &listSpec{kind: "export", maxLimit: 100}

// serveExport serves GET /export/{id}/: each poll moves the export on,
// through started and in_progress to done after Options.ExportPolls polls.
func (s *Server) serveExport(w http.ResponseWriter, r *request, id string) {
	s.mu.Lock()
	x := s.exports[id]
	if x == nil {
		s.mu.Unlock()
		s.one(w, r, exportSpec, id) // a generated one, or Close's 404
		return
	}
	x.polls++
	status := s.exportState(x)
	var link string
	if status == "done" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		link = fmt.Sprintf("%s://%s%s%s.json.gz?signature=%s", scheme, r.Host, exportFilesPrefix, x.id, x.signature)
	}
	full := s.exportStatus(x, status, link)
	if status == "done" || status == "error" {
		full["date_updated"] = fmtTime(s.now())
	}
	s.put("export", full)
	body := selectFields(full, splitFields(r.q.Get("_fields")))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// serveExportFile serves a download_url: the export's records, gzip
// compressed, encoded one at a time as they are written.
func (s *Server) serveExportFile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "" {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code>`+
			`<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message></Error>`)
		return
	}
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, exportFilesPrefix), ".json.gz")
	s.mu.Lock()
	x := s.exports[id]
	ok := x != nil && s.exportState(x) == "done" && r.URL.Query().Get("signature") == x.signature
	fault := s.opts.ExportFault
	s.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Encoding", "gzip")
	if fault == ExportNotGzip {
		bw := bufio.NewWriter(w)
		_ = s.writeExportJSON(bw, x, len(x.records))
		_ = bw.Flush()
		return
	}
	gz := gzip.NewWriter(w)
	switch fault {
	case ExportNotJSON:
		_, _ = fmt.Fprint(gz, "<html><body><h1>Export unavailable</h1></body></html>")
	case ExportTruncated:
		_ = s.writeExportJSON(gz, x, len(x.records)/2)
		_ = gz.Flush() // no Close: the stream ends without its trailer
		return
	default:
		_ = s.writeExportJSON(gz, x, len(x.records))
	}
	_ = gz.Close()
}

// writeExportJSON writes the first n records as a JSON array (all of them
// closes the array), each in the export's shape.
func (s *Server) writeExportJSON(w interface{ Write([]byte) (int, error) }, x *export, n int) error {
	if _, err := w.Write([]byte("[")); err != nil {
		return err
	}
	for i, o := range x.records[:n] {
		b, err := marshal(exportShape(o, x.names, true))
		if err != nil {
			return err
		}
		if i > 0 {
			b = append([]byte(","), b...)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if n < len(x.records) {
		return nil
	}
	_, err := w.Write([]byte("]"))
	return err
}

// customHolders are the embedded arrays whose items carry custom fields.
var customHolders = []string{"contacts", "opportunities"}

// exportShape renders an API object as the export file holds it: custom
// fields gathered into "custom" by name (holder: the object carries custom
// fields, so it gets the key even when empty), timestamps in the original
// date format.
func exportShape(v any, names map[string]string, holder bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		var custom map[string]any
		if holder {
			custom = map[string]any{}
		}
		for k, val := range x {
			if id, ok := strings.CutPrefix(k, "custom."); ok {
				if custom == nil {
					custom = map[string]any{}
				}
				name := names[id]
				if name == "" {
					name = id
				}
				custom[name] = exportShape(val, names, false)
				continue
			}
			out[k] = exportShape(val, names, slices.Contains(customHolders, k))
		}
		if custom != nil {
			out["custom"] = custom
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = exportShape(item, names, holder)
		}
		return out
	case string:
		if m := apiTimeRE.FindStringSubmatch(x); m != nil {
			frac := m[3]
			if frac == "" {
				frac = ".000000"
			}
			return m[1] + " " + m[2] + frac + m[4]
		}
	}
	return v
}
