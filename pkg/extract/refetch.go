package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/closesync/closesync/pkg/closeapi"
)

// refetchBatch is the most ids one refetch request names, and so the most
// records it returns: the list endpoints' page size.
const refetchBatch = 100

// refetchMaxTarget bounds a refetch request's target (/api/v1, the path
// and the query). Close's docs advise URLs under 2000 characters; the rest
// is left for the scheme and host.
const refetchMaxTarget = 1900

// apiPrefix is the path every Close endpoint is under, part of each
// request's target.
const apiPrefix = "/api/v1"

// refetch reads the objects req.Refetch names again from the source's list
// endpoint, as many at a time as one page and the URL length allow
// (id__in, close-api.md §5.1), and emits them without a bookmark:
// activities the event log reports edited after they left the attribution
// window. One that is gone is not listed, and is skipped; its deletion
// comes from the event log.
func (x *run) refetch(ctx context.Context, c Client) error {
	r := x.req.Report
	if len(r.Sources) != 1 {
		return fmt.Errorf("%s: refetch needs exactly one source", r.Name)
	}
	s, err := x.resolve(ctx, c, r.Sources[0])
	if err != nil {
		return err
	}
	for _, ids := range refetchChunks(s.Path, x.req.Refetch) {
		q := merge(s.Params, url.Values{"id__in": {strings.Join(ids, ",")}})
		asked := make(map[string]bool, len(ids))
		for _, id := range ids {
			asked[id] = true
		}
		var b Batch
		err := c.ListOffset(ctx, s.Path, q, refetchBatch, func(p closeapi.Page) error {
			for _, raw := range p.Data {
				rec, seen, err := x.record(raw, s.Tag)
				if err != nil {
					return err
				}
				// An endpoint that ignored id__in would list everything.
				var obj struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(raw, &obj); err != nil || !asked[obj.ID] {
					return fmt.Errorf("%s answered id__in with %.80s, not an object it was asked for", s.Path, raw)
				}
				delete(asked, obj.ID)
				b.Records = append(b.Records, rec)
				if x.wantIDs() {
					b.IDs = append(b.IDs, seen.id)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("refetch %d ids from %s: %w", len(ids), ids[0], err)
		}
		if len(b.Records) == 0 {
			continue
		}
		x.page++
		b.Page = x.page
		if err := x.emit(b); err != nil {
			return fmt.Errorf("refetched page %d: %w", x.page, err)
		}
	}
	return nil
}

// refetchChunks cuts ids into the id__in lists of refetch requests to
// path: at most refetchBatch ids each, and a target (with _limit, _skip
// and the encoded commas) within refetchMaxTarget.
func refetchChunks(path string, ids []string) [][]string {
	fixed := len(apiPrefix) + len(path) + len("?_limit=") + len(strconv.Itoa(refetchBatch)) + len("&_skip=") + 10 + len("&id__in=")
	var out [][]string
	var cur []string
	size := fixed
	for _, id := range ids {
		n := len(url.QueryEscape(id))
		if len(cur) > 0 {
			n += len(url.QueryEscape(","))
		}
		if len(cur) == refetchBatch || (len(cur) > 0 && size+n > refetchMaxTarget) {
			out = append(out, cur)
			cur, size = nil, fixed
			n = len(url.QueryEscape(id))
		}
		cur = append(cur, id)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// AllActivities is the Activity of the report that holds activities of
// every type.
const AllActivities = "*"

// ActivityType is the _type of the report's activities (Report.Activity):
// "" for every type, and ok false when the report holds no activities.
func (r *Report) ActivityType() (typ string, ok bool) {
	switch r.Activity {
	case "":
		return "", false
	case AllActivities:
		return "", true
	}
	return r.Activity, true
}
