package extract

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
)

// ExportSource is how a report can be read whole through Close's Export
// API (close-api.md §9) instead of page by page: one POST, a few polls and
// one gzip-compressed download, however large the organisation. A first
// run (or a full refresh) of a report that declares it uses it when the
// organisation holds more records than Request.ExportAbove.
type ExportSource struct {
	// Path is the POST that starts the export (/export/lead/).
	Path string
	// Body is the POST's JSON body.
	Body map[string]any
	// CustomFields are, per place in a record, the /custom_field/<type>/
	// listings whose field names the file's "custom" objects there use:
	// "" for the record itself, an embedded array's field ("contacts") for
	// its items. They map the names back to the ids of the list API's
	// custom.cf_* keys; a "custom" object anywhere else is an error.
	CustomFields map[string][]string
	// EmptyCustom: the list API's record carries the deprecated "custom"
	// object, always empty (leads), where the file has the values by name.
	EmptyCustom bool
}

// Downloader fetches a link Close hands out (*closeapi.Client.Download).
type Downloader interface {
	Download(ctx context.Context, link string) (io.ReadCloser, error)
}

const (
	exportFirstPoll = 250 * time.Millisecond
	exportMaxPoll   = 30 * time.Second
	// exportPolls is the dry-run's guess of the polls an export takes.
	exportPolls = 4
)

// exportWanted reports whether req is read through the report's export:
// a first run or full refresh, not a backfill, an id listing or a refetch,
// of an organisation whose count (the walker's _limit=0 probe) is above
// req.ExportAbove. It returns the walker's plan when it probed.
func exportWanted(ctx context.Context, c Client, req Request) (bool, Plan, error) {
	r := req.Report
	if r.Export == nil || req.ExportAbove <= 0 || req.IDsOnly || !req.Since.IsZero() || len(req.Refetch) > 0 ||
		(!req.Bookmark.IsZero() && !req.FullRefresh) {
		return false, Plan{}, nil
	}
	p, err := r.Walk.Estimate(ctx, c, req)
	if err != nil {
		return false, p, err
	}
	return p.Records > req.ExportAbove, p, nil
}

// exportPlan is a dry run's estimate of an export read: the probe, the
// custom field listings, the POST, the polls and the download.
func exportPlan(r *Report, p Plan) Plan {
	p.Window += " via " + r.Export.Path
	p.Requests = listings(r.Export.CustomFields) + 2 + exportPolls
	return p
}

// exportWalk reads req through the report's export: the custom field
// names, the export started and polled until done, then the file streamed
// (gzip, one JSON array decoded a record at a time) and mapped to the list
// API's shape, in batches of the walker's page size. The bookmark is
// committed only after the last record, at the run's start, which is before
// the export's instant; a run that fails midway leaves no bookmark, and the
// next run starts the export again.
func exportWalk(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	r := req.Report
	dl, ok := c.(Downloader)
	if !ok {
		return fmt.Errorf("%s: the client cannot download exports", r.Name)
	}
	x := newRun(req, emit)
	names, err := exportFieldNames(ctx, c, r.Export.CustomFields)
	if err != nil {
		return fmt.Errorf("%s: export: %w", r.Name, err)
	}
	link, err := runExport(ctx, c, r.Export)
	if err != nil {
		return fmt.Errorf("%s: export: %w", r.Name, err)
	}
	body, err := dl.Download(ctx, link)
	if err != nil {
		return fmt.Errorf("%s: export: %w", r.Name, err)
	}
	defer body.Close()
	if err := x.readExport(body, names); err != nil {
		return fmt.Errorf("%s: export: %w", r.Name, err)
	}
	x.maxSeen = x.req.Now // bookmark() never passes it; the overlap covers clock skew
	return x.finish()
}

// fieldNames maps, per place in a record, each custom field name to its
// id; a name two fields of one place share maps to "" (ambiguous).
type fieldNames map[string]map[string]string

