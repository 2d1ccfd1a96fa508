package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/closesync/closesync/pkg/closeapi"
)

// refetchBatch is how many refetched records one batch carries.
const refetchBatch = 100

// refetch reads the objects req.Refetch names one by one at <source
// path><id>/ and emits them without a bookmark: activities the event log
// reports edited after they left the attribution window. One that is gone
// (404) is skipped; its deletion comes from the event log.
func (x *run) refetch(ctx context.Context, c Client) error {
	r := x.req.Report
	if len(r.Sources) != 1 {
		return fmt.Errorf("%s: refetch needs exactly one source", r.Name)
	}
	s, err := x.resolve(ctx, c, r.Sources[0])
	if err != nil {
		return err
	}
	b := Batch{}
	flush := func() error {
		if len(b.Records) == 0 {
			return nil
		}
		x.page++
		b.Page = x.page
		if err := x.emit(b); err != nil {
			return fmt.Errorf("refetched page %d: %w", x.page, err)
		}
		b = Batch{}
		return nil
	}
	for _, id := range x.req.Refetch {
		var raw json.RawMessage
		err := c.Get(ctx, s.Path+url.PathEscape(id)+"/", nil, &raw)
		if errors.Is(err, closeapi.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("refetch %s: %w", id, err)
		}
		rec, seen, err := x.record(raw, s.Tag)
		if err != nil {
			return fmt.Errorf("refetch %s: %w", id, err)
		}
		b.Records = append(b.Records, rec)
		if x.wantIDs() {
			b.IDs = append(b.IDs, seen.id)
		}
		if len(b.Records) == refetchBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
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