// exportFieldNames reads each listing once and builds the fieldNames of the
// places.
func exportFieldNames(ctx context.Context, c Client, places map[string][]string) (fieldNames, error) {
	type field struct{ ID, Name string }
	listed := map[string][]field{}
	out := fieldNames{}
	for place, paths := range places {
		names := map[string]string{}
		for _, p := range paths {
			if _, done := listed[p]; !done {
				var fields []field
				err := c.ListOffset(ctx, p, nil, 1000, func(pg closeapi.Page) error {
					for _, raw := range pg.Data {
						var f field
						if err := json.Unmarshal(raw, &f); err != nil || f.ID == "" {
							return fmt.Errorf("custom field %.120s: not an object with an id", raw)
						}
						fields = append(fields, f)
					}
					return nil
				})
				if err != nil {
					return nil, fmt.Errorf("list %s: %w", p, err)
				}
				listed[p] = fields
			}
			for _, f := range listed[p] {
				if prev, dup := names[f.Name]; dup && prev != f.ID {
					names[f.Name] = ""
				} else {
					names[f.Name] = f.ID
				}
			}
		}
		out[place] = names
	}
	return out, nil
}

// listings is how many distinct listings the places read.
func listings(places map[string][]string) int {
	seen := map[string]bool{}
	for _, paths := range places {
		for _, p := range paths {
			seen[p] = true
		}
	}
	return len(seen)
}

// runExport starts the export and polls it until it is done, returning
// its download_url.
func runExport(ctx context.Context, c Client, src *ExportSource) (string, error) {
	var st struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		DownloadURL string `json:"download_url"`
	}
	if err := c.Post(ctx, src.Path, src.Body, &st); err != nil {
		return "", fmt.Errorf("start: %w", err)
	}
	if st.ID == "" {
		return "", fmt.Errorf("POST %s answered no export id", src.Path)
	}
	id := st.ID
	wait := exportFirstPoll
	for polls := 1; ; polls++ {
		switch st.Status {
		case "done":
			if st.DownloadURL == "" {
				return "", fmt.Errorf("export %s is done but has no download_url", id)
			}
			return st.DownloadURL, nil
		case "error":
			return "", fmt.Errorf("export %s ended in status error after %d polls", id, polls-1)
		case "created", "started", "in_progress":
		default:
			return "", fmt.Errorf("export %s is in unknown status %q", id, st.Status)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, exportMaxPoll)
		if err := c.Get(ctx, "/export/"+id+"/", nil, &st); err != nil {
			return "", fmt.Errorf("poll export %s: %w", id, err)
		}
	}
}

// readExport streams the file: gzip checked and decompressed, the JSON
// array decoded one record at a time, each record mapped and filtered to
// the run's window, and emitted in batches of the walker's page size.
func (x *run) readExport(body io.Reader, names fieldNames) error {
	br := bufio.NewReaderSize(body, 64<<10)
	if magic, err := br.Peek(2); err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		head, _ := br.Peek(80)
		return fmt.Errorf("the download is not gzip-compressed (it starts %q)", head)
	}
	gz, err := gzip.NewReader(br)
	if err != nil {
		return fmt.Errorf("the download is not gzip-compressed: %w", err)
	}
	gz.Multistream(false)
	dec := json.NewDecoder(gz)
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("the export file is not a JSON array: %w", fileErr(err, tok))
	}
	size := exportBatchSize(x.req.Report)
	keep := x.exportFilter()
	var page []json.RawMessage
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		b, _, err := x.pageBatch(page, "")
		if err != nil {
			return err
		}
		page = nil
		if err := x.emit(b); err != nil {
			return fmt.Errorf("batch %d: %w", x.page, err)
		}
		return nil
	}
	n := 0
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("record %d of the export file: %w", n, fileErr(err, nil))
		}
		rec, at, err := mapExportRecord(raw, names, x.req.Report.Export.EmptyCustom)
		if err != nil {
			return fmt.Errorf("record %d of the export file: %w", n, err)
		}
		n++
		if !keep(at) {
			continue
		}
		if page = append(page, rec); len(page) >= size {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return fmt.Errorf("the export file's array does not end after record %d: %w", n, fileErr(err, tok))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("the export file goes on after its array: %w", fileErr(err, nil))
	}
	return flush()
}

// fileErr names what went wrong reading the file.
func fileErr(err error, tok json.Token) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("the file is truncated: %w", err)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("the gzip stream is corrupt: %w", err)
	case err != nil:
		return err
	}
	return fmt.Errorf("unexpected %v", tok)
}

func exportBatchSize(r *Report) int {
	if o, ok := r.Walk.(Offset); ok && o.PageSize > 0 {
		return o.PageSize
	}
	return 200
}

// exportFilter keeps the records a paged first run would read: the
// export holds the whole organisation, and the run's start date applies at
// its filter's precision (a minute for the legacy lead query).
func (x *run) exportFilter() func(at time.Time) bool {
	from := x.from()
	if from.IsZero() {
		return func(time.Time) bool { return true }
	}
	prec := time.Microsecond
	if x.req.Report.Strategy.Filter == LeadQuery {
		prec = time.Minute
	}
	from = from.UTC().Truncate(prec)
	return func(at time.Time) bool { return at.IsZero() || !at.Truncate(prec).Before(from) }
}

// originalTimeRE is the export's "original" date format.
var originalTimeRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d{6})([+-]\d\d:\d\d)$`)

// mapExportRecord turns one record of the export file into what the list
// API returns for it (see README "First sync through an export"): a
// "custom" object keyed by field name becomes custom.<field id> keys, and
// timestamps in the original date format ("2024-01-02 03:04:05.123000+00:00")
// take the API's ("2024-01-02T03:04:05.123000+00:00", the fraction left out
// when zero), at every depth; with emptyCustom the record keeps the
// deprecated, empty "custom" object the list API still sends. A record already in the API's shape passes
// unchanged. It returns the record re-encoded (keys sorted) and its
// date_updated.
func mapExportRecord(raw json.RawMessage, names fieldNames, emptyCustom bool) (json.RawMessage, time.Time, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, time.Time{}, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, time.Time{}, fmt.Errorf("not a JSON object (%.80s)", raw)
	}
	mapped, err := apiShape(obj, names, "")
	if err != nil {
		return nil, time.Time{}, err
	}
	if emptyCustom {
		mapped.(map[string]any)["custom"] = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(mapped); err != nil {
		return nil, time.Time{}, err
	}
	var at time.Time
	if s, ok := mapped.(map[string]any)["date_updated"].(string); ok {
		at, _ = parseTime(s)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), at, nil
}

// apiShape maps a value found at place (a key of names; "-" where no
// custom fields belong).
func apiShape(v any, names fieldNames, place string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			inner := "-"
			if _, ok := names[k]; ok && k != "" {
				inner = k
			}
			m, err := apiShape(val, names, inner)
			if err != nil {
				return nil, err
			}
			custom, isMap := m.(map[string]any)
			if k != "custom" || !isMap {
				out[k] = m
				continue
			}
			byName, ok := names[place]
			if !ok {
				return nil, fmt.Errorf("a custom object where no custom fields belong")
			}
			for name, cv := range custom {
				id, known := byName[name]
				switch {
				case !known:
					return nil, fmt.Errorf("custom field %q names no custom field of the organisation", name)
				case id == "":
					return nil, fmt.Errorf("custom field %q: two custom fields have that name, so the export's value cannot be told apart", name)
				}
				out["custom."+id] = cv
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			m, err := apiShape(item, names, place)
			if err != nil {
				return nil, err
			}
			out[i] = m
		}
		return out, nil
	case string:
		if m := originalTimeRE.FindStringSubmatch(x); m != nil {
			frac := m[3]
			if frac == ".000000" {
				frac = ""
			}
			return m[1] + "T" + m[2] + frac + m[4], nil
		}
		return x, nil
	}
	return v, nil
}
